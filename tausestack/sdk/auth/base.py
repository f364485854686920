"""The user model and the interface every auth backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import partial
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from .errors import AuthenticationError, OperationNotSupportedError

__all__ = ["AbstractAuthBackend", "User", "user_from_claims"]


class User(BaseModel):
    """Who a verified token speaks for."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str | None = None
    email_verified: bool = False
    display_name: str | None = None
    disabled: bool = False
    roles: tuple[str, ...] = ()
    #: Every claim of the token (or custom claims of the account), for what the fields miss.
    claims: dict[str, Any] = Field(default_factory=dict)

    def has_roles(self, *roles: str) -> bool:
        """Whether the user has every one of ``roles``."""
        return set(roles) <= set(self.roles)


def user_from_claims(
    claims: dict[str, Any], roles_claim: str = "roles", *, space_separated: bool = False
) -> User:
    """The ``User`` a verified token's claims describe (``sub``, ``email``, ``name``, roles).

    AuthenticationError ``invalid_claim`` when the roles claim is not a list of names (or,
    with ``space_separated``, a string of names), or ``email``, ``name`` or ``email_verified``
    has the wrong type (``email_verified`` may be ``"true"``/``"false"``, as some providers
    send it).
    """
    roles = claims.get(roles_claim, [])
    if space_separated and isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AuthenticationError(
            "invalid_claim", f"The token's {roles_claim!r} claim is not a list of roles."
        )
    for name in ("email", "name"):
        if not isinstance(claims.get(name), str | None):
            raise AuthenticationError("invalid_claim", f"The token's {name!r} claim is not text.")
    verified = claims.get("email_verified", False)
    verified = (
        {"true": True, "false": False}.get(verified, verified)
        if isinstance(verified, str)
        else verified
    )
    if not isinstance(verified, bool):
        raise AuthenticationError(
            "invalid_claim", "The token's 'email_verified' claim is not true or false."
        )
    return User(
        id=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=verified,
        display_name=claims.get("name"),
        roles=tuple(roles),
        claims=claims,
    )


class AbstractAuthBackend(ABC):
    """Verifies tokens and, where the backend owns the accounts, manages users.

    ``verify_token`` is required; the user-management methods raise
    :class:`OperationNotSupportedError` unless a backend implements them. Async twins run the
    sync methods in a worker thread unless a backend overrides them.
    """

    @abstractmethod
    def describe(self) -> str:
        """What verifies tokens, for messages (``OIDC issuer https://…``)."""

    @abstractmethod
    def verify_token(self, token: str) -> User:
        """The user a token speaks for; AuthenticationError (with a reason) when it is not valid."""

    async def averify_token(self, token: str) -> User:
        """Async :meth:`verify_token`."""
        return await anyio.to_thread.run_sync(self.verify_token, token)

    def _unsupported(self, operation: str) -> OperationNotSupportedError:
        return OperationNotSupportedError(
            f"{self.describe()} cannot {operation}: its users are managed elsewhere."
        )

    def get_user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        raise self._unsupported("look users up")

    def get_user_by_email(self, email: str) -> User | None:
        """The user with this email address, or None."""
        raise self._unsupported("look users up")

    def create_user(self, email: str, password: str, **fields: Any) -> User:
        """Create a user."""
        raise self._unsupported("create users")

    def update_user(self, user_id: str, **fields: Any) -> User:
        """Change a user's fields."""
        raise self._unsupported("update users")

    def delete_user(self, user_id: str) -> None:
        """Delete a user."""
        raise self._unsupported("delete users")

    def set_roles(self, user_id: str, roles: list[str]) -> User:
        """Replace a user's roles (only the application's code may: never the user)."""
        raise self._unsupported("set roles")

    def revoke_tokens(self, user_id: str) -> None:
        """Revoke the user's refresh tokens and sessions (each backend says what else)."""
        raise self._unsupported("revoke tokens")

    def issue_ticket(self, user_id: str) -> str:
        """A short-lived ticket that opens one websocket as this user (``?ws_ticket=``), for
        browsers, which cannot send headers with a websocket."""
        raise OperationNotSupportedError(
            f"{self.describe()} cannot issue websocket tickets: send the token in the "
            "Authorization header of the handshake instead."
        )

    def redeem_ticket(self, ticket: str) -> User:
        """The user of a ticket from :meth:`issue_ticket`, which is then used up;
        AuthenticationError ``invalid_ticket`` when it is unknown, used, expired or revoked."""
        raise OperationNotSupportedError(
            f"{self.describe()} issues no websocket tickets: send the token in the "
            "Authorization header of the handshake instead."
        )

    # Async twins: the sync methods in a worker thread, unless a backend overrides them.

    async def aget_user(self, user_id: str) -> User | None:
        """Async :meth:`get_user`."""
        return await anyio.to_thread.run_sync(self.get_user, user_id)

    async def aget_user_by_email(self, email: str) -> User | None:
        """Async :meth:`get_user_by_email`."""
        return await anyio.to_thread.run_sync(self.get_user_by_email, email)

    async def acreate_user(self, email: str, password: str, **fields: Any) -> User:
        """Async :meth:`create_user`."""
        return await anyio.to_thread.run_sync(partial(self.create_user, email, password, **fields))

    async def aupdate_user(self, user_id: str, **fields: Any) -> User:
        """Async :meth:`update_user`."""
        return await anyio.to_thread.run_sync(partial(self.update_user, user_id, **fields))

    async def adelete_user(self, user_id: str) -> None:
        """Async :meth:`delete_user`."""
        await anyio.to_thread.run_sync(self.delete_user, user_id)

    async def aset_roles(self, user_id: str, roles: list[str]) -> User:
        """Async :meth:`set_roles`."""
        return await anyio.to_thread.run_sync(self.set_roles, user_id, roles)

    async def arevoke_tokens(self, user_id: str) -> None:
        """Async :meth:`revoke_tokens`."""
        await anyio.to_thread.run_sync(self.revoke_tokens, user_id)

    async def aissue_ticket(self, user_id: str) -> str:
        """Async :meth:`issue_ticket`."""
        return await anyio.to_thread.run_sync(self.issue_ticket, user_id)

    async def aredeem_ticket(self, ticket: str) -> User:
        """Async :meth:`redeem_ticket`."""
        return await anyio.to_thread.run_sync(self.redeem_ticket, ticket)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Called at application startup."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Called at application shutdown."""

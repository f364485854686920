"""The built-in ``jwt`` backend: accounts in the app's database, tokens this app signs.

- Passwords are hashed with argon2 (pwdlib) and re-hashed on login when the parameters change.
- An access token is a JWT (``auth.jwt.algorithm``: HS256 with a shared secret, or RS256,
  ES256 and EdDSA with a private key) checked without the database: short-lived by design.
  With ``check_account`` the account is read on every request, so a disabled account, new roles
  and revoked tokens count at once.
- A refresh token is opaque (``<id>.<secret>``; the database keeps a SHA-256 digest). Each one
  is exchanged once for a new pair; presenting a used one again is taken as theft and revokes
  every token of that login (its family).
- Cookie sessions for server-rendered pages are tokens of the same table (kind ``session``),
  with a CSRF token derived from the session token.

Every write is a unit of work of its own, committed at once (``logout`` holds even when the
request that asked for it fails afterwards). The keys are in ``_jwt_keys``, the accounts' fields
and rows in ``_jwt_accounts``, the opaque tokens (refresh families, sessions, tickets) in
``_jwt_tokens``, the bounded password hashing in ``_passwords`` (async callers run password
work on its threads: ``await backend.hasher.run(backend.login, email, password)``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ...contrib.auth.models import AuthAccount
from . import _jwt_accounts as accounts
from ._jwt_accounts import RESERVED_CLAIMS
from ._jwt_keys import AccessTokens
from ._jwt_tokens import TICKET_TTL, StoredTokens
from ._passwords import PasswordHashing
from .audit import audit
from .base import AbstractAuthBackend, User
from .errors import (
    AuthConfigurationError,
    AuthenticationError,
    InvalidUserDataError,
    PermissionDeniedError,
    UserExistsError,
    UserNotFoundError,
)

if TYPE_CHECKING:
    from ...di._container import Container
    from ...settings import Settings
    from ..database import Database
    from ..settings import JwtSettings

__all__ = [
    "EDITABLE_FIELDS",
    "RESERVED_CLAIMS",
    "TICKET_TTL",
    "JwtBackend",
    "SessionToken",
    "TokenPair",
    "database_of",
]

EDITABLE_FIELDS = ("email", "password", "display_name", "email_verified", "disabled", "claims")


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh returns (the OAuth2 token response's fields)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    refresh_expires_in: int
    user_id: str
    token_type: str = "bearer"


@dataclass(frozen=True)
class SessionToken:
    """A cookie session: the token for the cookie, and whose it is."""

    token: str = field(repr=False)
    user_id: str


def database_of(settings: Settings, container: Container | None) -> tuple[Database, bool]:
    """The application's ``Database`` (its provider's when it has one), and whether the
    backend made it (and so disposes of its engines at shutdown)."""
    from ...di._container import Container
    from ...di._keys import DependencyKey
    from ..database import Database

    if container is not None and container.graph.lookup(DependencyKey(Database)) is not None:
        return container.get(Database), False
    return Database(settings, container or Container([])), True


class JwtBackend(AbstractAuthBackend):
    """Accounts in the app's database and JWTs this app signs (see the module docstring)."""

    def __init__(
        self, settings: JwtSettings, database: Database, *, owns_database: bool = False
    ) -> None:
        try:
            from pwdlib import PasswordHash
        except ImportError:  # pragma: no cover - the extra is part of the dev install
            raise AuthConfigurationError(
                "auth.backend 'jwt' hashes passwords with pwdlib's argon2: "
                "pip install 'tausestack[auth]'."
            ) from None
        self.settings = settings
        self.database = database
        self._owns_database = owns_database
        self.algorithm = settings.algorithm
        self.issuer = settings.issuer
        self.audience = settings.audience
        #: Every hash and check of a password, at most ``max_concurrent_hashes`` at once.
        self.hasher = PasswordHashing(PasswordHash.recommended(), settings.max_concurrent_hashes)
        self.access = AccessTokens(settings)
        self.tokens = StoredTokens(database)
        # A hash to compare against when the email is unknown, so both cases take as long.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def describe(self) -> str:
        return f"the jwt backend ({self.algorithm}, issuer {self.issuer!r})"

    async def stop(self) -> None:
        self.hasher.close()
        if self._owns_database:
            await self.database.stop()

    # -- tokens ---------------------------------------------------------------------------------

    def verify_token(self, token: str) -> User:
        if not self.settings.check_account:
            return self.access.user(token)
        claims = self.access.claims(token)
        with self._session() as session:
            row = session.get(AuthAccount, claims["sub"])
            if row is None:
                raise AuthenticationError("unknown_user", "The token's account no longer exists.")
            if claims["iat"] < row.tokens_valid_after:
                raise AuthenticationError("token_revoked", "The token has been revoked.")
            return accounts.user_of(row)

    async def averify_token(self, token: str) -> User:
        if not self.settings.check_account:  # CPU only: no worker thread
            return self.access.user(token)
        return await super().averify_token(token)

    def access_token(self, account: AuthAccount, now: float | None = None) -> str:
        """A signed access token for ``account``."""
        return self.access.sign(account, now)

    def login(self, email: str, password: str) -> TokenPair:
        """Tokens for the account with these credentials.

        AuthenticationError ``invalid_credentials`` for an unknown email or a wrong password
        (the same answer, in the same time); PermissionDeniedError for a disabled account.
        """
        with self._session() as session:
            account = self._check_password(session, email, password)
            pair = self._issue(session, account, kind="refresh")
            session.commit()
        return pair

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; the old one is used up.

        A used refresh token presented again revokes its whole family (token theft).

        Every write locks the account first (revocations too), so a refresh and a revocation
        of the same account never interleave: on PostgreSQL a revocation that waited would
        otherwise miss the token a concurrent refresh had just made.
        """
        now = time.time()
        with self._session() as session:
            family, account_id = self.tokens.use_refresh(session, refresh_token, now)
            account = accounts.active_account(session, account_id)
            pair = self._issue(session, account, kind="refresh", family=family, now=now)
            session.commit()
            return pair

    def logout(self, token: str) -> None:
        """Revoke the login a refresh token or session token belongs to (silently does nothing
        for a token that is not valid, so logging out twice is fine)."""
        self.tokens.end_login(token)

    def revoke_tokens(self, user_id: str) -> None:
        """Revoke every refresh token and session of an account; with ``check_account`` its
        access tokens too."""
        self._change(user_id, {}, revoke=True)
        audit("token_revoked", reason="all_tokens", user_id=user_id)

    # -- cookie sessions ------------------------------------------------------------------------

    def open_session(self, email: str, password: str, ttl: int) -> SessionToken:
        """A session token for a cookie, valid ``ttl`` seconds; errors as :meth:`login`."""
        with self._session() as session:
            account = self._check_password(session, email, password)
            token = self.tokens.new(session, account.id, "session", None, time.time(), ttl)
            session.commit()
            return SessionToken(token, account.id)

    def session_user(self, session_token: str) -> User:
        """The user of a valid session token (AuthenticationError otherwise)."""
        return self.tokens.session_user(session_token)

    @staticmethod
    def csrf_token(session_token: str) -> str:
        """The CSRF token that goes with a session token (derived: nothing to store)."""
        digest = hmac.new(session_token.encode(), b"tausestack-csrf", hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # -- websocket tickets ----------------------------------------------------------------------

    def issue_ticket(self, user_id: str) -> str:
        """A ticket that opens one websocket as this account within ``TICKET_TTL`` seconds."""
        return self.tokens.issue_ticket(user_id)

    def redeem_ticket(self, ticket: str) -> User:
        """The account of a valid ticket, used up as it is read (one of two racing wins)."""
        return self.tokens.redeem_ticket(ticket)

    # -- users ----------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> User | None:
        with self._session() as session:
            row = session.get(AuthAccount, user_id) if isinstance(user_id, str) else None
            return accounts.user_of(row) if row is not None else None

    def get_user_by_email(self, email: str) -> User | None:
        with self._session() as session:
            row = accounts.account_by_email(session, email)
            return accounts.user_of(row) if row is not None else None

    def create_user(self, email: str, password: str, **fields: Any) -> User:
        unknown = set(fields) - {"display_name", "email_verified", "disabled", "roles", "claims"}
        if unknown:
            raise InvalidUserDataError(
                f"create_user() got unknown field(s) {', '.join(sorted(unknown))}; accepted: "
                "display_name, email_verified, disabled, roles, claims."
            )
        now = time.time()
        row = AuthAccount(
            id=uuid.uuid4().hex,
            email=accounts.valid_email(email),
            password_hash=self.hasher.hash(self._password(password)),
            display_name=accounts.valid_display_name(fields.get("display_name")),
            email_verified=accounts.valid_flag(
                fields.get("email_verified", False), "email_verified"
            ),
            disabled=accounts.valid_flag(fields.get("disabled", False), "disabled"),
            roles=accounts.valid_roles(fields.get("roles") or []),
            claims=accounts.valid_claims(fields.get("claims") or {}),
            created_at=now,
            updated_at=now,
        )
        with self._session() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UserExistsError(f"An account with the email {row.email} exists.") from None
        return accounts.user_of(row)

    async def acreate_user(self, email: str, password: str, **fields: Any) -> User:
        # On the hashing threads: a flood of registrations waits there, not in the shared pool.
        return await self.hasher.run(self.create_user, email, password, **fields)

    async def aupdate_user(self, user_id: str, **fields: Any) -> User:
        if "password" in fields:
            return await self.hasher.run(self.update_user, user_id, **fields)
        return await super().aupdate_user(user_id, **fields)

    def update_user(self, user_id: str, **fields: Any) -> User:
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidUserDataError(
                f"update_user() got unknown field(s) {', '.join(sorted(unknown))}; accepted: "
                f"{', '.join(EDITABLE_FIELDS)} (roles: use set_roles)."
            )
        changes: dict[str, Any] = {}
        if "email" in fields:
            changes["email"] = accounts.valid_email(fields["email"])
        if "password" in fields:
            changes["password_hash"] = self.hasher.hash(self._password(fields["password"]))
        if "display_name" in fields:
            changes["display_name"] = accounts.valid_display_name(fields["display_name"])
        for flag in ("email_verified", "disabled"):
            if flag in fields:
                changes[flag] = accounts.valid_flag(fields[flag], flag)
        if "claims" in fields:
            changes["claims"] = accounts.valid_claims(fields["claims"])
        revoke = "password_hash" in changes or changes.get("disabled") is True
        changed = self._change(user_id, changes, revoke=revoke)
        if revoke:
            reason = "password_changed" if "password_hash" in changes else "account_disabled"
            audit("token_revoked", reason=reason, user_id=user_id)
        return accounts.user_of(changed)

    def delete_user(self, user_id: str) -> None:
        with self._session() as session:
            self.tokens.delete_account(session, user_id)
            gone = session.exec(delete(AuthAccount).where(AuthAccount.id == user_id))  # type: ignore[arg-type]
            if gone.rowcount != 1:
                session.rollback()
                raise UserNotFoundError(f"No account has the id {user_id!r}.")
            session.commit()

    def set_roles(self, user_id: str, roles: list[str]) -> User:
        return accounts.user_of(self._change(user_id, {"roles": accounts.valid_roles(roles)}))

    def change_password(self, user_id: str, current: str, new: str) -> None:
        """Change a password, given the current one. Every login of the account is revoked,
        the current one included: clients log in again with the new password."""
        with self._session() as session:
            row = accounts.account(session, user_id)
            if not self.hasher.verify(current, row.password_hash):
                raise AuthenticationError("invalid_credentials", "The current password is wrong.")
        self.update_user(user_id, password=new)

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.database.new_session() as session:
            yield session

    def _password(self, password: Any) -> str:
        return accounts.valid_password(password, self.settings.min_password_length)

    def _change(
        self, user_id: str, changes: dict[str, Any], *, revoke: bool = False
    ) -> AuthAccount:
        """Change an account in one transaction; with ``revoke``, its tokens are revoked in
        the same transaction (a new password never coexists with the old logins)."""
        now = time.time()
        if revoke:
            # Rounded up, so a token issued before now (iat is rounded down) is older.
            changes = {**changes, "tokens_valid_after": math.ceil(now * 1000) / 1000}
        with self._session() as session:
            try:
                accounts.update_account(session, user_id, changes)
                if revoke:
                    self.tokens.revoke_account(session, user_id, now)
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UserExistsError(
                    f"An account with the email {changes.get('email')} exists."
                ) from None
            return accounts.account(session, user_id)

    def _check_password(self, session: Session, email: Any, password: Any) -> AuthAccount:
        """The account these credentials open, detached, with the read transaction ended so
        that what follows starts with a write (see :meth:`refresh`)."""
        row = accounts.account_by_email(session, email)
        if not isinstance(password, str):
            password = ""
        if row is None:
            self.hasher.verify(password, self._decoy)
            raise AuthenticationError("invalid_credentials", "Wrong email or password.")
        valid, rehashed = self.hasher.verify_and_update(password, row.password_hash)
        if not valid:
            raise AuthenticationError("invalid_credentials", "Wrong email or password.")
        if row.disabled:
            raise PermissionDeniedError("user_disabled", "This account is disabled.")
        session.expunge(row)
        session.rollback()
        if rehashed is not None:
            accounts.update_account(session, row.id, {"password_hash": rehashed})
        return row

    def _issue(
        self,
        session: Session,
        account: AuthAccount,
        *,
        kind: str,
        family: str | None = None,
        now: float | None = None,
    ) -> TokenPair:
        now = time.time() if now is None else now
        ttl = self.settings.refresh_ttl
        refresh = self.tokens.new(session, account.id, kind, family, now, ttl)
        return TokenPair(
            access_token=self.access_token(account, now),
            refresh_token=refresh,
            expires_in=self.settings.access_ttl,
            refresh_expires_in=ttl,
            user_id=account.id,
        )

"""The opaque tokens of the ``jwt`` backend, rows of ``AuthToken``: refresh tokens in families
(one per login), cookie sessions and websocket tickets.

A token is ``<id>.<secret>``; the row keeps a SHA-256 digest of the secret. Every write that
revokes or rotates locks the account's row first, so a refresh and a revocation of the same
account never interleave (see ``JwtBackend.refresh``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlmodel import Session

from ...contrib.auth.models import AuthAccount, AuthToken
from ._jwt_accounts import active_account, lock_account, user_of
from .audit import audit
from .base import User
from .errors import AuthenticationError

if TYPE_CHECKING:
    from ..database import Database

__all__ = ["TICKET_TTL", "StoredTokens"]

#: Seconds a websocket ticket stays valid: long enough to open the socket right after asking.
TICKET_TTL = 30


class StoredTokens:
    """The ``AuthToken`` rows of one database: made, found, checked, used up and revoked."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session of its own (each write commits on its own)."""
        with self.database.new_session() as session:
            yield session

    def new(
        self,
        session: Session,
        account_id: str,
        kind: str,
        family: str | None,
        now: float,
        ttl: int,
    ) -> str:
        """A new token of ``kind`` valid ``ttl`` seconds, in ``family`` (a new one if None);
        added to ``session``, not committed."""
        secret = secrets.token_urlsafe(32)
        row = AuthToken(
            id=uuid.uuid4().hex,
            account_id=account_id,
            kind=kind,
            family=family or uuid.uuid4().hex,
            digest=_digest(secret),
            expires_at=now + ttl,
            created_at=now,
        )
        session.add(row)
        return f"{row.id}.{secret}"

    def find(self, session: Session, token: Any) -> AuthToken | None:
        """The row of ``token``, None for an unknown or malformed one or a wrong secret."""
        parts = _token_parts(token)
        row = session.get(AuthToken, parts[0]) if parts is not None else None
        if row is None or parts is None or not hmac.compare_digest(row.digest, _digest(parts[1])):
            return None
        return row

    def valid(self, session: Session, token: str, kind: str, now: float) -> AuthToken:
        """The row of a token of ``kind`` that has not expired (AuthenticationError else)."""
        row = self.find(session, token)
        if row is None or row.kind != kind:
            raise AuthenticationError("invalid_token", f"The {kind} token is not valid.")
        if row.revoked_at is not None and kind == "refresh":
            raise AuthenticationError("token_revoked", "The refresh token has been revoked.")
        if row.expires_at <= now:
            raise AuthenticationError("token_expired", f"The {kind} token has expired.")
        return row

    # -- refresh families -----------------------------------------------------------------------

    def use_refresh(self, session: Session, refresh_token: str, now: float) -> tuple[str, str]:
        """Use up a refresh token in ``session`` (its account locked): its family and account.

        A used refresh token presented again revokes its whole family (token theft):
        AuthenticationError ``token_reused``; others as :meth:`valid`.
        """
        found = self.find(session, refresh_token)
        if found is None or found.kind != "refresh":
            raise AuthenticationError("invalid_token", "The refresh token is not valid.")
        ident, family, account_id = found.id, found.family, found.account_id
        session.rollback()  # on SQLite a transaction must start with its write
        lock_account(session, account_id)
        taken = session.exec(
            update(AuthToken)
            .where(
                AuthToken.id == ident,  # type: ignore[arg-type]
                AuthToken.used_at.is_(None),  # type: ignore[union-attr]
                AuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
                AuthToken.expires_at > now,  # type: ignore[arg-type]
            )
            .values(used_at=now)
        )
        if taken.rowcount == 1:
            return family, account_id
        session.rollback()
        self.valid(session, refresh_token, "refresh", now)  # revoked or expired: says so
        session.rollback()
        self.revoke_family(session, family, "refresh_token_reused", account_id)
        raise AuthenticationError(
            "token_reused",
            "This refresh token was used already; every token of this login is revoked.",
        )

    def end_login(self, token: str) -> None:
        """Revoke the family of a refresh or session token (nothing for an invalid one)."""
        with self.session() as session:
            found = self.find(session, token)
            if found is None or found.revoked_at is not None:
                return
            family, account_id = found.family, found.account_id
            session.rollback()
            self.revoke_family(session, family, "logout", account_id)

    def revoke_family(self, session: Session, family: str, reason: str, user_id: str) -> None:
        """Revoke every token of one login, and commit."""
        lock_account(session, user_id)
        session.exec(
            update(AuthToken)
            .where(
                AuthToken.family == family,  # type: ignore[arg-type]
                AuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
            )
            .values(revoked_at=time.time())
        )
        session.commit()
        audit("token_revoked", reason=reason, user_id=user_id)

    def revoke_account(self, session: Session, user_id: str, now: float) -> None:
        """Revoke every token of an account in ``session`` (not committed)."""
        session.exec(
            update(AuthToken)
            .where(
                AuthToken.account_id == user_id,  # type: ignore[arg-type]
                AuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
            )
            .values(revoked_at=now)
        )

    def delete_account(self, session: Session, user_id: str) -> None:
        """Delete every token of an account in ``session`` (not committed)."""
        session.exec(delete(AuthToken).where(AuthToken.account_id == user_id))  # type: ignore[arg-type]

    # -- cookie sessions ------------------------------------------------------------------------

    def session_user(self, session_token: str) -> User:
        """The user of a valid session token (AuthenticationError otherwise)."""
        with self.session() as session:
            token = self.valid(session, session_token, "session", time.time())
            if token.revoked_at is not None:
                raise AuthenticationError("token_revoked", "This session has ended.")
            row = session.get(AuthAccount, token.account_id)
            if row is None:  # pragma: no cover - the token row is deleted with it
                raise AuthenticationError("unknown_user", "The session's account is gone.")
            return user_of(row)

    # -- websocket tickets ----------------------------------------------------------------------

    def issue_ticket(self, user_id: str) -> str:
        """A ticket that opens one websocket as this account within ``TICKET_TTL`` seconds
        (a token of kind ``ws_ticket``; the account's used-up and expired ones are deleted)."""
        now = time.time()
        with self.session() as session:
            lock_account(session, user_id)
            active_account(session, user_id)
            session.exec(
                delete(AuthToken).where(
                    AuthToken.account_id == user_id,  # type: ignore[arg-type]
                    AuthToken.kind == "ws_ticket",  # type: ignore[arg-type]
                    AuthToken.expires_at <= now,  # type: ignore[arg-type]
                )
            )
            ticket = self.new(session, user_id, "ws_ticket", None, now, TICKET_TTL)
            session.commit()
        return ticket

    def redeem_ticket(self, ticket: str) -> User:
        """The account of a valid ticket, deleted as it is read: of two connections racing
        with one ticket, one wins."""
        with self.session() as session:
            found = self.find(session, ticket)
            if found is not None and found.kind == "ws_ticket":
                ident, account_id = found.id, found.account_id
                session.rollback()  # on SQLite a transaction must start with its write
                taken = session.exec(
                    delete(AuthToken).where(
                        AuthToken.id == ident,  # type: ignore[arg-type]
                        AuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
                        AuthToken.expires_at > time.time(),  # type: ignore[arg-type]
                    )
                )
                row = session.get(AuthAccount, account_id)
                session.commit()
                if taken.rowcount == 1 and row is not None:
                    return user_of(row)
        raise AuthenticationError(
            "invalid_ticket", "The websocket ticket is unknown, used, expired or revoked."
        )


def _token_parts(token: Any) -> tuple[str, str] | None:
    """The id and secret of an opaque token (``<32 hex>.<secret>``), None when malformed."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    ident, secret = token.split(".")
    return (ident, secret) if len(ident) == 32 and secret else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

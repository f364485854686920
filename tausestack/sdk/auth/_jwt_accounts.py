"""The accounts of the ``jwt`` backend: what their fields accept, the ``User`` each one is,
and the queries that read, change and lock an account's row."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from ...contrib.auth.models import AuthAccount
from ._emails import checked_email
from .base import User
from .errors import InvalidUserDataError, PermissionDeniedError, UserNotFoundError

__all__ = [
    "CONTROL_CHARACTER",
    "RESERVED_CLAIMS",
    "account",
    "account_by_email",
    "active_account",
    "lock_account",
    "update_account",
    "user_of",
    "valid_claims",
    "valid_display_name",
    "valid_email",
    "valid_flag",
    "valid_password",
    "valid_roles",
]

#: Claims the backend sets itself; an account's custom ``claims`` cannot override them.
RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "email", "email_verified", "name", "roles"}
)

#: Control characters (C0, DEL, C1, the Unicode line and paragraph separators) and lone
#: surrogates: PostgreSQL refuses NUL and a surrogate cannot be encoded, so neither is stored.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


# -- fields -----------------------------------------------------------------------------------


def valid_email(value: Any) -> str:
    """One email address (see ``_emails``), lowercase: an account's email is its login."""
    return checked_email(value).lower()


def valid_password(password: Any, minimum: int) -> str:
    if not isinstance(password, str) or len(password) < minimum:
        raise InvalidUserDataError(
            f"The password must be a string of at least {minimum} characters."
        )
    if len(password) > 1024:
        raise InvalidUserDataError("The password must be at most 1024 characters.")
    return password


def valid_display_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidUserDataError("display_name must be a string of at most 200 characters.")
    if CONTROL_CHARACTER.search(value):
        raise InvalidUserDataError(
            f"display_name {value[:200]!r} holds a control character (a line break, a tab, "
            "NUL…) or a lone surrogate; give it as one line of text."
        )
    return value


def valid_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidUserDataError(f"{name} must be true or false, not {value!r}.")
    return value


def valid_roles(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidUserDataError(f"roles must be a list of role names, not {value!r}.")
    if not all(isinstance(role, str) and role.strip() == role and role for role in value):
        raise InvalidUserDataError("Each role must be a non-empty name without spaces around.")
    if any(CONTROL_CHARACTER.search(role) for role in value):
        raise InvalidUserDataError("A role name cannot hold a control character.")
    return sorted(set(value))


def valid_claims(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidUserDataError("claims must be a mapping of names to JSON values.")
    reserved = sorted(RESERVED_CLAIMS.intersection(value))
    if reserved:
        raise InvalidUserDataError(
            f"claims cannot set {', '.join(reserved)}: the backend sets those itself."
        )
    return dict(value)


def user_of(row: AuthAccount) -> User:
    """The ``User`` an account is."""
    return User(
        id=row.id,
        email=row.email,
        email_verified=row.email_verified,
        display_name=row.display_name,
        disabled=row.disabled,
        roles=tuple(row.roles),
        claims=dict(row.claims),
    )


# -- rows -------------------------------------------------------------------------------------


def account_by_email(session: Session, email: Any) -> AuthAccount | None:
    if not isinstance(email, str) or CONTROL_CHARACTER.search(email):
        return None  # no account has one (and PostgreSQL refuses NUL in a query)
    query = select(AuthAccount).where(AuthAccount.email == email.strip().lower())
    return session.exec(query).first()


def account(session: Session, user_id: str) -> AuthAccount:
    """The account with this id (UserNotFoundError without one)."""
    row = session.get(AuthAccount, user_id) if isinstance(user_id, str) else None
    if row is None:
        raise UserNotFoundError(f"No account has the id {user_id!r}.")
    return row


def active_account(session: Session, user_id: str) -> AuthAccount:
    """The account with this id, unless it is disabled (PermissionDeniedError)."""
    row = account(session, user_id)
    if row.disabled:
        raise PermissionDeniedError("user_disabled", "This account is disabled.")
    return row


def update_account(session: Session, user_id: str, changes: dict[str, Any]) -> None:
    """Change an account with one UPDATE, which also locks it (see ``JwtBackend.refresh``)."""
    changed = session.exec(
        update(AuthAccount)
        .where(AuthAccount.id == user_id)  # type: ignore[arg-type]
        .values(**changes, updated_at=time.time())
    )
    if changed.rowcount != 1:
        session.rollback()
        raise UserNotFoundError(f"No account has the id {user_id!r}.")


def lock_account(session: Session, user_id: str) -> None:
    """Lock an account's row until the transaction ends (a write that changes nothing: it
    also starts SQLite's write transaction)."""
    session.exec(
        update(AuthAccount)
        .where(AuthAccount.id == user_id)  # type: ignore[arg-type]
        .values(updated_at=AuthAccount.updated_at)
    )

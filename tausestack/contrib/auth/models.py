"""The tables of the built-in ``jwt`` auth backend: accounts and refresh/session tokens.

They belong to the ``tausestack.contrib.auth`` app, so ``tausestack db makemigrations``
includes them once the app is in ``installed_apps``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, String
from sqlalchemy.dialects import mysql
from sqlmodel import Field, SQLModel

__all__ = ["AuthAccount", "AuthToken"]

#: The email column: compared byte for byte on MySQL and MariaDB, whose default collations
#: ignore case and accents (``anä@example.com`` would find ``ana@example.com``'s account under
#: another spelling, and another count of failed attempts). Emails are stored lower-cased, so
#: a lookup still ignores case.
EMAIL = String(320).with_variant(
    mysql.VARCHAR(320, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


class AuthAccount(SQLModel, table=True):
    """One user account of the ``jwt`` backend."""

    __tablename__ = "tausestack_auth_account"

    id: str = Field(primary_key=True, max_length=32)
    #: Stored lower-cased, so ``Ana@Example.com`` and ``ana@example.com`` are one account;
    #: compared exactly otherwise (accents too, whatever the database's collation).
    email: str = Field(max_length=320, unique=True, index=True, sa_type=EMAIL)
    #: An argon2 hash (pwdlib); never the password.
    password_hash: str = Field(max_length=512)
    email_verified: bool = False
    display_name: str | None = Field(default=None, max_length=200)
    disabled: bool = False
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claims: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: Access tokens issued before this time (epoch seconds) are revoked (checked with
    #: ``auth.jwt.check_account``).
    tokens_valid_after: float = 0.0
    created_at: float
    updated_at: float


class AuthToken(SQLModel, table=True):
    """A refresh token or a cookie session: opaque to clients, stored as a SHA-256 digest."""

    __tablename__ = "tausestack_auth_token"

    id: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(
        foreign_key="tausestack_auth_account.id", index=True, max_length=32, ondelete="CASCADE"
    )
    #: ``refresh`` or ``session``.
    kind: str = Field(max_length=16)
    #: Every rotation of one login shares a family; reusing a rotated token revokes it all.
    family: str = Field(index=True, max_length=32)
    digest: str = Field(max_length=64)
    expires_at: float
    #: When it was exchanged for the next token of its family (a refresh token is used once).
    used_at: float | None = None
    revoked_at: float | None = None
    created_at: float

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
request that asked for it fails afterwards).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ...contrib.auth.models import AuthAccount, AuthToken
from .audit import audit
from .base import AbstractAuthBackend, User, user_from_claims
from .errors import (
    AuthConfigurationError,
    AuthenticationError,
    InvalidUserDataError,
    PermissionDeniedError,
    UserExistsError,
    UserNotFoundError,
)
from .oidc import decode_verified

if TYPE_CHECKING:
    from pwdlib import PasswordHash

    from ...di._container import Container
    from ...settings import Settings
    from ..database import Database
    from ..settings import JwtSettings

__all__ = ["JwtBackend", "SessionToken", "TokenPair", "database_of"]

#: Claims the backend sets itself; an account's custom ``claims`` cannot override them.
RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "email", "email_verified", "name", "roles"}
)
EDITABLE_FIELDS = ("email", "password", "display_name", "email_verified", "disabled", "claims")
#: Seconds a websocket ticket stays valid: long enough to open the socket right after asking.
TICKET_TTL = 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEY_KINDS: dict[str, Any] = {
    "an RSA": rsa.RSAPublicKey,
    "an EC": ec.EllipticCurvePublicKey,
    "an Ed25519": ed25519.Ed25519PublicKey,
}


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
        self.hasher: PasswordHash = PasswordHash.recommended()
        self._signing_key, self._kid, self._verifying_keys = _keys(settings)
        self._verified: dict[str, tuple[User, float]] = {}
        # A hash to compare against when the email is unknown, so both cases take as long.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def describe(self) -> str:
        return f"the jwt backend ({self.algorithm}, issuer {self.issuer!r})"

    async def stop(self) -> None:
        if self._owns_database:
            await self.database.stop()

    # -- tokens ---------------------------------------------------------------------------------

    def verify_token(self, token: str) -> User:
        if not self.settings.check_account:
            return self._stateless_user(token)
        claims = self._claims(token)
        with self._session() as session:
            account = session.get(AuthAccount, claims["sub"])
            if account is None:
                raise AuthenticationError("unknown_user", "The token's account no longer exists.")
            if claims["iat"] < account.tokens_valid_after:
                raise AuthenticationError("token_revoked", "The token has been revoked.")
            return _user(account)

    async def averify_token(self, token: str) -> User:
        if not self.settings.check_account:  # CPU only: no worker thread
            return self._stateless_user(token)
        return await super().averify_token(token)

    def _stateless_user(self, token: str) -> User:
        """The user of a valid access token, from its claims alone.

        Tokens that verified are remembered (``verified_cache`` of them) until they expire:
        a client sends the same token with every request for its lifetime, and a signature
        check costs more than the rest of a small request.
        """
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                return cached[0]
            self._verified.pop(token, None)
        claims = self._claims(token)
        user = user_from_claims(claims)
        size = self.settings.verified_cache
        if size:
            if len(self._verified) >= size:
                self._verified.clear()
            self._verified[token] = (user, claims["exp"] + self.settings.leeway)
        return user

    def _claims(self, token: str) -> dict[str, Any]:
        header = _header(token)
        if header.get("alg") != self.algorithm:
            raise AuthenticationError(
                "algorithm_not_allowed",
                f"Token algorithm {header.get('alg')!r} is not accepted (auth.jwt.algorithm: "
                f"{self.algorithm}).",
            )
        kid = header.get("kid")
        key = self._verifying_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthenticationError("unknown_key", "The token is signed with an unknown key.")
        claims = decode_verified(
            token,
            key,
            algorithms=[self.algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.settings.leeway,
        )
        if claims.get("typ") != "access":
            raise AuthenticationError("wrong_token_type", "This is not an access token.")
        return claims

    def access_token(self, account: AuthAccount, now: float | None = None) -> str:
        """A signed access token for ``account``."""
        issued = math.floor((time.time() if now is None else now) * 1000) / 1000
        claims: dict[str, Any] = {
            key: value for key, value in account.claims.items() if key not in RESERVED_CLAIMS
        }
        claims.update(
            iss=self.issuer,
            aud=self.audience,
            sub=account.id,
            iat=issued,
            exp=int(issued) + self.settings.access_ttl,
            typ="access",
            email=account.email,
            email_verified=account.email_verified,
            name=account.display_name,
            roles=list(account.roles),
        )
        return jwt.encode(
            claims, self._signing_key, algorithm=self.algorithm, headers={"kid": self._kid}
        )

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
            found = self._find(session, refresh_token)
            if found is None or found.kind != "refresh":
                raise AuthenticationError("invalid_token", "The refresh token is not valid.")
            ident, family, account_id = found.id, found.family, found.account_id
            session.rollback()  # on SQLite a transaction must start with its write
            self._lock_account(session, account_id)
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
                account = self._active_account(session, account_id)
                pair = self._issue(session, account, kind="refresh", family=family, now=now)
                session.commit()
                return pair
            session.rollback()
            self._token(session, refresh_token, "refresh", now)  # revoked or expired: says so
            session.rollback()
            self._revoke_family(session, family, "refresh_token_reused", account_id)
        raise AuthenticationError(
            "token_reused",
            "This refresh token was used already; every token of this login is revoked.",
        )

    def logout(self, token: str) -> None:
        """Revoke the login a refresh token or session token belongs to (silently does nothing
        for a token that is not valid, so logging out twice is fine)."""
        with self._session() as session:
            found = self._find(session, token)
            if found is None or found.revoked_at is not None:
                return
            family, account_id = found.family, found.account_id
            session.rollback()
            self._revoke_family(session, family, "logout", account_id)

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
            token, _ = self._new_token(session, account.id, "session", None, time.time(), ttl)
            session.commit()
            return SessionToken(token, account.id)

    def session_user(self, session_token: str) -> User:
        """The user of a valid session token (AuthenticationError otherwise)."""
        with self._session() as session:
            token = self._token(session, session_token, "session", time.time())
            if token.revoked_at is not None:
                raise AuthenticationError("token_revoked", "This session has ended.")
            account = session.get(AuthAccount, token.account_id)
            if account is None:  # pragma: no cover - the token row is deleted with it
                raise AuthenticationError("unknown_user", "The session's account is gone.")
            return _user(account)

    @staticmethod
    def csrf_token(session_token: str) -> str:
        """The CSRF token that goes with a session token (derived: nothing to store)."""
        digest = hmac.new(session_token.encode(), b"tausestack-csrf", hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # -- websocket tickets ----------------------------------------------------------------------

    def issue_ticket(self, user_id: str) -> str:
        """A ticket that opens one websocket as this account within ``TICKET_TTL`` seconds
        (a token of kind ``ws_ticket``; the account's used-up and expired ones are deleted)."""
        now = time.time()
        with self._session() as session:
            self._lock_account(session, user_id)
            self._active_account(session, user_id)
            session.exec(
                delete(AuthToken).where(
                    AuthToken.account_id == user_id,  # type: ignore[arg-type]
                    AuthToken.kind == "ws_ticket",  # type: ignore[arg-type]
                    AuthToken.expires_at <= now,  # type: ignore[arg-type]
                )
            )
            ticket, _ = self._new_token(session, user_id, "ws_ticket", None, now, TICKET_TTL)
            session.commit()
        return ticket

    def redeem_ticket(self, ticket: str) -> User:
        """The account of a valid ticket, deleted as it is read: of two connections racing
        with one ticket, one wins."""
        with self._session() as session:
            found = self._find(session, ticket)
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
                account = session.get(AuthAccount, account_id)
                session.commit()
                if taken.rowcount == 1 and account is not None:
                    return _user(account)
        raise AuthenticationError(
            "invalid_ticket", "The websocket ticket is unknown, used, expired or revoked."
        )

    # -- users ----------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> User | None:
        with self._session() as session:
            account = session.get(AuthAccount, user_id) if isinstance(user_id, str) else None
            return _user(account) if account is not None else None

    def get_user_by_email(self, email: str) -> User | None:
        with self._session() as session:
            account = self._by_email(session, email)
            return _user(account) if account is not None else None

    def create_user(self, email: str, password: str, **fields: Any) -> User:
        unknown = set(fields) - {"display_name", "email_verified", "disabled", "roles", "claims"}
        if unknown:
            raise InvalidUserDataError(
                f"create_user() got unknown field(s) {', '.join(sorted(unknown))}; accepted: "
                "display_name, email_verified, disabled, roles, claims."
            )
        now = time.time()
        account = AuthAccount(
            id=uuid.uuid4().hex,
            email=_email(email),
            password_hash=self.hasher.hash(self._password(password)),
            display_name=_display_name(fields.get("display_name")),
            email_verified=_flag(fields.get("email_verified", False), "email_verified"),
            disabled=_flag(fields.get("disabled", False), "disabled"),
            roles=_roles(fields.get("roles") or []),
            claims=_claims(fields.get("claims") or {}),
            created_at=now,
            updated_at=now,
        )
        with self._session() as session:
            session.add(account)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UserExistsError(
                    f"An account with the email {account.email} exists."
                ) from None
        return _user(account)

    def update_user(self, user_id: str, **fields: Any) -> User:
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidUserDataError(
                f"update_user() got unknown field(s) {', '.join(sorted(unknown))}; accepted: "
                f"{', '.join(EDITABLE_FIELDS)} (roles: use set_roles)."
            )
        changes: dict[str, Any] = {}
        if "email" in fields:
            changes["email"] = _email(fields["email"])
        if "password" in fields:
            changes["password_hash"] = self.hasher.hash(self._password(fields["password"]))
        if "display_name" in fields:
            changes["display_name"] = _display_name(fields["display_name"])
        for flag in ("email_verified", "disabled"):
            if flag in fields:
                changes[flag] = _flag(fields[flag], flag)
        if "claims" in fields:
            changes["claims"] = _claims(fields["claims"])
        revoke = "password_hash" in changes or changes.get("disabled") is True
        account = self._change(user_id, changes, revoke=revoke)
        if revoke:
            reason = "password_changed" if "password_hash" in changes else "account_disabled"
            audit("token_revoked", reason=reason, user_id=user_id)
        return _user(account)

    def delete_user(self, user_id: str) -> None:
        with self._session() as session:
            session.exec(delete(AuthToken).where(AuthToken.account_id == user_id))  # type: ignore[arg-type]
            gone = session.exec(delete(AuthAccount).where(AuthAccount.id == user_id))  # type: ignore[arg-type]
            if gone.rowcount != 1:
                session.rollback()
                raise UserNotFoundError(f"No account has the id {user_id!r}.")
            session.commit()

    def set_roles(self, user_id: str, roles: list[str]) -> User:
        return _user(self._change(user_id, {"roles": _roles(roles)}))

    def change_password(self, user_id: str, current: str, new: str) -> None:
        """Change a password, given the current one. Every login of the account is revoked,
        the current one included: clients log in again with the new password."""
        with self._session() as session:
            account = self._account(session, user_id)
            if not self.hasher.verify(current, account.password_hash):
                raise AuthenticationError("invalid_credentials", "The current password is wrong.")
        self.update_user(user_id, password=new)

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.database.new_session() as session:
            yield session

    def _password(self, password: Any) -> str:
        minimum = self.settings.min_password_length
        if not isinstance(password, str) or len(password) < minimum:
            raise InvalidUserDataError(
                f"The password must be a string of at least {minimum} characters."
            )
        if len(password) > 1024:
            raise InvalidUserDataError("The password must be at most 1024 characters.")
        return password

    def _by_email(self, session: Session, email: Any) -> AuthAccount | None:
        if not isinstance(email, str):
            return None
        query = select(AuthAccount).where(AuthAccount.email == email.strip().lower())
        return session.exec(query).first()

    def _account(self, session: Session, user_id: str) -> AuthAccount:
        account = session.get(AuthAccount, user_id) if isinstance(user_id, str) else None
        if account is None:
            raise UserNotFoundError(f"No account has the id {user_id!r}.")
        return account

    def _active_account(self, session: Session, user_id: str) -> AuthAccount:
        account = self._account(session, user_id)
        if account.disabled:
            raise PermissionDeniedError("user_disabled", "This account is disabled.")
        return account

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
                self._update_account(session, user_id, changes)
                if revoke:
                    session.exec(
                        update(AuthToken)
                        .where(
                            AuthToken.account_id == user_id,  # type: ignore[arg-type]
                            AuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
                        )
                        .values(revoked_at=now)
                    )
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UserExistsError(
                    f"An account with the email {changes.get('email')} exists."
                ) from None
            return self._account(session, user_id)

    def _update_account(self, session: Session, user_id: str, changes: dict[str, Any]) -> None:
        """Change an account with one UPDATE, which also locks it (see :meth:`refresh`)."""
        changed = session.exec(
            update(AuthAccount)
            .where(AuthAccount.id == user_id)  # type: ignore[arg-type]
            .values(**changes, updated_at=time.time())
        )
        if changed.rowcount != 1:
            session.rollback()
            raise UserNotFoundError(f"No account has the id {user_id!r}.")

    def _lock_account(self, session: Session, user_id: str) -> None:
        """Lock an account's row until the transaction ends (a write that changes nothing:
        it also starts SQLite's write transaction)."""
        session.exec(
            update(AuthAccount)
            .where(AuthAccount.id == user_id)  # type: ignore[arg-type]
            .values(updated_at=AuthAccount.updated_at)
        )

    def _check_password(self, session: Session, email: Any, password: Any) -> AuthAccount:
        """The account these credentials open, detached, with the read transaction ended so
        that what follows starts with a write (see :meth:`refresh`)."""
        account = self._by_email(session, email)
        if not isinstance(password, str):
            password = ""
        if account is None:
            self.hasher.verify(password, self._decoy)
            raise AuthenticationError("invalid_credentials", "Wrong email or password.")
        valid, rehashed = self.hasher.verify_and_update(password, account.password_hash)
        if not valid:
            raise AuthenticationError("invalid_credentials", "Wrong email or password.")
        if account.disabled:
            raise PermissionDeniedError("user_disabled", "This account is disabled.")
        session.expunge(account)
        session.rollback()
        if rehashed is not None:
            self._update_account(session, account.id, {"password_hash": rehashed})
        return account

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
        refresh, _ = self._new_token(
            session, account.id, kind, family, now, self.settings.refresh_ttl
        )
        return TokenPair(
            access_token=self.access_token(account, now),
            refresh_token=refresh,
            expires_in=self.settings.access_ttl,
            refresh_expires_in=self.settings.refresh_ttl,
            user_id=account.id,
        )

    def _new_token(
        self,
        session: Session,
        account_id: str,
        kind: str,
        family: str | None,
        now: float,
        ttl: int,
    ) -> tuple[str, AuthToken]:
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
        return f"{row.id}.{secret}", row

    def _find(self, session: Session, token: Any) -> AuthToken | None:
        parts = _token_parts(token)
        row = session.get(AuthToken, parts[0]) if parts is not None else None
        if row is None or parts is None or not hmac.compare_digest(row.digest, _digest(parts[1])):
            return None
        return row

    def _token(self, session: Session, token: str, kind: str, now: float) -> AuthToken:
        row = self._find(session, token)
        if row is None or row.kind != kind:
            raise AuthenticationError("invalid_token", f"The {kind} token is not valid.")
        if row.revoked_at is not None and kind == "refresh":
            raise AuthenticationError("token_revoked", "The refresh token has been revoked.")
        if row.expires_at <= now:
            raise AuthenticationError("token_expired", f"The {kind} token has expired.")
        return row

    def _revoke_family(self, session: Session, family: str, reason: str, user_id: str) -> None:
        self._lock_account(session, user_id)
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


# -- keys -------------------------------------------------------------------------------------


def _keys(settings: JwtSettings) -> tuple[Any, str, dict[str, Any]]:
    """The signing key, its id, and every key id → verifying key (current and previous)."""
    algorithm = settings.algorithm
    if algorithm.startswith("HS"):
        if settings.secret is None:
            raise AuthConfigurationError(
                f"auth.jwt.algorithm is {algorithm} but auth.jwt.secret is not set. Set it to at "
                "least 32 random bytes, usually from a secret: `secret: ${secret:JWT_SECRET}`."
            )
        minimum = int(algorithm[2:]) // 8  # as many bytes as the hash: RFC 7518, 3.2
        secret = _shared_secret(settings.secret.get_secret_value(), "auth.jwt.secret", minimum)
        verifying = {_kid(secret): secret}
        for index, previous in enumerate(settings.previous_keys):
            setting = f"auth.jwt.previous_keys[{index}]"
            old = _shared_secret(previous.get_secret_value(), setting, minimum)
            verifying[_kid(old)] = old
        return secret, _kid(secret), verifying
    if settings.private_key is None:
        raise AuthConfigurationError(
            f"auth.jwt.algorithm is {algorithm} but auth.jwt.private_key is not set. Set it to a "
            "PEM private key, usually from a secret: `private_key: ${secret:JWT_PRIVATE_KEY}`."
        )
    private = _private_key(settings.private_key.get_secret_value(), algorithm)
    public = _public_pem(private.public_key())
    verifying = {_kid(public): private.public_key()}
    for index, previous in enumerate(settings.previous_keys):
        setting = f"auth.jwt.previous_keys[{index}]"
        key = _public_key(previous.get_secret_value(), setting)
        _check_key(key, algorithm, setting)
        verifying[_kid(_public_pem(key))] = key
    return private, _kid(public), verifying


def _shared_secret(value: str, setting: str, minimum: int) -> bytes:
    secret = value.encode()
    if len(secret) < minimum:
        raise AuthConfigurationError(
            f"{setting} is {len(secret)} bytes; this algorithm's HMAC keys must be at least "
            f"{minimum} bytes: python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    return secret


def _private_key(pem: str, algorithm: str) -> Any:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise AuthConfigurationError(
            "auth.jwt.private_key is not an unencrypted PEM private key."
        ) from None
    _check_key(key.public_key(), algorithm, "auth.jwt.private_key")
    return key


def _check_key(public: Any, algorithm: str, setting: str) -> None:
    """Refuse at startup a key that cannot sign or verify ``algorithm`` (every login would
    fail with it, or every token naming it would be an error)."""
    family = algorithm[:2]
    if family == "RS":
        valid = isinstance(public, rsa.RSAPublicKey)
    elif family == "ES":
        valid = isinstance(public, ec.EllipticCurvePublicKey)
    else:
        valid = isinstance(public, ed25519.Ed25519PublicKey)
    if not valid:
        kind = next((name for name, kinds in _KEY_KINDS.items() if isinstance(public, kinds)), "")
        raise AuthConfigurationError(
            f"{setting} is {kind or 'another kind of'} key, which cannot sign {algorithm}."
        )
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name != "secp256r1":
        raise AuthConfigurationError(
            f"{setting} is on the curve {public.curve.name}; ES256 needs P-256 (secp256r1)."
        )
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < 2048:
        raise AuthConfigurationError(
            f"{setting} is a {public.key_size}-bit RSA key; use at least 2048 bits."
        )


def _public_key(pem: str, setting: str) -> Any:
    data = pem.encode()
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        pass
    try:
        return serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError):
        raise AuthConfigurationError(f"{setting} is not a PEM public or private key.") from None


def _public_pem(key: Any) -> bytes:
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _kid(material: bytes) -> str:
    return hashlib.sha256(b"tausestack-kid:" + material).hexdigest()[:16]


def _header(token: Any) -> dict[str, Any]:
    """A JWT's header, unverified (what PyJWT's ``get_unverified_header`` gives, without
    decoding the payload too)."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise AuthenticationError("malformed_token", "The token is not a JWT.")
    segment = token[: token.index(".")]
    try:
        header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise AuthenticationError("malformed_token", "The token is not a JWT.") from None
    if not isinstance(header, dict):
        raise AuthenticationError("malformed_token", "The token is not a JWT.")
    return header


def _token_parts(token: Any) -> tuple[str, str] | None:
    """The id and secret of an opaque token (``<32 hex>.<secret>``), None when malformed."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    ident, secret = token.split(".")
    return (ident, secret) if len(ident) == 32 and secret else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- validation and conversion ------------------------------------------------------------------


def _email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 320 or not _EMAIL.match(value.strip()):
        raise InvalidUserDataError(f"{value!r} is not an email address.")
    return value.strip().lower()


def _display_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidUserDataError("display_name must be a string of at most 200 characters.")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidUserDataError(f"{name} must be true or false, not {value!r}.")
    return value


def _roles(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidUserDataError(f"roles must be a list of role names, not {value!r}.")
    if not all(isinstance(role, str) and role.strip() == role and role for role in value):
        raise InvalidUserDataError("Each role must be a non-empty name without spaces around.")
    return sorted(set(value))


def _claims(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidUserDataError("claims must be a mapping of names to JSON values.")
    reserved = sorted(RESERVED_CLAIMS.intersection(value))
    if reserved:
        raise InvalidUserDataError(
            f"claims cannot set {', '.join(reserved)}: the backend sets those itself."
        )
    return dict(value)


def _user(account: AuthAccount) -> User:
    return User(
        id=account.id,
        email=account.email,
        email_verified=account.email_verified,
        display_name=account.display_name,
        disabled=account.disabled,
        roles=tuple(account.roles),
        claims=dict(account.claims),
    )

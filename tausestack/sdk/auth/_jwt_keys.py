"""The keys of the ``jwt`` backend and the access tokens they sign: the signing key and every
verifying key by id (``kid``), checked at startup against ``auth.jwt.algorithm``."""

from __future__ import annotations

import base64
import hashlib
import math
import time
from typing import TYPE_CHECKING, Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ._jwt_accounts import RESERVED_CLAIMS
from .base import User, user_from_claims
from .errors import AuthConfigurationError, AuthenticationError
from .oidc import decode_verified

if TYPE_CHECKING:
    from ...contrib.auth.models import AuthAccount
    from ..settings import JwtSettings

__all__ = ["AccessTokens", "load_keys", "unverified_header"]

_KEY_KINDS: dict[str, Any] = {
    "an RSA": rsa.RSAPublicKey,
    "an EC": ec.EllipticCurvePublicKey,
    "an Ed25519": ed25519.Ed25519PublicKey,
}


class AccessTokens:
    """Access tokens: JWTs signed with the current key, verified with it or a previous one,
    without the database."""

    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self.algorithm = settings.algorithm
        self._signing_key, self._kid, self._verifying_keys = load_keys(settings)
        self._verified: dict[str, tuple[User, float]] = {}

    def sign(self, account: AuthAccount, now: float | None = None) -> str:
        """A signed access token for ``account``."""
        settings = self.settings
        issued = math.floor((time.time() if now is None else now) * 1000) / 1000
        claims: dict[str, Any] = {
            key: value for key, value in account.claims.items() if key not in RESERVED_CLAIMS
        }
        claims.update(
            iss=settings.issuer,
            aud=settings.audience,
            sub=account.id,
            iat=issued,
            exp=int(issued) + settings.access_ttl,
            typ="access",
            email=account.email,
            email_verified=account.email_verified,
            name=account.display_name,
            roles=list(account.roles),
        )
        return jwt.encode(
            claims, self._signing_key, algorithm=self.algorithm, headers={"kid": self._kid}
        )

    def user(self, token: str) -> User:
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
        claims = self.claims(token)
        user = user_from_claims(claims)
        size = self.settings.verified_cache
        if size:
            if len(self._verified) >= size:
                self._verified.clear()
            self._verified[token] = (user, claims["exp"] + self.settings.leeway)
        return user

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of an access token (AuthenticationError with the reason)."""
        header = unverified_header(token)
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
            audience=self.settings.audience,
            issuer=self.settings.issuer,
            leeway=self.settings.leeway,
        )
        if claims.get("typ") != "access":
            raise AuthenticationError("wrong_token_type", "This is not an access token.")
        return claims


def load_keys(settings: JwtSettings) -> tuple[Any, str, dict[str, Any]]:
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


def unverified_header(token: Any) -> dict[str, Any]:
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

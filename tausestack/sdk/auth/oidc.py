"""The ``oidc`` backend: ID or access tokens from any provider that publishes a JWKS.

PyJWT verifies: the signature with the provider's key named by the token's ``kid`` (the key set
is cached for ``jwks_cache`` seconds and fetched again at once, rate-limited by
``jwks_cooldown``, when a token names a key it does not hold, so key rotation just works), the
algorithm against ``algorithms`` (asymmetric only, so ``alg: none`` and HS256-with-the-public-
key forgeries fail), ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` with ``leeway``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jwt
from jwt import PyJWKClient

from .base import AbstractAuthBackend, User, user_from_claims
from .errors import AuthConfigurationError, AuthenticationError

if TYPE_CHECKING:
    from ..settings import OidcSettings

__all__ = ["OidcBackend"]

#: What PyJWT's errors mean for a client: a reason code and a sentence (most specific first).
_REFUSALS: tuple[tuple[type[jwt.InvalidTokenError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "The token has expired."),
    (jwt.InvalidAudienceError, "invalid_audience", "The token is meant for another audience."),
    (jwt.InvalidIssuerError, "invalid_issuer", "The token has another issuer."),
    (jwt.InvalidSignatureError, "invalid_signature", "The token's signature is not valid."),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "The token is not valid yet."),
)


#: The largest time a token may carry (9999-12-31T23:59:59Z); larger ones overflow a float.
MAX_TIME = 253402300799


def refusal(error: jwt.InvalidTokenError) -> AuthenticationError:
    """The AuthenticationError (reason and message) for one of PyJWT's errors."""
    for kind, reason, message in _REFUSALS:
        if isinstance(error, kind):
            return AuthenticationError(reason, message)
    return AuthenticationError("invalid_token", f"The token is not valid: {error}.")


def decode_verified(
    token: str, key: Any, *, algorithms: Sequence[str], audience: str, issuer: str, leeway: float
) -> dict[str, Any]:
    """A token's claims once PyJWT has checked its signature, ``aud``, ``iss`` and times, and
    that it has ``exp``, ``iat`` and ``sub`` of the right types (numbers, a string);
    AuthenticationError with a reason otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(
            "missing_claim", f"The token lacks the {exc.claim!r} claim."
        ) from None
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        # Signed (PyJWT checks the signature first), but PyJWT read the times with int():
        # "exp": true is 1, long expired. A claim of the wrong type is that, not a time.
        _check_registered_claims(jwt.decode(token, options={"verify_signature": False}))
        raise refusal(exc) from None
    except jwt.InvalidTokenError as exc:
        raise refusal(exc) from None
    except jwt.PyJWTError:  # a key that cannot verify this token, for one
        raise AuthenticationError("invalid_token", "The token is not valid.") from None
    _check_registered_claims(claims)
    return claims


def _check_registered_claims(claims: dict[str, Any]) -> None:
    """PyJWT reads the times with ``int()``, so ``"exp": "1800000000"`` passes it; the code
    after compares them as numbers."""
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name, 0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -MAX_TIME <= value <= MAX_TIME  # also NaN
        ):
            raise AuthenticationError(
                "invalid_claim", f"The token's {name!r} claim is not a number of seconds."
            )
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise AuthenticationError("invalid_claim", "The token's 'sub' claim is not a user id.")


class OidcBackend(AbstractAuthBackend):
    """Verifies tokens against an OpenID Connect provider's published keys."""

    def __init__(self, settings: OidcSettings) -> None:
        if not settings.issuer or not settings.audience:
            missing = "auth.oidc.issuer" if not settings.issuer else "auth.oidc.audience"
            raise AuthConfigurationError(
                f"auth.backend is 'oidc' but {missing} is not set. Set the provider's issuer "
                "URL and the audience its tokens carry for this API."
            )
        self.issuer = settings.issuer
        self.audience = settings.audience
        self.algorithms = list(settings.algorithms)
        self.roles_claim = settings.roles_claim
        self.leeway = settings.leeway
        self.jwks_url = settings.jwks_url or self.issuer.rstrip("/") + "/.well-known/jwks.json"
        self.keys = PyJWKClient(
            self.jwks_url,
            cache_jwk_set=True,
            lifespan=settings.jwks_cache,
            timeout=settings.jwks_timeout,
            cooldown_duration=settings.jwks_cooldown,
        )

    def describe(self) -> str:
        return f"OIDC issuer {self.issuer}"

    def verify_token(self, token: str) -> User:
        header = self._header(token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise AuthenticationError(
                "algorithm_not_allowed",
                f"Token algorithm {algorithm!r} is not accepted (auth.oidc.algorithms: "
                f"{', '.join(self.algorithms)}).",
            )
        try:
            key = self.keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthenticationError(
                "keys_unavailable", f"The issuer's keys could not be fetched: {exc}"
            ) from None
        except jwt.PyJWKClientError:
            raise AuthenticationError(
                "unknown_key", "The token is signed with a key the issuer does not publish."
            ) from None
        except (jwt.PyJWTError, ValueError) as exc:  # no usable key; not JSON (ValueError)
            detail = exc if isinstance(exc, jwt.PyJWTError) else "the response is not JSON"
            raise AuthenticationError(
                "keys_unavailable", f"The issuer's keys could not be read: {detail}."
            ) from None
        claims = decode_verified(
            token,
            key.key,
            algorithms=self.algorithms,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
        )
        return user_from_claims(claims, self.roles_claim, space_separated=True)

    def _header(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or token.count(".") != 2:
            raise AuthenticationError("malformed_token", "The token is not a JWT.")
        try:
            header: dict[str, Any] = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthenticationError("malformed_token", "The token is not a JWT.") from None
        return header

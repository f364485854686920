"""The auth backend's provider, added to an app's container when something in it uses auth."""

from __future__ import annotations

from typing import Any

from ...di._container import Container
from ...di._markers import ComponentSpec
from ...di._providers import Provider, function_provider
from ...settings import Settings
from .._plugins import load_backend
from .base import AbstractAuthBackend
from .errors import AuthConfigurationError

APP = "tausestack.sdk.auth"
BUILT_IN_BACKENDS = ("jwt", "firebase", "oidc")


def auth_backend(settings: Settings, container: Container | None = None) -> AbstractAuthBackend:
    """The backend ``auth.backend`` names (``jwt`` keeps its accounts in ``container``'s
    database)."""
    name = settings.auth.backend
    if name is None:
        raise AuthConfigurationError(
            "This app authenticates users but auth.backend is not set; set it to 'jwt' (accounts "
            "in the app's database), 'firebase', 'oidc' (with auth.oidc.issuer and "
            "auth.oidc.audience) or to a backend's dotted path."
        )
    if name == "jwt":
        from .jwt_backend import JwtBackend, database_of

        database, owned = database_of(settings, container)
        return JwtBackend(settings.auth.jwt, database, owns_database=owned)
    if name == "firebase":
        from .firebase import FirebaseBackend

        return FirebaseBackend(settings.auth.firebase, profile=settings.profile)
    if name == "oidc":
        from .oidc import OidcBackend

        return OidcBackend(settings.auth.oidc)
    if "." not in name and ":" not in name:
        raise AuthConfigurationError(
            f"Unknown auth.backend {name!r}: use 'jwt', 'firebase', 'oidc' or the dotted path of "
            "an AbstractAuthBackend subclass."
        )
    backend: AbstractAuthBackend = load_backend(
        name,
        AbstractAuthBackend,
        settings,
        setting="auth.backend",
        built_in=BUILT_IN_BACKENDS,
        error=AuthConfigurationError,
    )
    return backend


def application_auth_backend(settings: Settings, container: Container) -> AbstractAuthBackend:
    """The application's auth backend (its ``start``/``stop`` run with the app's lifespan)."""
    return auth_backend(settings, container)


def requires(settings: Settings) -> tuple[str, ...]:
    """The ``jwt`` backend keeps its accounts in the app's database."""
    return ("tausestack.sdk.database",) if settings.auth.backend == "jwt" else ()


def providers(wanted: set[Any]) -> list[Provider]:
    """The auth backend, a singleton built from the settings when the app is created (so a
    configuration error shows there), started and stopped with the app."""
    backend = function_provider(application_auth_backend, ComponentSpec(kind="provider"), app=APP)
    backend.hooks = ("start", "stop")
    return [backend]


def exception_handlers() -> dict[type[Exception], Any]:
    """Auth raises HTTPExceptions itself: no handlers."""
    return {}

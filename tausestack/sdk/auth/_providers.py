"""The auth backend's provider, added to an app's container when something in it uses auth."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...di._container import Container
from ...di._markers import ComponentSpec
from ...di._providers import Provider, function_provider
from ...settings import Settings
from .._plugins import load_backend
from .base import AbstractAuthBackend
from .errors import AuthConfigurationError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

APP = "tausestack.sdk.auth"
BUILT_IN_BACKENDS = ("jwt", "firebase", "oidc")
_BUILT_IN_CLASSES = {
    "jwt": "tausestack.sdk.auth.jwt_backend:JwtBackend",
    "firebase": "tausestack.sdk.auth.firebase:FirebaseBackend",
    "oidc": "tausestack.sdk.auth.oidc:OidcBackend",
}


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


def middleware(settings: Settings) -> list[Callable[[ASGIApp], ASGIApp]]:
    """Where the backend can issue websocket tickets, the middleware that takes them out of
    every URL before anything (the server's access log included) sees it."""
    if not _issues_tickets(settings.auth.backend):
        return []
    from ._tickets import TicketRedactionMiddleware

    return [TicketRedactionMiddleware]


def _issues_tickets(backend: str | None) -> bool:
    """Whether the backend class ``auth.backend`` names implements ``issue_ticket``; unknown
    (no backend set, as when a test overrides it; a path that does not import, which the
    provider reports) counts as yes."""
    if backend is None:
        return True
    path = _BUILT_IN_CLASSES.get(backend, backend)
    module_name, _, attribute = path.replace(":", ".").rpartition(".")
    try:
        backend_class = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        return True
    issues = getattr(backend_class, "issue_ticket", None)
    return issues is not AbstractAuthBackend.issue_ticket or (
        getattr(backend_class, "aissue_ticket", None) is not AbstractAuthBackend.aissue_ticket
    )


def exception_handlers() -> dict[type[Exception], Any]:
    """Auth raises HTTPExceptions itself: no handlers."""
    return {}

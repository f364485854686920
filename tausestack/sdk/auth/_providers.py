"""The auth backend's provider, added to an app's container when something in it uses auth."""

from __future__ import annotations

from typing import Any

from ...di._markers import ComponentSpec
from ...di._providers import Provider, function_provider
from ...settings import Settings
from .._plugins import load_backend
from .base import AbstractAuthBackend
from .errors import AuthConfigurationError

APP = "tausestack.sdk.auth"
BUILT_IN_BACKENDS = ("oidc",)


def auth_backend(settings: Settings) -> AbstractAuthBackend:
    """The backend ``auth.backend`` names."""
    name = settings.auth.backend
    if name is None:
        raise AuthConfigurationError(
            "This app authenticates users but auth.backend is not set; set it to 'oidc' (with "
            "auth.oidc.issuer and auth.oidc.audience) or to a backend's dotted path."
        )
    if name == "oidc":
        from .oidc import OidcBackend

        return OidcBackend(settings.auth.oidc)
    if "." not in name and ":" not in name:
        raise AuthConfigurationError(
            f"Unknown auth.backend {name!r}: use 'oidc' or the dotted path of an "
            "AbstractAuthBackend subclass."
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


def providers(wanted: set[Any]) -> list[Provider]:
    """The auth backend, a singleton built from the settings."""
    return [function_provider(auth_backend, ComponentSpec(kind="provider"), app=APP)]


def exception_handlers() -> dict[type[Exception], Any]:
    """Auth raises HTTPExceptions itself: no handlers."""
    return {}

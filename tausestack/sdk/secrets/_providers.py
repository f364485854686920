"""The secrets providers, added to an app's container when something in it uses secrets."""

from __future__ import annotations

from typing import Any

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ._secrets import Secrets
from .base import AbstractSecretsBackend

APP = "tausestack.sdk.secrets"


def secrets_backend(secrets: Secrets) -> AbstractSecretsBackend:
    """The backend the settings chose."""
    return secrets.backend


def providers(wanted: set[Any]) -> list[Provider]:
    """The secrets providers for one container."""
    return [
        class_provider(Secrets, ComponentSpec(kind="component"), app=APP),
        function_provider(secrets_backend, ComponentSpec(kind="provider"), app=APP),
    ]


def exception_handlers() -> dict[type[Exception], Any]:
    """Secrets add no exception handlers: a missing secret is the server's error, a 500."""
    return {}

"""Secrets by name from the environment, a dotenv file or AWS Secrets Manager.

With DI, inject :class:`Secrets`; without it, use this module's functions, which work for the
current application::

    from tausestack.sdk import secrets

    key = secrets.require("STRIPE_KEY").get_secret_value()
    password = await secrets.aget("db", field="password")

Values are ``pydantic.SecretStr``: ``repr``, ``str`` and logs show ``**********``; call
``get_secret_value()`` where the value is used. Settings may refer to secrets as
``${secret:NAME}``; they are resolved when the application is built. See ``docs/secrets.md``.
"""

from __future__ import annotations

from typing import overload

from pydantic import SecretStr

from ...settings import Settings
from .._context import current_component
from ..settings import SecretsSettings
from ._references import resolve_references
from ._secrets import Secrets
from .base import AbstractSecretsBackend
from .env import EnvSecrets
from .errors import (
    InvalidSecretNameError,
    SecretNotFoundError,
    SecretsBackendError,
    SecretsConfigurationError,
    SecretsError,
)

__all__ = [
    "AbstractSecretsBackend",
    "EnvSecrets",
    "InvalidSecretNameError",
    "SecretNotFoundError",
    "Secrets",
    "SecretsBackendError",
    "SecretsConfigurationError",
    "SecretsError",
    "SecretsSettings",
    "aget",
    "arequire",
    "current",
    "get",
    "require",
    "resolve_references",
]


def current() -> Secrets:
    """The current application's :class:`Secrets` (built from its settings if nothing in the
    app asked for them)."""
    return current_component(Secrets, lambda container: Secrets(container.get(Settings)))


@overload
def get(name: str, default: None = None, *, field: str | None = None) -> SecretStr | None: ...
@overload
def get(name: str, default: str | SecretStr, *, field: str | None = None) -> SecretStr: ...
def get(
    name: str, default: str | SecretStr | None = None, *, field: str | None = None
) -> SecretStr | None:
    """The secret ``name`` (or a ``field`` of a JSON secret), else ``default``."""
    return current().get(name, default, field=field)


async def aget(
    name: str, default: str | SecretStr | None = None, *, field: str | None = None
) -> SecretStr | None:
    """Async :func:`get`."""
    return await current().aget(name, default, field=field)


def require(name: str, *, field: str | None = None) -> SecretStr:
    """The secret ``name`` (or its ``field``); SecretNotFoundError when it is missing."""
    return current().require(name, field=field)


async def arequire(name: str, *, field: str | None = None) -> SecretStr:
    """Async :func:`require`."""
    return await current().arequire(name, field=field)

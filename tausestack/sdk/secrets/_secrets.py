"""``Secrets``: the facade an application injects, over the backend the settings chose."""

from __future__ import annotations

import re
from typing import Any, overload

import orjson
from pydantic import SecretStr

from ..._naming import did_you_mean
from ...settings import Settings
from .._plugins import load_backend
from .base import AbstractSecretsBackend
from .errors import (
    InvalidSecretNameError,
    SecretNotFoundError,
    SecretsConfigurationError,
)

BUILT_IN_BACKENDS = ("env", "dotenv", "aws")
MAX_NAME_LENGTH = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Secrets:
    """Secrets by name, as ``SecretStr`` (never shown in ``repr``, logs or errors).

    Example::

        key = secrets.require("STRIPE_KEY").get_secret_value()
        password = secrets.get("db", field="password")   # a field of a JSON secret
    """

    def __init__(self, settings: Settings) -> None:
        self.backend = build_backend(settings)

    @classmethod
    def over(cls, backend: AbstractSecretsBackend) -> Secrets:
        """Secrets from a backend you built yourself (tests, scripts)."""
        secrets = cls.__new__(cls)
        secrets.backend = backend
        return secrets

    async def start(self) -> None:
        await self.backend.start()

    async def stop(self) -> None:
        await self.backend.stop()

    @overload
    def get(
        self, name: str, default: None = None, *, field: str | None = None
    ) -> SecretStr | None: ...
    @overload
    def get(
        self, name: str, default: str | SecretStr, *, field: str | None = None
    ) -> SecretStr: ...
    def get(
        self, name: str, default: str | SecretStr | None = None, *, field: str | None = None
    ) -> SecretStr | None:
        """The secret ``name`` (or one ``field`` of it, when it holds a JSON object), else
        ``default``."""
        raw = self.backend.get(check_name(name))
        return self._value(name, raw, field, default)

    @overload
    async def aget(
        self, name: str, default: None = None, *, field: str | None = None
    ) -> SecretStr | None: ...
    @overload
    async def aget(
        self, name: str, default: str | SecretStr, *, field: str | None = None
    ) -> SecretStr: ...
    async def aget(
        self, name: str, default: str | SecretStr | None = None, *, field: str | None = None
    ) -> SecretStr | None:
        """Async :meth:`get`."""
        raw = await self.backend.aget(check_name(name))
        return self._value(name, raw, field, default)

    def require(self, name: str, *, field: str | None = None) -> SecretStr:
        """The secret ``name`` (or its ``field``); SecretNotFoundError when it is missing."""
        value = self.get(name, field=field)
        if value is None:
            raise self._missing(name, field)
        return value

    async def arequire(self, name: str, *, field: str | None = None) -> SecretStr:
        """Async :meth:`require`."""
        value = await self.aget(name, field=field)
        if value is None:
            raise self._missing(name, field)
        return value

    def _value(
        self, name: str, raw: str | None, field: str | None, default: str | SecretStr | None
    ) -> SecretStr | None:
        if raw is not None and field is not None:
            raw = json_field(name, raw, field, self.backend.describe())
        if raw is None:
            return SecretStr(default) if isinstance(default, str) else default
        return SecretStr(raw)

    def _missing(self, name: str, field: str | None) -> SecretNotFoundError:
        where = self.backend.describe()
        if field is not None and self.backend.get(name) is not None:
            return SecretNotFoundError(f"Secret {name!r} in {where} has no field {field!r}.")
        return SecretNotFoundError(
            f"Secret {name!r} is not in {where}. Add it there, or choose another backend with "
            "secrets.backend."
        )


def check_name(name: object) -> str:
    """``name`` if it can name a secret, else InvalidSecretNameError saying why."""
    if not isinstance(name, str) or not name:
        raise InvalidSecretNameError(
            f"A secret name must be a non-empty str, not {name!r}; for example 'STRIPE_KEY'."
        )
    if len(name) > MAX_NAME_LENGTH or _CONTROL.search(name):
        raise InvalidSecretNameError(
            f"Invalid secret name {name[:40]!r}…: at most {MAX_NAME_LENGTH} characters, no "
            "control characters."
        )
    return name


def json_field(name: str, raw: str, field: str, where: str) -> str | None:
    """One field of a JSON object secret, as text (None when the object lacks it)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise SecretsConfigurationError(
            f"Secret {name!r} in {where} is not a JSON object, so it has no field {field!r}; "
            "read it without field=."
        )
    value: Any = document.get(field)
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def build_backend(settings: Settings) -> AbstractSecretsBackend:
    """The backend ``secrets.backend`` names: ``env``, ``dotenv``, ``aws`` or a dotted path."""
    options = settings.secrets
    name = options.backend
    if name == "env":
        from .env import EnvSecrets

        return EnvSecrets(options.env.prefix)
    if name == "dotenv":
        from .dotenv import DotenvSecrets

        path = options.dotenv.path
        return DotenvSecrets(path if path.is_absolute() else settings.config_dir / path)
    if name == "aws":
        try:
            from .aws import AwsSecretsManager
        except ImportError:
            raise SecretsConfigurationError(
                "secrets.backend is 'aws', which needs boto3; install it with "
                "`pip install 'tausestack[aws]'`."
            ) from None
        return AwsSecretsManager(options.aws)
    if "." not in name and ":" not in name:
        raise SecretsConfigurationError(
            f"Unknown secrets.backend {name!r}: use 'env', 'dotenv', 'aws', or the dotted path "
            f"of an AbstractSecretsBackend subclass.{did_you_mean(name, BUILT_IN_BACKENDS)}"
        )
    backend: AbstractSecretsBackend = load_backend(
        name,
        AbstractSecretsBackend,
        settings,
        setting="secrets.backend",
        built_in=BUILT_IN_BACKENDS,
        error=SecretsConfigurationError,
    )
    return backend

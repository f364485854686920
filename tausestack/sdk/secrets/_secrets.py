"""``Secrets``: the facade an application injects, over the backend the settings chose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, overload

import orjson
from dotenv import dotenv_values
from pydantic import SecretStr

from ..._naming import did_you_mean
from ...settings import Settings
from .._plugins import load_backend
from .base import AbstractSecretsBackend
from .env import EnvSecrets
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
        # Where a secret the env backend lacks may be instead, for the error's hint.
        configured = dotenv_path(settings)
        self._configured_dotenv: Path | None = configured
        self._dotenv_files: tuple[Path, ...] = tuple(
            dict.fromkeys([configured, settings.config_dir / ".env"])
        )

    @classmethod
    def over(cls, backend: AbstractSecretsBackend) -> Secrets:
        """Secrets from a backend you built yourself (tests, scripts)."""
        secrets = cls.__new__(cls)
        secrets.backend = backend
        secrets._configured_dotenv, secrets._dotenv_files = None, ()
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
        hint = self.dotenv_hint(name)
        if hint:
            return SecretNotFoundError(f"Secret {name!r} is not in {where}. {hint}")
        return SecretNotFoundError(
            f"Secret {name!r} is not in {where}. Add it there, or choose another backend with "
            "secrets.backend."
        )

    def dotenv_hint(self, name: str) -> str:
        """When the ``env`` backend lacks ``name`` but a dotenv file of the project defines it,
        the fix (choose the ``dotenv`` backend); else an empty string. Never shows a value."""
        if not isinstance(self.backend, EnvSecrets) or self.backend.get(name) is not None:
            return ""
        for path in self._dotenv_files:
            try:
                defined = path.is_file() and name in dotenv_values(path)
            except (OSError, UnicodeDecodeError):
                defined = False
            if not defined:
                continue
            also = "" if path == self._configured_dotenv else f" and secrets.dotenv.path: {path}"
            return (
                f"{path} defines {name}, but the env backend reads only the process environment: "
                f"set secrets.backend: dotenv{also} to read secrets from that file "
                f"(or TAUSESTACK_SECRETS__BACKEND=dotenv), or export "
                f"{self.backend.prefix}{name} before the app starts."
            )
        return ""


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


def dotenv_path(settings: Settings) -> Path:
    """The file of the ``dotenv`` backend: ``secrets.dotenv.path``, relative to the project."""
    path = settings.secrets.dotenv.path
    return path if path.is_absolute() else settings.config_dir / path


def build_backend(settings: Settings) -> AbstractSecretsBackend:
    """The backend ``secrets.backend`` names: ``env``, ``dotenv``, ``aws`` or a dotted path."""
    options = settings.secrets
    name = options.backend
    if name == "env":
        return EnvSecrets(options.env.prefix)
    if name == "dotenv":
        from .dotenv import DotenvSecrets

        return DotenvSecrets(dotenv_path(settings))
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

"""Which backend ``cache.backend`` names: a built-in one by name, or a class by dotted path."""

from __future__ import annotations

import importlib
from typing import Any

from ..._redaction import mask_url_secrets
from ...settings import Settings
from .._plugins import url_hint
from .base import AbstractCacheBackend
from .errors import CacheConfigurationError

#: name -> (module, class, the library it needs, how to install it)
BUILTIN: dict[str, tuple[str, str, str, str]] = {
    "memory": ("tausestack.sdk.cache.memory", "MemoryCacheBackend", "", ""),
    "disk": (
        "tausestack.sdk.cache.disk",
        "DiskCacheBackend",
        "diskcache",
        "pip install 'tausestack[diskcache]'",
    ),
    "redis": (
        "tausestack.sdk.cache.redis",
        "RedisCacheBackend",
        "redis",
        "pip install 'tausestack[redis]'",
    ),
}


def source_of(settings: Settings, *path: str) -> str:
    """Where a cache setting came from, as a message says it: ``set in application.yaml:4``,
    ``set in code (Settings(cache=...))``, ``the default``."""
    source = settings.source_of(*path)
    if source == "keyword argument":
        return f"set in code (Settings({path[0]}=...))"
    if source == "defaults":
        return "the default"
    return f"set in {source}"


def build_backend(settings: Settings) -> AbstractCacheBackend:
    """The backend the settings choose, built with ``from_settings``.

    Raises:
        CacheConfigurationError: the backend's library is missing, the dotted path cannot be
            imported, or it does not name a subclass of AbstractCacheBackend.
    """
    name = settings.cache.backend
    where = source_of(settings, "cache", "backend")
    backend_class = _builtin(name, where) if name in BUILTIN else _import(name, where)
    if not (isinstance(backend_class, type) and issubclass(backend_class, AbstractCacheBackend)):
        raise CacheConfigurationError(
            mask_url_secrets(
                f"cache.backend {name!r} ({where}) is not a subclass of "
                "tausestack.sdk.cache.AbstractCacheBackend. Point it at one "
                "(package.module:ClassName), or use 'memory', 'disk' or 'redis'."
            )
        )
    return backend_class.from_settings(settings)


def _builtin(name: str, where: str) -> Any:
    module_name, class_name, library, install = BUILTIN[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if library and exc.name == library:
            raise CacheConfigurationError(
                f"cache.backend is {name!r} ({where}), which needs the {library} "
                f"library; it is not installed. Install it: `{install}`."
            ) from None
        raise
    return getattr(module, class_name)


def _import(path: str, where: str) -> Any:
    module_name, _, attribute = path.replace(":", ".").rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise CacheConfigurationError(
            mask_url_secrets(
                f"cache.backend {path!r} ({where}) cannot be imported ({exc}). Use "
                "'memory', 'disk', 'redis', or the path of your backend class written as "
                f"package.module:ClassName.{url_hint(path, 'cache.backend')}"
            )
        ) from None

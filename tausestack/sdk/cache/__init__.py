"""The cache: memory, disk or Redis behind one interface, and ``@cached``.

With DI, inject ``Cache`` (or ``AbstractCacheBackend``, the raw backend). Without DI, call the
functions of this module, which use the current application's cache::

    from tausestack.sdk import cache

    cache.set("rates:EUR", rates, ttl=60)
    rates = await cache.aget("rates:EUR")

    @cache.cached(ttl=60)
    async def exchange_rate(currency: str) -> Decimal: ...

The Redis and disk backends live in ``tausestack.sdk.cache.redis`` and
``tausestack.sdk.cache.disk``; each imports its library only when it is chosen. See
``docs/cache.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..settings import CacheSettings
from ._cache import DEFAULT_TTL, TTL, Cache, CacheStats
from ._current import current_cache as _current_cache
from ._decorator import cached
from ._keys import MAX_KEY_LENGTH
from ._protocols import (
    BoundCachedFunction,
    CachedClassMethod,
    CachedDecorator,
    CachedFunction,
)
from .base import AbstractCacheBackend
from .errors import (
    CacheBackendError,
    CacheConfigurationError,
    CacheConnectionError,
    CacheError,
    CacheSerializationError,
    CacheValueError,
    InvalidCacheKeyError,
)
from .memory import MemoryCacheBackend

__all__ = [
    "DEFAULT_TTL",
    "MAX_KEY_LENGTH",
    "TTL",
    "AbstractCacheBackend",
    "BoundCachedFunction",
    "Cache",
    "CacheBackendError",
    "CacheConfigurationError",
    "CacheConnectionError",
    "CacheError",
    "CacheSerializationError",
    "CacheSettings",
    "CacheStats",
    "CacheValueError",
    "CachedClassMethod",
    "CachedDecorator",
    "CachedFunction",
    "InvalidCacheKeyError",
    "MemoryCacheBackend",
    "aclear",
    "adelete",
    "aget",
    "aget_many",
    "aincr",
    "aset",
    "aset_many",
    "cached",
    "clear",
    "current",
    "delete",
    "get",
    "get_many",
    "incr",
    "set",
    "set_many",
    "stats",
]


def current() -> Cache:
    """The current application's cache (see ``tausestack.sdk``).

    An app with no cache support (nothing in it asked for one — a script's default app, say)
    gets one built from its settings on first use, kept for the app's lifetime.
    """
    return _current_cache()


def get(key: str, default: Any = None, *, type: Any = None) -> Any:
    """The value under ``key``, or ``default`` (see :meth:`Cache.get`)."""
    return _current_cache().get(key, default, type=type)


def get_many(keys: Iterable[str], *, type: Any = None) -> dict[str, Any]:
    """The values of the keys that are present (see :meth:`Cache.get_many`)."""
    return _current_cache().get_many(keys, type=type)


def set(key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> None:
    """Store ``value`` under ``key`` (see :meth:`Cache.set`)."""
    _current_cache().set(key, value, ttl)


def set_many(values: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
    """Store every pair, or none (see :meth:`Cache.set_many`)."""
    _current_cache().set_many(values, ttl)


def delete(key: str) -> bool:
    """Remove ``key``; return whether it was there."""
    return _current_cache().delete(key)


def clear() -> int:
    """Remove the current application's entries, and nothing else."""
    return _current_cache().clear()


def incr(key: str, delta: int = 1, *, ttl: TTL = DEFAULT_TTL) -> int:
    """Add ``delta`` to the integer under ``key`` atomically (see :meth:`Cache.incr`)."""
    return _current_cache().incr(key, delta, ttl=ttl)


def stats() -> CacheStats:
    """Hits and misses of the current application's cache."""
    return _current_cache().stats()


async def aget(key: str, default: Any = None, *, type: Any = None) -> Any:
    """Async twin of :func:`get`."""
    return await _current_cache().aget(key, default, type=type)


async def aget_many(keys: Iterable[str], *, type: Any = None) -> dict[str, Any]:
    """Async twin of :func:`get_many`."""
    return await _current_cache().aget_many(keys, type=type)


async def aset(key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> None:
    """Async twin of :func:`set`."""
    await _current_cache().aset(key, value, ttl)


async def aset_many(values: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
    """Async twin of :func:`set_many`."""
    await _current_cache().aset_many(values, ttl)


async def adelete(key: str) -> bool:
    """Async twin of :func:`delete`."""
    return await _current_cache().adelete(key)


async def aclear() -> int:
    """Async twin of :func:`clear`."""
    return await _current_cache().aclear()


async def aincr(key: str, delta: int = 1, *, ttl: TTL = DEFAULT_TTL) -> int:
    """Async twin of :func:`incr`."""
    return await _current_cache().aincr(key, delta, ttl=ttl)

"""Errors of ``tausestack.sdk.cache``; every one names the key and the backend, and says what to
change."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "CacheBackendError",
    "CacheConfigurationError",
    "CacheConnectionError",
    "CacheError",
    "CacheSerializationError",
    "CacheValueError",
    "InvalidCacheKeyError",
]


class CacheError(TauseStackError):
    """Base class of the cache errors."""


class CacheConfigurationError(CacheError):
    """The ``cache:`` settings cannot work (unknown backend, missing library, bad ``@cached``)."""


class CacheBackendError(CacheError):
    """The backend is reachable but refused an operation (Redis READONLY, OOM, NOPERM…); the
    message quotes its reply."""


class CacheConnectionError(CacheError):
    """The backend could not be reached; the message names its URL without the password."""


class InvalidCacheKeyError(CacheError):
    """A key is not a non-empty string of printable characters within the length limit, or
    ``@cached`` cannot build one from a call's arguments.

    ``problem`` says what is wrong with a key that was given or built (``"a cache key cannot
    be empty"``): such a key may come from a request's data, which makes it a 400 there. It is
    None when the code is at fault, a 500: a key that is not a str, or a ``@cached`` definition
    that cannot build one.
    """

    def __init__(self, message: str, *, problem: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem


class CacheSerializationError(CacheError):
    """A value cannot be stored by the configured serializer, or stored data cannot be read."""


class CacheValueError(CacheError):
    """An operation cannot use a value: ``incr`` of a non-integer, a ``ttl`` that is not a
    positive, finite number of seconds up to 10 years."""

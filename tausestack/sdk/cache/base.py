"""The interface a cache backend implements: bytes in, bytes out, under full keys.

:class:`~tausestack.sdk.cache.Cache` validates keys, adds the key prefix, serializes values and
counts hits and misses; a backend only stores bytes. To add one, subclass
:class:`AbstractCacheBackend`, implement the sync methods, and name the class in
``cache.backend`` (``package.module:ClassName``)::

    class MemcachedBackend(AbstractCacheBackend):
        name = "memcached"

        @classmethod
        def from_settings(cls, settings: Settings) -> MemcachedBackend:
            return cls(servers=["127.0.0.1:11211"])

        def get(self, key: str) -> bytes | None: ...
        ...

The async twins run the sync method in a worker thread unless a backend overrides them (the
Redis backend does, with redis-py's asyncio client), so every backend is safe to await.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, ClassVar, ParamSpec, TypeVar

import anyio.to_thread

if TYPE_CHECKING:
    from typing import Self

    from ...settings import Settings

__all__ = ["AbstractCacheBackend"]

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call in anyio's worker threads, so the event loop keeps serving."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


class AbstractCacheBackend(ABC):
    """Stores bytes under string keys, each with an optional time to live (seconds).

    Keys arrive complete (prefix included) and validated; ``ttl`` is a positive number of
    seconds or None for no expiry. A backend must be safe to use from several threads.
    """

    #: How messages and ``Cache.describe()`` name the backend.
    name: ClassVar[str] = "custom"

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Build the backend from the application settings (``settings.cache``).

        The default calls ``cls()``; override it to read your own options.
        """
        return cls()

    def describe(self) -> str:
        """The backend's name and, for a server, where it is (never a password)."""
        return self.name

    # -- storage (sync) -------------------------------------------------------------------------

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when it is missing or expired."""

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The bytes of each key, in order; None for a missing one."""

    @abstractmethod
    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        """Store ``data`` under ``key`` for ``ttl`` seconds (None: until evicted)."""

    @abstractmethod
    def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        """Store every pair, all or none of them."""

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> int:
        """Remove the keys; return how many existed."""

    @abstractmethod
    def clear(self, prefix: str) -> int:
        """Remove every key that starts with ``prefix`` (and nothing else); return how many."""

    @abstractmethod
    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        """Add ``delta`` to the integer stored as ASCII digits under ``key``, atomically.

        A missing key starts at 0 and lives ``ttl`` seconds; an existing key keeps its expiry.
        Raise :class:`~tausestack.sdk.cache.CacheValueError` when the value is not an integer.
        """

    def lock(self, name: str, timeout: float) -> AbstractContextManager[bool]:
        """A lock shared by every process using this backend.

        The context manager yields whether the lock was acquired, waiting at most ``timeout``
        seconds (``@cached`` checks the cache again, then computes anyway, when it was not).
        A lock expires ``timeout`` seconds after its holder stops extending it; the holder
        extends it every ``timeout / 3`` seconds while it holds it (see ``_locks.renewing``),
        and releases it only if it is still its own. The default does not lock: a backend that
        lives in one process needs no lock beyond ``@cached``'s own.
        """
        return _no_lock()

    def ping(self) -> None:  # noqa: B027 - optional: nothing to check by default
        """Check that the backend can be reached; raise CacheConnectionError if not."""

    def close(self) -> None:  # noqa: B027 - optional: nothing to release by default
        """Release connections and files; the backend reopens them if used again."""

    # -- async twins (worker thread unless overridden) -------------------------------------------

    async def aget(self, key: str) -> bytes | None:
        """Async twin of :meth:`get`."""
        return await in_thread(self.get, key)

    async def aget_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Async twin of :meth:`get_many`."""
        return await in_thread(self.get_many, keys)

    async def aset(self, key: str, data: bytes, ttl: float | None) -> None:
        """Async twin of :meth:`set`."""
        await in_thread(self.set, key, data, ttl)

    async def aset_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        """Async twin of :meth:`set_many`."""
        await in_thread(self.set_many, items, ttl)

    async def adelete(self, keys: Sequence[str]) -> int:
        """Async twin of :meth:`delete`."""
        return await in_thread(self.delete, keys)

    async def aclear(self, prefix: str) -> int:
        """Async twin of :meth:`clear`."""
        return await in_thread(self.clear, prefix)

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        """Async twin of :meth:`incr`."""
        return await in_thread(self.incr, key, delta, ttl)

    @asynccontextmanager
    async def alock(self, name: str, timeout: float) -> AsyncIterator[bool]:
        """Async twin of :meth:`lock`: the sync lock, taken and released in a worker thread."""
        manager = self.lock(name, timeout)
        acquired = await in_thread(manager.__enter__)
        try:
            yield acquired
        finally:
            await in_thread(manager.__exit__, None, None, None)

    async def aping(self) -> None:
        """Async twin of :meth:`ping`."""
        await in_thread(self.ping)

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await in_thread(self.close)


@contextmanager
def _no_lock() -> Iterator[bool]:
    yield True

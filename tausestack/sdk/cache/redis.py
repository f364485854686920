"""The ``redis`` backend: redis-py's sync client and one asyncio client per event loop.

Correct across processes and machines: every worker reads and writes the same server, ``incr``
is atomic, and ``@cached`` can take a lock in Redis so that one process in the fleet computes a
missing value while the others wait for it (``cache.distributed_lock``).

Connections are pooled: the sync client's pool blocks (up to ``socket_timeout``) when all
``max_connections`` are busy; each event loop has its own asyncio pool (asyncio connections
belong to the loop that opened them), bounded the same way (``_slots.Slots``). The pool of a
loop that was closed (each ``asyncio.run`` makes a new loop) is dropped, its connections shut,
when another loop first uses the backend and at ``close()``/``aclose()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import redis
import redis.asyncio

from .._redis import reconnecting
from ._backends import source_of
from ._locks import arenewing, renewing
from ._redis_commands import ACQUIRE, EXTEND, INCR, UNLOCK, failure
from ._redis_loops import LoopClient
from ._slots import Slots
from ._urls import redact
from .base import AbstractCacheBackend
from .errors import (
    CacheConfigurationError,
    CacheError,
)

if TYPE_CHECKING:
    from typing import Self

    from ...settings import Settings

__all__ = ["RedisCacheBackend", "redact"]

_POLL = 0.01  # seconds between two attempts to take a held lock
# What a command on the asyncio client fails with: redis-py's errors, or no free connection.
_FAILURES = (redis.RedisError, TimeoutError)
_SCAN_COUNT = 1000


class RedisCacheBackend(AbstractCacheBackend):
    """A Redis server (or anything speaking its protocol: Valkey, KeyDB, Dragonfly).

    Args:
        url: ``redis://[:password@]host:port/db`` (``rediss://`` for TLS, ``unix://`` sockets).
        max_connections: the most connections each pool opens.
        socket_timeout: seconds to wait for a connection, a reply, or a free pooled connection.
        origin: where the URL was configured, for error messages.
    """

    name = "redis"

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        max_connections: int = 50,
        socket_timeout: float = 5.0,
        origin: str | None = None,
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        self.socket_timeout = socket_timeout
        self._origin = origin
        options: dict[str, Any] = {
            "max_connections": max_connections,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        try:
            pool = redis.BlockingConnectionPool.from_url(
                url, timeout=socket_timeout, **options, **reconnecting()
            )
        except ValueError as exc:
            raise CacheConfigurationError(
                f"cache.redis.url {redact(url)!r}{self._where()} is not a Redis URL ({exc}). "
                "Write it as redis://[:password@]host:port/db (rediss:// for TLS)."
            ) from None
        self._options = options
        self._client = redis.Redis(connection_pool=pool)
        # One client per event loop, by id(loop); each entry holds a weak reference to its loop
        # (the client itself refers to it through its connections).
        self._async_clients: dict[int, LoopClient] = {}
        self._async_lock = threading.Lock()
        self._last: LoopClient | None = None
        self._incr = self._client.register_script(INCR)
        self._acquire = self._client.register_script(ACQUIRE)
        self._unlock = self._client.register_script(UNLOCK)
        self._extend = self._client.register_script(EXTEND)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Read ``cache.redis``."""
        options = settings.cache.redis
        return cls(
            options.url,
            max_connections=options.max_connections,
            socket_timeout=options.socket_timeout,
            origin=source_of(settings, "cache", "redis", "url"),
        )

    def describe(self) -> str:
        return f"redis cache at {redact(self.url)}"

    # -- sync -----------------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        try:
            return self._client.get(key)  # type: ignore[return-value]
        except redis.RedisError as exc:
            raise self._failure("get", key, exc) from None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            return self._client.mget(keys)  # type: ignore[return-value]
        except redis.RedisError as exc:
            raise self._failure("get_many", keys[0], exc) from None

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        try:
            self._client.set(key, data, px=_milliseconds(ttl))
        except redis.RedisError as exc:
            raise self._failure("set", key, exc) from None

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        if not items:
            return
        try:
            with self._client.pipeline(transaction=True) as pipeline:
                _queue_sets(pipeline, items, ttl)
                pipeline.execute()
        except redis.RedisError as exc:
            raise self._failure("set_many", items[0][0], exc) from None

    def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        try:
            return int(self._client.delete(*keys))
        except redis.RedisError as exc:
            raise self._failure("delete", keys[0], exc) from None

    def clear(self, prefix: str) -> int:
        removed, batch = 0, []
        try:
            for key in self._client.scan_iter(match=_pattern(prefix), count=_SCAN_COUNT):
                batch.append(key)
                if len(batch) >= _SCAN_COUNT:
                    removed += int(self._client.unlink(*batch))
                    batch = []
            if batch:
                removed += int(self._client.unlink(*batch))
        except redis.RedisError as exc:
            raise self._failure("clear", prefix + "*", exc) from None
        return removed

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        try:
            return int(self._incr(keys=[key], args=[delta, _milliseconds(ttl) or ""]))
        except redis.RedisError as exc:
            raise self._failure("incr", key, exc) from None

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float) -> Iterator[bool]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        milliseconds = _milliseconds(timeout) or 1
        try:
            acquired = bool(self._acquire(keys=[name], args=[token, milliseconds]))
            while not acquired and time.monotonic() < deadline:
                time.sleep(_POLL)
                acquired = bool(self._acquire(keys=[name], args=[token, milliseconds]))
        except redis.RedisError as exc:
            raise self._failure("lock", name, exc) from None
        if not acquired:
            yield False
            return

        def extend() -> bool:
            return bool(self._extend(keys=[name], args=[token, milliseconds]))

        try:
            with renewing(extend, timeout):
                yield True
        finally:
            with contextlib.suppress(redis.RedisError):  # it expires on its own anyway
                self._unlock(keys=[name], args=[token])

    def ping(self) -> None:
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise self._failure("ping", None, exc) from None

    def close(self) -> None:
        """Close the sync pool and every event loop's pool (see :meth:`_drop_loops`)."""
        self._client.connection_pool.disconnect()
        self._drop_loops(lambda loop: True)

    # -- async ----------------------------------------------------------------------------------

    def _async(self) -> tuple[redis.asyncio.Redis, Slots]:
        """This event loop's client and its connection bound (remembered for the last loop)."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last.loop() is loop:
            return last.client, last.slots
        entry = self._async_clients.get(id(loop))
        if entry is None or entry.loop() is not loop:
            self._drop_loops(lambda other: other is None or other.is_closed())
            entry = LoopClient(
                weakref.ref(loop),
                redis.asyncio.Redis.from_url(
                    self.url, **self._options, **reconnecting(asynchronous=True)
                ),
                Slots(self.max_connections, self.socket_timeout),
            )
            with self._async_lock:
                self._async_clients[id(loop)] = entry
        self._last = entry
        return entry.client, entry.slots

    def _drop_loops(self, which: Any) -> None:
        """Forget the clients of the loops ``which(loop)`` picks (a dead loop is None), and
        release their connections without awaiting: a closed loop cannot run a coroutine
        any more, so their sockets are shut; a running loop (another thread's) is asked to
        close its pool itself."""
        with self._async_lock:
            doomed = [
                (key, entry) for key, entry in self._async_clients.items() if which(entry.loop())
            ]
            for key, _ in doomed:
                del self._async_clients[key]
        for _, entry in doomed:
            if self._last is entry:
                self._last = None
            entry.release()

    async def aget(self, key: str) -> bytes | None:
        # Every hit comes here: _async() and the slot's fast paths are inlined.
        last = self._last
        if last is not None and last.loop() is asyncio.get_running_loop():
            client, bound = last.client, last.slots
        else:
            client, bound = self._async()
        if bound.free > 0 and not bound.waiters:
            bound.free -= 1
        else:
            try:
                await bound.take()
            except TimeoutError as exc:
                raise self._failure("get", key, exc) from None
        try:
            return cast("bytes | None", await client.get(key))
        except _FAILURES as exc:
            raise self._failure("get", key, exc) from None
        finally:
            bound.give()

    async def aget_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        client, bound = self._async()
        try:
            async with bound:
                return cast("list[bytes | None]", await client.mget(keys))
        except _FAILURES as exc:
            raise self._failure("get_many", keys[0], exc) from None

    async def aset(self, key: str, data: bytes, ttl: float | None) -> None:
        client, bound = self._async()
        try:
            async with bound:
                await client.set(key, data, px=_milliseconds(ttl))
        except _FAILURES as exc:
            raise self._failure("set", key, exc) from None

    async def aset_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        if not items:
            return
        client, bound = self._async()
        try:
            async with bound, client.pipeline(transaction=True) as pipeline:
                _queue_sets(pipeline, items, ttl)
                await pipeline.execute()
        except _FAILURES as exc:
            raise self._failure("set_many", items[0][0], exc) from None

    async def adelete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        client, bound = self._async()
        try:
            async with bound:
                return int(await client.delete(*keys))
        except _FAILURES as exc:
            raise self._failure("delete", keys[0], exc) from None

    async def aclear(self, prefix: str) -> int:
        client, bound = self._async()
        removed, batch = 0, []
        try:
            async with bound:
                async for key in client.scan_iter(match=_pattern(prefix), count=_SCAN_COUNT):
                    batch.append(key)
                    if len(batch) >= _SCAN_COUNT:
                        removed += int(await client.unlink(*batch))
                        batch = []
                if batch:
                    removed += int(await client.unlink(*batch))
        except _FAILURES as exc:
            raise self._failure("clear", prefix + "*", exc) from None
        return removed

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        client, bound = self._async()
        try:
            async with bound:
                value = await client.eval(INCR, 1, key, delta, _milliseconds(ttl) or "")
            return int(value)
        except _FAILURES as exc:
            raise self._failure("incr", key, exc) from None

    @contextlib.asynccontextmanager
    async def alock(self, name: str, timeout: float) -> AsyncIterator[bool]:
        client, bound = self._async()
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        acquired = False
        milliseconds = _milliseconds(timeout) or 1
        try:
            while True:
                async with bound:
                    acquired = bool(await client.eval(ACQUIRE, 1, name, token, milliseconds))
                if acquired or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(_POLL)
        except _FAILURES as exc:
            raise self._failure("lock", name, exc) from None
        if not acquired:
            yield False
            return

        async def extend() -> bool:
            async with bound:
                return bool(await client.eval(EXTEND, 1, name, token, milliseconds))

        try:
            async with arenewing(extend, timeout):
                yield True
        finally:
            with contextlib.suppress(*_FAILURES):  # it expires on its own anyway
                async with bound:
                    await client.eval(UNLOCK, 1, name, token)

    async def aping(self) -> None:
        client, bound = self._async()
        try:
            async with bound:
                await client.ping()
        except _FAILURES as exc:
            raise self._failure("ping", None, exc) from None

    async def aclose(self) -> None:
        """Close this event loop's pool, the sync pool, and other loops' pools (closed loops'
        sockets are shut; a loop running in another thread closes its own)."""
        loop = asyncio.get_running_loop()
        with self._async_lock:
            entry = self._async_clients.pop(id(loop), None)
        if self._last is entry:
            self._last = None
        self._client.connection_pool.disconnect()
        self._drop_loops(lambda other: other is not loop)
        if entry is not None:
            await entry.client.aclose()

    # -- errors ---------------------------------------------------------------------------------

    def _where(self) -> str:
        return f" ({self._origin})" if self._origin else ""

    def _failure(self, operation: str, key: str | None, exc: Exception) -> CacheError:
        return failure(operation, key, exc, redact(self.url), self._where())


def _milliseconds(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, math.ceil(seconds * 1000))


def _pattern(prefix: str) -> str:
    """A SCAN pattern matching keys that start with ``prefix`` literally."""
    escaped = "".join("\\" + char if char in "*?[]\\" else char for char in prefix)
    return escaped + "*"


def _queue_sets(pipeline: Any, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
    milliseconds = _milliseconds(ttl)
    for key, data in items:
        pipeline.set(key, data, px=milliseconds)

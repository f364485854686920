"""``limits``' async Redis storage with a client and connection pool per running event loop.

redis-py's asyncio connections (and the blocking pool's condition) belong to the event loop
that made them: used from another loop, they raise ``RuntimeError`` (``attached to a different
loop``). One app can be served on several loops in turn (a ``TestClient`` used without
``with`` runs each request on a new one; a worker thread may run its own), so the storage
keeps a client per loop, made when a loop first uses it and dropped once that loop is closed
(its connections are closed as they are collected). The counts live in Redis, so every loop
counts together.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.bridge import RedisBridge

__all__ = ["PerLoopRedisStorage"]


class PerLoopRedisStorage(RedisStorage):
    """A redis-py ``RedisStorage`` whose ``bridge`` (client, pool and scripts) is the running
    loop's own.

    Args:
        url: a ``redis://`` or ``rediss://`` URL.
        new_pool: makes a connection pool (called once per event loop).
        key_prefix: the prefix of every key the storage writes.
    """

    def __init__(self, url: str, new_pool: Callable[[], Any], *, key_prefix: str) -> None:
        self._new_pool = new_pool
        # Not weak: a bridge's connections refer to their loop, which would keep it alive.
        self._bridges: dict[asyncio.AbstractEventLoop, RedisBridge] = {}
        self._lock = threading.Lock()  # loops of different threads ask at once
        self._unbound: RedisBridge | None = None
        self._template: tuple[type[RedisBridge], str, Any, str] | None = None
        super().__init__(
            f"async+{url}",
            implementation="redispy",
            key_prefix=key_prefix,
            wrap_exceptions=True,
            connection_pool=new_pool(),
        )

    @property
    def bridge(self) -> RedisBridge:
        """The running loop's bridge: the one made at construction for the first loop that
        asks (its pool has no connection yet), a new one with a new pool for each other."""
        loop = _running_loop()
        if loop is None:
            assert self._unbound is not None
            return self._unbound
        bridge = self._bridges.get(loop)
        if bridge is not None:
            return bridge
        with self._lock:
            for closed in [other for other in self._bridges if other.is_closed()]:
                del self._bridges[closed]
            if self._unbound is not None:
                bridge, self._unbound = self._unbound, None
            else:
                bridge = self._new_bridge()
            self._bridges[loop] = bridge
        return bridge

    @bridge.setter
    def bridge(self, bridge: RedisBridge) -> None:
        self._template = (type(bridge), bridge.uri, bridge.dependency, bridge.key_prefix)
        loop = _running_loop()
        if loop is None:
            self._unbound = bridge
        else:
            self._bridges[loop] = bridge

    def _new_bridge(self) -> RedisBridge:
        assert self._template is not None, "set in __init__"
        kind, uri, dependency, key_prefix = self._template
        options = {**self.options, "connection_pool": self._new_pool()}
        bridge = kind(uri, dependency, key_prefix, **options)
        bridge.use_basic(**options)
        bridge.register_scripts()
        return bridge


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

"""One event loop's asyncio Redis client, and how to let it go once that loop is closed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref

import redis.asyncio

from ._slots import Slots

__all__ = ["LoopClient"]


class LoopClient:
    """One event loop's client and connection bound; the loop is referenced weakly."""

    __slots__ = ("client", "loop", "slots")

    def __init__(
        self,
        loop: weakref.ref[asyncio.AbstractEventLoop],
        client: redis.asyncio.Redis,
        slots: Slots,
    ) -> None:
        self.loop, self.client, self.slots = loop, client, slots

    def release(self) -> None:
        """Close the connections without awaiting (see ``_drop_loops``)."""
        loop = self.loop()
        if loop is not None and not loop.is_closed() and loop.is_running():
            with contextlib.suppress(RuntimeError):  # closed in the meantime
                asyncio.run_coroutine_threadsafe(self.client.aclose(), loop)
                return
        pool = self.client.connection_pool
        # redis-py has no synchronous close for asyncio connections: shut their sockets, so
        # the server lets them go now; the objects are collected with the pool.
        connections = [*pool._available_connections, *pool._in_use_connections]
        for connection in connections:
            writer = getattr(connection, "_writer", None)
            transport_socket = None if writer is None else writer.get_extra_info("socket")
            if transport_socket is not None:
                with contextlib.suppress(OSError):
                    transport_socket.shutdown(socket.SHUT_RDWR)
        pool.reset()  # type: ignore[no-untyped-call]

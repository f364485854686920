"""A bound on the commands in flight on one event loop's connection pool."""

from __future__ import annotations

import asyncio
import collections

__all__ = ["Slots"]


class Slots:
    """How many commands may be in flight on one event loop's pool.

    An ``asyncio.Semaphore`` would do, but entering it creates a coroutine on every command;
    here a free slot is taken with :meth:`take_nowait` (two attribute updates), and only a
    caller that finds none awaits :meth:`take`.
    """

    def __init__(self, size: int, timeout: float | None = None) -> None:
        self.size = size
        self.timeout = timeout
        self.free = size
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take_nowait(self) -> bool:
        """Take a slot if one is free (and nobody queues for one)."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting in line for one if none is free.

        Raises:
            TimeoutError: no slot came free within ``timeout`` seconds.
        """
        if self.take_nowait():
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except BaseException as exc:  # cancelled, or timed out
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot just as we gave up: pass it on
            if isinstance(exc, TimeoutError):
                raise TimeoutError(
                    f"no free connection within {self.timeout} s: all {self.size} "
                    "(max_connections) are busy"
                ) from None
            raise

    def give(self) -> None:
        """Return a slot: to the first caller still waiting, or to the free ones."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1

    async def __aenter__(self) -> None:
        await self.take()

    async def __aexit__(self, *exc_info: object) -> None:
        self.give()

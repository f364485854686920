"""One computation per key at a time in this process ("single flight"), for ``@cached`` misses.

The first caller of a missing key computes it; callers arriving meanwhile wait for that result
(or exception) instead of computing it again. Threads wait on a ``concurrent.futures.Future``;
coroutines await a shared task, shielded so that a cancelled caller does not cancel the others'
computation.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["AsyncFlights", "SyncFlights"]


class SyncFlights:
    """Single flight for threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, Future[Any]] = {}

    def run(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, or the result of the call already computing ``key``."""
        with self._lock:
            future = self._calls.get(key)
            leader = future is None
            if future is None:
                future = self._calls[key] = Future()
        if not leader:
            return future.result()
        try:
            result = compute()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self._lock:
                del self._calls[key]


class AsyncFlights:
    """Single flight for coroutines, per event loop."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[Any]] = {}

    async def run(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """``await compute()``, or the result of the task already computing ``key``."""
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        task = self._tasks.get(slot)
        if task is None:
            task = loop.create_task(_awaited(compute))
            self._tasks[slot] = task
            task.add_done_callback(lambda done: self._finished(slot, done))
        return await asyncio.shield(task)

    def _finished(
        self, slot: tuple[asyncio.AbstractEventLoop, str], task: asyncio.Task[Any]
    ) -> None:
        if self._tasks.get(slot) is task:
            del self._tasks[slot]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" when all left


async def _awaited(compute: Callable[[], Awaitable[Any]]) -> Any:
    return await compute()

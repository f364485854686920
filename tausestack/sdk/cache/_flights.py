"""One computation per key at a time in this process ("single flight"), for ``@cached`` misses.

The first caller of a missing key computes it; callers arriving meanwhile wait for that result
(or exception) instead of computing it again. Threads wait on a ``concurrent.futures.Future``;
coroutines await a shared task, shielded so that a cancelled caller does not cancel the others'
computation.

A call that would wait for itself — the function calling itself with the same arguments, from
its own thread or task (or a task it started, which inherits its context) — raises
CacheConfigurationError instead of hanging forever.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from .errors import CacheConfigurationError

__all__ = ["AsyncFlights", "SyncFlights"]

#: The (flights, key) pairs the current task is computing, inherited by the tasks it starts.
_COMPUTING: contextvars.ContextVar[frozenset[tuple[int, str]]] = contextvars.ContextVar(
    "tausestack_cache_computing", default=frozenset()
)


def _recursive(label: str, key: str) -> CacheConfigurationError:
    return CacheConfigurationError(
        f"Recursive call of {label} with the same key {key!r}: it was called again with the "
        "same arguments while computing them, and would wait for itself forever. Call the "
        f"undecorated function inside ({label.rpartition('.')[2]}.__wrapped__), or give the "
        "inner call other arguments."
    )


class SyncFlights:
    """Single flight for threads."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._lock = threading.Lock()
        self._calls: dict[str, tuple[Future[Any], int]] = {}

    def run(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, or the result of the call already computing ``key``.

        Raises:
            CacheConfigurationError: this thread is the one computing ``key``.
        """
        thread = threading.get_ident()
        with self._lock:
            call = self._calls.get(key)
            if call is None:
                future: Future[Any] = Future()
                self._calls[key] = (future, thread)
        if call is not None:
            if call[1] == thread:
                raise _recursive(self.label, key)
            return call[0].result()
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

    def __init__(self, label: str) -> None:
        self.label = label
        self._tasks: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[Any]] = {}

    async def run(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """``await compute()``, or the result of the task already computing ``key``.

        Raises:
            CacheConfigurationError: the caller is the task computing ``key`` (or one it
                started).
        """
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        task = self._tasks.get(slot)
        if task is None:
            mark = (id(self), key)
            task = loop.create_task(_awaited(compute, _COMPUTING.get() | {mark}))
            self._tasks[slot] = task
            task.add_done_callback(lambda done: self._finished(slot, done))
        elif (id(self), key) in _COMPUTING.get():
            raise _recursive(self.label, key)
        return await asyncio.shield(task)

    def _finished(
        self, slot: tuple[asyncio.AbstractEventLoop, str], task: asyncio.Task[Any]
    ) -> None:
        if self._tasks.get(slot) is task:
            del self._tasks[slot]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" when all left


async def _awaited(
    compute: Callable[[], Awaitable[Any]], computing: frozenset[tuple[int, str]]
) -> Any:
    _COMPUTING.set(computing)  # this task's own context: the callers' are not changed
    return await compute()

"""Keeping a backend lock alive while its holder computes: a watchdog that extends it.

A lock taken for ``@cached`` expires after ``lock_timeout`` so that a crashed holder cannot
block the others for ever; a holder that is still computing extends it every third of that
time (only while it still holds it: the extension checks the holder's token), so a long
computation is not joined by a second one when the first expiry comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

__all__ = ["arenewing", "renewing"]


@contextlib.contextmanager
def renewing(extend: Callable[[], bool], timeout: float) -> Iterator[None]:
    """Call ``extend()`` every ``timeout / 3`` seconds in a thread until the block ends, or
    until ``extend`` returns False (the lock is someone else's now) or fails."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(timeout / 3):
            try:
                if not extend():
                    return
            except Exception:  # the server is unreachable: the lock expires on its own
                return

    watchdog = threading.Thread(target=watch, name="tausestack-cache-lock", daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        stop.set()
        watchdog.join()


@contextlib.asynccontextmanager
async def arenewing(extend: Callable[[], Awaitable[bool]], timeout: float) -> AsyncIterator[None]:
    """Async twin of :func:`renewing`: a task on the running event loop."""

    async def watch() -> None:
        while True:
            await asyncio.sleep(timeout / 3)
            try:
                if not await extend():
                    return
            except Exception:  # the server is unreachable: the lock expires on its own
                return

    watchdog = asyncio.get_running_loop().create_task(watch())
    try:
        yield
    finally:
        # Not awaited: that could swallow a cancellation of the caller. An extension that
        # still reaches the server finds another token (or none) and changes nothing.
        watchdog.cancel()

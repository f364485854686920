"""Password hashing for the ``jwt`` backend, bounded: at most ``max_concurrent_hashes`` at once.

An argon2id hash (pwdlib's recommended parameters: m=64 MiB, t=3, p=4) takes about 64 MiB and
four threads of CPU for a fifth of a second, so a flood of logins on the shared thread pool
would take every thread from the other routes and grow memory by 64 MiB a login. Here every
hash or check takes a slot of a semaphore (sync callers: the CLI, application code), and async
callers run their password work on threads of their own (:meth:`PasswordHashing.run`): a login
that waits holds no thread of the shared pool, only a queued function.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pwdlib import PasswordHash

__all__ = ["PasswordHashing"]

T = TypeVar("T")

#: How much lower the hashing threads' CPU priority is (Linux nice increment).
NICENESS = 10


class PasswordHashing:
    """pwdlib's argon2 hasher, with at most ``limit`` hashes or checks running at once.

    ``active`` is how many run now and ``peak`` the most that ever ran at once (what tests and
    metrics read).

    Args:
        hasher: pwdlib's ``PasswordHash``.
        limit: hashes at once, in this process (``auth.jwt.max_concurrent_hashes``).
    """

    def __init__(self, hasher: PasswordHash, limit: int) -> None:
        self.hasher = hasher
        self.limit = limit
        self.active = 0
        self.peak = 0
        self._slots = threading.BoundedSemaphore(limit)
        self._count_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def hash(self, password: str) -> str:
        """The argon2 hash of ``password``."""
        with self._slot():
            return self.hasher.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        """Whether ``password`` matches ``hashed``."""
        with self._slot():
            return self.hasher.verify(password, hashed)

    def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a new hash when the parameters changed."""
        with self._slot():
            return self.hasher.verify_and_update(password, hashed)

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` (sync work that hashes: a login, a registration) on the hashing
        threads, so that waiting for a slot holds no thread of the shared pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads(), partial(function, *args, **kwargs))

    def close(self) -> None:
        """Stop the hashing threads (a later :meth:`run` starts new ones)."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _threads(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.limit,
                    thread_name_prefix="tausestack-passwords",
                    initializer=_lower_priority,
                )
            return self._executor

    @contextmanager
    def _slot(self) -> Iterator[None]:
        with self._slots:
            with self._count_lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                yield
            finally:
                with self._count_lock:
                    self.active -= 1


def _lower_priority() -> None:
    """Give this hashing thread (and argon2's lanes, which inherit it) a lower CPU priority,
    so that other requests come first when the CPUs are busy with logins (Linux: a nice
    value per thread, raised by ``NICENESS`` up to 19; elsewhere nothing)."""
    if sys.platform.startswith("linux"):  # elsewhere the id is not a thread's for setpriority
        thread = threading.get_native_id()
        with suppress(OSError):  # not allowed: as it is
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, current + NICENESS))

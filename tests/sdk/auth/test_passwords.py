"""``PasswordHashing``: at most ``limit`` hashes at once from sync callers and async ones
together; async callers wait on threads of its own, holding no thread of the shared pool."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import anyio
import anyio.to_thread
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from tausestack.sdk.auth._passwords import PasswordHashing, _lower_priority


class GatedHasher:
    """A hasher whose every hash waits for ``gate``, so that callers pile up at the limit."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.threads: set[str] = set()

    def hash(self, password: str) -> str:
        self.threads.add(threading.current_thread().name)
        self.gate.wait(timeout=30)
        return f"hashed:{password}"


def wait_for(condition: Any) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never held")


def test_sync_callers_never_hash_more_than_the_limit_at_once() -> None:
    hasher = GatedHasher()
    hashing = PasswordHashing(hasher, limit=2)  # type: ignore[arg-type]
    results: list[str] = []
    callers = [
        threading.Thread(target=lambda n=n: results.append(hashing.hash(f"p{n}"))) for n in range(6)
    ]
    for caller in callers:
        caller.start()
    wait_for(lambda: hashing.active == 2)
    assert len(hasher.threads) == 2  # the four others wait for a slot, not in the hasher
    hasher.gate.set()
    for caller in callers:
        caller.join(timeout=30)
    assert sorted(results) == [f"hashed:p{n}" for n in range(6)]
    assert (hashing.active, hashing.peak) == (0, 2)


@pytest.mark.anyio
async def test_async_callers_wait_holding_no_thread_of_the_shared_pool() -> None:
    hasher = GatedHasher()
    hashing = PasswordHashing(hasher, limit=2)  # type: ignore[arg-type]
    shared_pool = anyio.to_thread.current_default_thread_limiter()
    results: list[str] = []

    async def one(n: int) -> None:
        results.append(await hashing.run(hashing.hash, f"p{n}"))

    try:
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(one, n)
            await anyio.to_thread.run_sync(wait_for, lambda: hashing.active == 2)
            assert shared_pool.borrowed_tokens == 0  # the wait above is done: none borrowed
            assert hasher.threads <= {f"tausestack-passwords_{n}" for n in range(2)}
            hasher.gate.set()
    finally:
        hashing.close()
    assert len(results) == 20
    assert hashing.peak == 2


def test_real_argon2_hashes_verify() -> None:
    cheap = PasswordHash((Argon2Hasher(memory_cost=1024, time_cost=1, parallelism=1),))
    hashing = PasswordHashing(cheap, limit=1)
    hashed = hashing.hash("correct horse")
    assert hashing.verify("correct horse", hashed)
    assert hashing.verify_and_update("wrong", hashed) == (False, None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_hashing_threads_never_get_a_higher_priority_than_the_process() -> None:
    """Under ``nice -n 15`` the hashing threads go lower (19), not up to 10."""
    seen: list[int] = []

    def in_a_thread() -> None:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, 15)  # as if the server ran under nice -n 15
        _lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, tid))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [19]

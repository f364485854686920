"""Across processes: with ``distributed_lock`` one process computes a missing value, the others
wait for it and read it; without, every process computes. Real processes on a real Redis (and on
one disk cache folder). Then the lock's rules, with two caches standing for two processes: it is
renewed while its holder computes, ``clear()`` leaves it, and a caller that gave up waiting for
it checks the cache again before computing."""

import contextlib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tausestack.sdk.cache import Cache, MemoryCacheBackend, cached

PROCESSES = 4

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from tausestack import Settings
    from tausestack.sdk.cache import Cache, cached

    options = json.loads(sys.argv[1])
    cache = Cache(Settings(config_dir=options.pop("config_dir"), cache=options))

    @cached(cache=cache, namespace="report", ttl=60)
    def report() -> dict:
        cache.incr("computations", ttl=60)
        time.sleep(0.5)
        return {"total": 42}

    @cached(cache=cache, namespace="areport", ttl=60)
    async def areport() -> dict:
        await cache.aincr("computations", ttl=60)
        await asyncio.sleep(0.5)
        return {"total": 42}

    print("ready", flush=True)
    sys.stdin.readline()  # everyone starts together
    result = asyncio.run(areport()) if sys.argv[2] == "async" else report()
    print(json.dumps(result), flush=True)
    cache.close()
    """
)


def run_workers(options: dict[str, object], mode: str) -> list[str]:
    """Start the workers, release them at once, and return what each printed."""
    import json

    root = Path(__file__).parents[3]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(options), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            assert line == "ready", worker.communicate()[1]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            outputs.append(out.strip())
        return outputs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def computations(options: dict[str, object]) -> int:
    from tausestack import Settings
    from tausestack.sdk.cache import Cache

    settings = {key: value for key, value in options.items() if key != "config_dir"}
    cache = Cache(Settings(config_dir=options["config_dir"], cache=settings))
    try:
        return int(cache.get("computations", 0))
    finally:
        cache.close()


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "disk"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Cache settings that several processes share: one Redis, or one disk cache folder."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return {"config_dir": str(tmp_path), "backend": "redis", "redis": {"url": url}}
    return {"config_dir": str(tmp_path), "backend": "disk", "disk": {"directory": "shared"}}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_the_lock_one_process_computes(shared: dict[str, object], mode: str) -> None:
    outputs = run_workers({**shared, "distributed_lock": True}, mode)
    assert outputs == ['{"total": 42}'] * PROCESSES
    assert computations(shared) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_the_lock_every_process_computes(shared: dict[str, object], mode: str) -> None:
    outputs = run_workers({**shared, "distributed_lock": False}, mode)
    assert outputs == ['{"total": 42}'] * PROCESSES
    assert computations(shared) == PROCESSES


# -- the lock within one process: re-check, renewal, clear() ----------------------------------


def two_callers(
    settings: dict[str, object], seconds: float
) -> tuple[list[str], Callable[[], Any], Callable[[], Any], list[Cache]]:
    """Two caches on one backend and one ``@cached`` function on each, as two processes
    would have (each with its own per-process single flight)."""
    from tausestack import Settings

    runs: list[str] = []
    options = {key: value for key, value in settings.items() if key != "config_dir"}
    caches = [
        Cache(
            Settings(config_dir=settings["config_dir"], cache={**options, "distributed_lock": True})
        )
        for _ in range(2)
    ]

    def make(name: str, cache: Cache) -> Callable[[], Any]:
        @cached(cache=cache, namespace="report", ttl=60)
        def report() -> str:
            runs.append(name)
            COMPUTING.set()
            time.sleep(seconds)
            return "done"

        return report

    return runs, make("first", caches[0]), make("second", caches[1]), caches


#: Set when a ``two_callers`` function starts computing (it holds the lock then).
COMPUTING = threading.Event()


def run_both(first: Callable[[], Any], second: Callable[[], Any], delay: float) -> list[Any]:
    """Call ``first`` in a thread and ``second`` ``delay`` seconds after ``first`` started
    computing (timed from then, not from the thread's start, so a slow machine cannot shift
    the schedule)."""
    results: list[Any] = []
    COMPUTING.clear()
    thread = threading.Thread(target=lambda: results.append(first()))
    thread.start()
    assert COMPUTING.wait(timeout=30), "the first caller never started computing"
    time.sleep(delay)
    results.append(second())
    thread.join()
    return results


@pytest.fixture
def short_lock(shared: dict[str, object]) -> dict[str, object]:
    redis = dict(shared.get("redis", {}))  # type: ignore[call-overload]
    return {**shared, "redis": {**redis, "lock_timeout": 0.6}}


def test_a_lock_is_renewed_while_its_holder_computes(short_lock: dict[str, object]) -> None:
    # Without renewal the lock would expire 0.6 s into the computation; the second caller
    # arrives at 0.7 s, finds it still held, and waits (up to 0.6 s) until the result is stored
    # at 1.0 s.
    runs, first, second, caches = two_callers(short_lock, seconds=1.0)
    assert run_both(first, second, delay=0.7) == ["done", "done"]
    assert runs == ["first"]
    for cache in caches:
        cache.close()


def test_clear_leaves_a_held_lock(short_lock: dict[str, object]) -> None:
    runs, first, second, caches = two_callers(short_lock, seconds=0.5)

    def clear_then_call() -> Any:
        caches[1].clear()
        first_clear = second.cache_clear()  # type: ignore[attr-defined]
        assert first_clear == 0
        return second()

    assert run_both(first, clear_then_call, delay=0.2) == ["done", "done"]
    assert runs == ["first"]
    for cache in caches:
        cache.close()


class StoredWhileWaiting(MemoryCacheBackend):
    """A backend whose lock wait always times out, after another process stored the value."""

    def lock(self, name: str, timeout: float) -> AbstractContextManager[bool]:
        self.set(name.removeprefix("lock:"), b'"from the other process"', None)
        return contextlib.nullcontext(False)


def test_a_caller_that_gave_up_waiting_checks_the_cache_again(tmp_path: Path) -> None:
    from tausestack import Settings

    settings = Settings(config_dir=tmp_path, cache={"distributed_lock": True})
    cache = Cache(settings, StoredWhileWaiting())

    @cached(cache=cache, namespace="report")
    def report() -> str:
        return "computed here"

    assert report() == "from the other process"

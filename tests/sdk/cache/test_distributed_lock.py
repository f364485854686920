"""Across processes: with ``distributed_lock`` one process computes a missing value, the others
wait for it and read it; without, every process computes. Real processes on a real Redis (and on
one disk cache folder)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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

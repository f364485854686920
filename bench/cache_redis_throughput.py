"""``@cached`` hit throughput on Redis, next to raw redis-py ``GET`` on the same server.

What is measured: calls per second when every call is a hit, for

  sync    raw ``redis.Redis.get(key)`` versus a ``@cached`` ``def`` on the redis backend;
  async   raw ``redis.asyncio.Redis.get(key)`` versus a ``@cached`` ``async def``, one call at a
          time, and 32 concurrent tasks (``asyncio.gather``).

Both sides read the same value (a small JSON object, 57 bytes) from the same throwaway
``redis-server`` (started on a free loopback port as ``tests/servers.py`` does, persistence
off). The raw side uses redis-py's default client and pool and gets bytes back; the ``@cached``
side also builds the key from the arguments, decodes the JSON and counts the hit, which is the
cost being measured. It resolves the cache of the current app (inside ``sdk.use(container)``,
as in a request).

How: this process is pinned to CPU 0 and the server to CPU 1; after a warm-up, raw and
``@cached`` batches alternate (the side that goes first alternates too). Printed: the median
calls/s over the batches for each side, and the median over batches of the ratio between
neighbouring batches (the target is at least 0.9). Nothing is asserted.

Run: ``.venv/bin/python bench/cache_redis_throughput.py`` (about 1 minute; needs
``redis-server``; ``--help`` for options).
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio

from tausestack import Settings, create_app, sdk
from tausestack.sdk.cache import Cache, cached

REPO_ROOT = Path(__file__).resolve().parents[1]

CONCURRENCY = 32
VALUE = {"id": 42, "name": "Ada Lovelace", "email": "ada@example.com"}


@cached(ttl=3600, namespace="user")
def user(user_id: int) -> dict[str, Any]:
    return VALUE


@cached(ttl=3600, namespace="auser")
async def auser(user_id: int) -> dict[str, Any]:
    return VALUE


def measure_sync(raw: redis.Redis, key: str, batches: int, calls: int) -> dict[str, list[float]]:
    def run_raw() -> None:
        for _ in range(calls):
            raw.get(key)

    def run_cached() -> None:
        for _ in range(calls):
            user(42)

    return _alternate({"raw": run_raw, "cached": run_cached}, batches, calls, _time_sync)


def _time_sync(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


async def measure_async(
    raw: redis.asyncio.Redis, key: str, batches: int, calls: int, concurrency: int
) -> dict[str, list[float]]:
    async def run_raw() -> None:
        for _ in range(calls // concurrency):
            await raw.get(key)

    async def run_cached() -> None:
        for _ in range(calls // concurrency):
            await auser(42)

    async def timed(run: Callable[[], Awaitable[None]]) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(concurrency)))
        return time.perf_counter() - start

    sides = {"raw": run_raw, "cached": run_cached}
    for run in sides.values():
        await timed(run)  # warm-up, and opens the pools' connections
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for batch in range(batches):
        order = list(sides) if batch % 2 == 0 else list(reversed(sides))
        for name in order:
            timings[name].append(calls / await timed(sides[name]))
    return timings


def _alternate(
    sides: dict[str, Callable[[], None]], batches: int, calls: int, timer: Callable[..., float]
) -> dict[str, list[float]]:
    for run in sides.values():
        timer(run)  # warm-up
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for batch in range(batches):
        order = list(sides) if batch % 2 == 0 else list(reversed(sides))
        for name in order:
            timings[name].append(calls / timer(sides[name]))
    return timings


def report(title: str, timings: dict[str, list[float]]) -> None:
    raw, hit = timings["raw"], timings["cached"]
    paired = statistics.median(c / r for c, r in zip(hit, raw, strict=True))
    print(
        f"{title:<34} {statistics.median(raw):>10,.0f} {statistics.median(hit):>10,.0f} "
        f"{paired:>8.3f} {statistics.median(hit) / statistics.median(raw):>8.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=15, help="batches per side (15)")
    parser.add_argument("--calls", type=int, default=3200, help="calls per batch (3200)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin CPUs")
    options = parser.parse_args()
    pin = options.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1
    sys.path.insert(0, str(REPO_ROOT))
    from tests.servers import RedisServer

    with RedisServer() as server:
        if pin:
            os.sched_setaffinity(0, {0})
            assert server.process is not None
            os.sched_setaffinity(server.process.pid, {1})
        url = server.url()
        folder = Path(tempfile.mkdtemp(prefix="tausestack-bench-redis-"))
        app = create_app(
            Settings(config_dir=folder, cache={"backend": "redis", "redis": {"url": url}})
        )
        with sdk.use(app.container):
            cache: Cache = sdk.cache.current()
            user(42)
            raw = redis.Redis.from_url(url)
            key = "raw:user:42"
            raw.set(key, cache.encode(key, VALUE))
            print(f"redis-server {server.url()}; {options.batches} batches x {options.calls} calls")
            print(f"per side; pinned: {pin}\n")
            header = f"{'':<34} {'raw GET/s':>10} {'@cached/s':>10} {'paired':>8} {'medians':>8}"
            print(header)
            print("-" * len(header))
            sync = measure_sync(raw, key, options.batches, options.calls)
            report("sync, one call at a time", sync)

            async def run(concurrency: int) -> dict[str, list[float]]:
                client = redis.asyncio.Redis.from_url(url)
                try:
                    return await measure_async(
                        client, key, options.batches, options.calls, concurrency
                    )
                finally:
                    await client.aclose()
                    await cache.aclose()

            report("async, one call at a time", asyncio.run(run(1)))
            report(f"async, {CONCURRENCY} concurrent tasks", asyncio.run(run(CONCURRENCY)))
            cache.close()
    print("\npaired: median over batches of @cached/raw for neighbouring batches (the target is")
    print(">= 0.9); medians: ratio of the two median columns.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``@cached`` hit overhead on the memory backend, next to cachetools and cashews.

What is measured: nanoseconds per call of a decorated function whose result is already cached
(every call is a hit), for ``def`` and ``async def``, with two results: a small dict (annotated
``dict[str, Any]``, given back by ``orjson.loads`` and an ``isinstance`` check) and a pydantic
model (rebuilt by a ``TypeAdapter`` on each hit). Peers in the same run:

  def        undecorated call (the floor), ``functools.lru_cache``, ``cachetools.cached`` on a
             ``TTLCache`` without a lock (cachetools' default: not thread-safe, less work) and
             with ``lock=threading.Lock()`` (thread-safe, as TauseStack's memory backend is);
  async def  undecorated call (the floor), cashews ``@cache(ttl=...)`` on its in-memory backend.

TauseStack appears three times: with ``cache=`` given (no lookup of the app), resolving the
current app inside ``sdk.use(container)`` (what a request does: the app comes from a context
variable), and outside any app (``current_container()`` looks at the running apps, then a
default app).

The peers keep the object itself; TauseStack's memory backend stores bytes (JSON), like its
Redis and disk backends, so a hit decodes them: a fresh copy each time, and what works in
development works in production. That is most of the difference below.

How: one process pinned to CPU 0; for each variant a warm-up, then batches of calls in
interleaved, rotated order; the median ns/call over the batches; ratios to the peer and to the
floor. Nothing is asserted.

Run: ``.venv/bin/python bench/cache_hit_overhead.py`` (about 30 s; ``--help`` for options).
"""

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cachetools
from cashews import cache as cashews
from pydantic import BaseModel

from tausestack import Settings, create_app, sdk
from tausestack.sdk.cache import Cache, cached


class User(BaseModel):
    id: int
    name: str
    email: str


def as_dict(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "name": "Ada Lovelace", "email": "ada@example.com"}


def as_model(user_id: int) -> User:
    return User(id=user_id, name="Ada Lovelace", email="ada@example.com")


SHAPES = (("dict", as_dict, dict[str, Any]), ("model", as_model, User))


def function(body: Callable[[int], Any], returns: Any, name: str, asynchronous: bool) -> Any:
    """A new ``def``/``async def`` ``name(user_id)`` returning ``body(user_id)``, annotated
    ``-> returns``; each decorated variant gets its own, so their cache keys differ."""

    def sync_function(user_id: int) -> Any:
        return body(user_id)

    async def async_function(user_id: int) -> Any:
        return body(user_id)

    made = async_function if asynchronous else sync_function
    made.__annotations__["return"] = returns
    made.__name__ = made.__qualname__ = name
    return made


def sync_variants(explicit: Cache) -> dict[str, Callable[[int], Any]]:
    variants: dict[str, Callable[[int], Any]] = {}
    for shape, body, returns in SHAPES:
        new = functools.partial(function, body, returns, asynchronous=False)
        variants[f"{shape}: undecorated"] = new(f"{shape}_plain")
        variants[f"{shape}: functools.lru_cache"] = functools.lru_cache(1000)(new(f"{shape}_lru"))
        ttl_cache: cachetools.TTLCache[Any, Any] = cachetools.TTLCache(maxsize=1000, ttl=600)
        variants[f"{shape}: cachetools TTLCache"] = cachetools.cached(ttl_cache)(new("ct"))
        locked: cachetools.TTLCache[Any, Any] = cachetools.TTLCache(maxsize=1000, ttl=600)
        variants[f"{shape}: cachetools TTLCache+lock"] = cachetools.cached(
            locked, lock=threading.Lock()
        )(new("ct_locked"))
        variants[f"{shape}: TauseStack, cache="] = cached(cache=explicit, ttl=600)(
            new(f"{shape}_explicit")
        )
        variants[f"{shape}: TauseStack, current app"] = cached(ttl=600)(new(f"{shape}_app"))
    return variants


def async_variants(explicit: Cache) -> dict[str, Callable[[int], Any]]:
    variants: dict[str, Callable[[int], Any]] = {}
    for shape, body, returns in SHAPES:
        new = functools.partial(function, body, returns, asynchronous=True)
        variants[f"{shape}: undecorated"] = new(f"{shape}_async_plain")
        variants[f"{shape}: cashews mem://"] = cashews(ttl="10m", prefix=shape)(new("cashews"))
        variants[f"{shape}: TauseStack, cache="] = cached(cache=explicit, ttl=600)(
            new(f"{shape}_async_explicit")
        )
        variants[f"{shape}: TauseStack, current app"] = cached(ttl=600)(new(f"{shape}_async_app"))
    return variants


def measure_sync(
    variants: dict[str, Callable[[int], Any]], batches: int, calls: int
) -> dict[str, list[float]]:
    for function in variants.values():
        for _ in range(2000):
            function(1)
    return _rotate(variants, batches, lambda function: _time_sync(function, calls))


def _time_sync(function: Callable[[int], Any], calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        function(1)
    return (time.perf_counter_ns() - start) / calls


async def measure_async(
    variants: dict[str, Callable[[int], Any]], batches: int, calls: int
) -> dict[str, list[float]]:
    for function in variants.values():
        for _ in range(2000):
            await function(1)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for batch in range(batches):
        shift = batch % len(names)
        for name in names[shift:] + names[:shift]:
            function = variants[name]
            start = time.perf_counter_ns()
            for _ in range(calls):
                await function(1)
            timings[name].append((time.perf_counter_ns() - start) / calls)
    return timings


def _rotate(
    variants: dict[str, Any], batches: int, run: Callable[[Any], float]
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for batch in range(batches):
        shift = batch % len(names)
        for name in names[shift:] + names[:shift]:
            timings[name].append(run(variants[name]))
    return timings


def report(title: str, timings: dict[str, list[float]], peer: str) -> None:
    """One table: ns/call, the ratio to ``peer`` (a variant name after the shape), and the
    difference to the undecorated call."""
    print(f"\n{title} (ratio: to {peer})")
    header = f"{'variant':<40} {'ns/call':>8} {'ratio':>8} {'- floor':>8}"
    print(header)
    print("-" * len(header))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, median in medians.items():
        shape = name.split(":")[0]
        peer_median = medians.get(f"{shape}: {peer}")
        floor = medians[f"{shape}: undecorated"]
        ratio = f"{median / peer_median:>8.2f}" if peer_median else f"{'':>8}"
        print(f"{name:<40} {median:>8.0f} {ratio} {median - floor:>8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=15, help="batches per variant (15)")
    parser.add_argument("--calls", type=int, default=20000, help="calls per batch (20000)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to (0)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin to a CPU")
    options = parser.parse_args()
    if options.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {options.cpu})
    folder = Path(tempfile.mkdtemp(prefix="tausestack-bench-cache-"))
    app = create_app(Settings(config_dir=folder))
    explicit = Cache(Settings(config_dir=folder, cache={"key_prefix": "explicit:"}))
    cashews.setup("mem://")
    print(f"{options.batches} batches x {options.calls} calls per variant, interleaved; every call")
    print("is a hit. ratio: ns/call over the peer's; '- floor': ns/call minus the undecorated")
    print("call's (what the caching layer costs).")

    sync = sync_variants(explicit)
    with sdk.use(app.container):
        timings = measure_sync(sync, options.batches, options.calls)
    report(
        "def, inside sdk.use(app.container) (as in a request)", timings, "cachetools TTLCache+lock"
    )
    tausestack_only = {name: f for name, f in sync.items() if "current app" in name}
    tausestack_only |= {name: f for name, f in sync.items() if "undecorated" in name}
    outside = measure_sync(tausestack_only, max(3, options.batches // 3), options.calls)
    report("def, outside any app (the default app)", outside, "undecorated")

    variants = async_variants(explicit)

    async def run() -> dict[str, list[float]]:
        with sdk.use(app.container):
            return await measure_async(variants, options.batches, options.calls)

    report("async def, inside sdk.use(app.container)", asyncio.run(run()), "cashews mem://")
    return 0


if __name__ == "__main__":
    sys.exit(main())

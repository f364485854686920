"""Cross-check for ``http_overhead.py`` without sockets: framework CPU cost per request.

What is measured: the time to push one ``GET /users/42`` through each of the four apps of
``bench/http_apps/`` by calling the ASGI app directly (no server, no HTTP parsing, no network),
so the differences are the framework's own per-request cost. On a machine whose speed varies a
lot from second to second this is steadier than the HTTP numbers, but it overstates relative
differences: a real server adds its own fixed cost per request (uvicorn + h11 is several times
the framework's), which dilutes them.

How: one process (pinned to CPU 0 with ``os.sched_setaffinity``) imports the four apps,
warms each up, then runs batches of requests for each variant in interleaved, rotated order.
It prints the median microseconds per request over the batches, the ratio of requests per
second to (a), and the median of per-batch ratios to (a)'s neighbouring batch. Nothing is
asserted.

Run: ``.venv/bin/python bench/asgi_overhead.py`` (about 20 seconds; ``--help`` for options).
"""

import argparse
import asyncio
import importlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _asgi import get_scope  # bench/ is on sys.path when a script here runs

BENCH_DIR = Path(__file__).resolve().parent
VARIANTS = {
    "a": ("bare FastAPI (module-level wiring)", "http_apps.bare"),
    "b": ("FastAPI, 3-level async Depends chain", "http_apps.depends"),
    "c": ("TauseStack, 3 singletons deep", "http_apps.ts_singleton"),
    "d": ("TauseStack, + 1 request-scoped Inject", "http_apps.ts_request"),
    "e": ("TauseStack as (c), security headers and body limit off", "http_apps.ts_unguarded"),
}
PATH = "/users/42"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=15, help="batches per variant (15)")
    parser.add_argument("--requests", type=int, default=5000, help="requests per batch (5000)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to (0)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin to a CPU")
    options = parser.parse_args()
    if options.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {options.cpu})
    sys.path.insert(0, str(BENCH_DIR))
    apps = {key: importlib.import_module(module).app for key, (_, module) in VARIANTS.items()}
    print(f"{options.batches} batches x {options.requests} requests per variant, interleaved")
    timings = asyncio.run(measure(apps, options.batches, options.requests))
    print_summary(timings)
    return 0


async def measure(apps: dict[str, Any], batches: int, requests: int) -> dict[str, list[float]]:
    for app in apps.values():  # warm-up; also builds each app's middleware stack
        for _ in range(500):
            await call(app)
    keys = list(apps)
    timings: dict[str, list[float]] = {key: [] for key in keys}
    for batch in range(batches):
        shift = batch % len(keys)
        for key in keys[shift:] + keys[:shift]:
            app = apps[key]
            start = time.perf_counter()
            for _ in range(requests):
                await call(app)
            timings[key].append((time.perf_counter() - start) / requests * 1e6)
    return timings


async def call(app: Any) -> None:
    scope = get_scope(PATH)
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"GET {PATH} answered {status}")


def print_summary(timings: dict[str, list[float]]) -> None:
    base = timings["a"]
    base_median = statistics.median(base)
    header = f"{'variant':<42} {'us/req':>7} {'req/s':>8} {'vs (a)':>7} {'paired':>7}"
    print()
    print(header)
    print("-" * len(header))
    for key, values in timings.items():
        median = statistics.median(values)
        paired = statistics.median(a / v for v, a in zip(values, base, strict=True))
        label = f"({key}) {VARIANTS[key][0]}"
        print(
            f"{label:<42} {median:>7.1f} {1e6 / median:>8,.0f} "
            f"{base_median / median:>7.3f} {paired:>7.3f}"
        )
    print()
    print("vs (a): req/s ratio from the median us/req; paired: median over batches of the ratio")
    print("to (a)'s batch in the same rotation.")


if __name__ == "__main__":
    sys.exit(main())

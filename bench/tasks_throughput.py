"""Jobs per second through the ``redis`` tasks backend, next to taskiq used directly.

What is measured, for each side, in rounds that alternate (the side that goes first alternates
too): ``--jobs`` jobs of a trivial ``async`` task (``noop(i) -> i``) are enqueued from this
process, ``--concurrency`` at a time, while one worker process runs them with
``--concurrency`` jobs at once. Printed per side: jobs enqueued per second (first enqueue to
last) and jobs completed per second (first enqueue until every job is acknowledged, which on
both sides happens after its result is stored), the medians over the rounds, and the median of
the per-round ratios TauseStack / taskiq (the target is at least 0.9). Nothing is asserted.

The two sides:

  taskiq      taskiq-redis's ``RedisStreamBroker`` with its ``RedisAsyncResultBackend``
              (results kept a day), tasks sent with ``noop.kiq(i)``, run by ``taskiq worker
              module:broker --workers 1 --max-async-tasks N`` (acknowledged once the result is
              saved, taskiq's default);
  tausestack  ``await tasks.aenqueue(noop, i)`` in an app on ``tasks.backend: redis``, run by
              ``tausestack worker --concurrency N``: a status record per job (queued, running,
              succeeded with its result, kept ``result_ttl``), written with the enqueue, when
              the attempt starts, and with the acknowledgement.

Same Redis (a throwaway ``redis-server`` on a free loopback port, persistence off, as
``tests/servers.py`` starts it), same redis-py, one worker process each, a fresh queue per
round. Completion is read from the stream's consumer group (``XINFO GROUPS``: entries read and
none pending). On a machine with two CPUs or more the worker runs on CPU 1, this process and
Redis on CPU 0.

Run: ``.venv/bin/python bench/tasks_throughput.py`` (about two minutes; needs ``redis-server``;
``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TASKIQ_APP = """
import os

from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

URL, QUEUE = os.environ["BENCH_REDIS_URL"], os.environ["BENCH_QUEUE"]
broker = RedisStreamBroker(URL, queue_name=QUEUE).with_result_backend(
    RedisAsyncResultBackend(URL, result_ex_time=86_400)
)


@broker.task(task_name="noop")
async def noop(i: int) -> int:
    return i
"""

TAUSESTACK_TASKS = """
from tausestack.sdk.tasks import task


@task(name="noop")
async def noop(i: int) -> int:
    return i
"""


def write_projects(folder: Path, url: str) -> None:
    (folder / "taskiq_app.py").write_text(TASKIQ_APP)
    app = folder / "benchapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "tasks.py").write_text(TAUSESTACK_TASKS)
    (folder / "main.py").write_text("from tausestack import create_app\n\napp = create_app()\n")


def settings_yaml(url: str, queue: str) -> str:
    return textwrap.dedent(
        f"""
        installed_apps: [benchapp]
        tasks:
          backend: redis
          redis: {{url: "{url}", queue: "{queue}"}}
        """
    )


def start_worker(side: str, folder: Path, url: str, queue: str, concurrency: int, pin: bool) -> Any:
    environment = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_QUEUE": queue}
    if side == "taskiq":
        command = [
            str(Path(sys.executable).with_name("taskiq")),
            "worker",
            "taskiq_app:broker",
            "--workers",
            "1",
            "--max-async-tasks",
            str(concurrency),
            "--log-level",
            "WARNING",
        ]
    else:
        (folder / "application.yaml").write_text(settings_yaml(url, queue))
        command = [
            sys.executable, "-m", "tausestack", "worker", "--concurrency", str(concurrency)
        ]  # fmt: skip
    if pin:
        command = ["taskset", "-c", "1", *command]
    return subprocess.Popen(
        command,
        cwd=folder,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_group(client: redis.Redis, queue: str, process: Any) -> str:
    """Wait until the worker declared its consumer group; return the group's name."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the worker exited with {process.returncode}")
        try:
            groups: Any = client.xinfo_groups(queue)
        except redis.ResponseError:
            groups = []
        if groups:  # declared by the worker as it starts (Redis 7.0 lists no consumer yet)
            return str(groups[0]["name"].decode())
        time.sleep(0.05)
    raise SystemExit("the worker did not start within 60 s")


async def wait_until_done(client: Any, queue: str, group: str, jobs: int) -> None:
    while True:
        infos = await client.xinfo_groups(queue)
        info = next(info for info in infos if info["name"].decode() == group)
        if info["entries-read"] >= jobs and info["pending"] == 0:
            return
        await asyncio.sleep(0.002)


async def run_round(
    side: str, folder: Path, url: str, round_number: int, options: argparse.Namespace, pin: bool
) -> tuple[float, float]:
    """One round of one side: (jobs enqueued per second, jobs completed per second)."""
    import redis.asyncio

    queue = f"bench:{side}:{round_number}"
    worker = start_worker(side, folder, url, queue, options.concurrency, pin)
    sync_client = redis.Redis.from_url(url)
    client = redis.asyncio.Redis.from_url(url)
    try:
        group = wait_for_group(sync_client, queue, worker)
        enqueue, stop = await client_for(side, folder, url, queue)
        try:
            started = time.perf_counter()
            await in_chunks(enqueue, options.jobs, options.concurrency)
            enqueued = time.perf_counter()
            await wait_until_done(client, queue, group, options.jobs)
            done = time.perf_counter()
        finally:
            await stop()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:  # taskiq's process manager may outwait SIGTERM
            worker.kill()
            worker.wait()
        await client.aclose()
        sync_client.close()
    return options.jobs / (enqueued - started), options.jobs / (done - started)


async def client_for(
    side: str, folder: Path, url: str, queue: str
) -> tuple[Callable[[int], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    """How this process enqueues a job on ``side``, and how it lets go of its connections."""
    if side == "taskiq":
        os.environ["BENCH_REDIS_URL"], os.environ["BENCH_QUEUE"] = url, queue
        sys.modules.pop("taskiq_app", None)
        import taskiq_app  # type: ignore[import-not-found]

        broker = taskiq_app.broker
        await broker.startup()

        async def kick(i: int) -> Any:
            return await taskiq_app.noop.kiq(i)

        return kick, broker.shutdown
    from tausestack import Settings, create_app
    from tausestack.sdk.tasks import Tasks

    (folder / "application.yaml").write_text(settings_yaml(url, queue))
    app = create_app(Settings(config_dir=folder))
    await app.container.start()
    tasks = app.container.get(Tasks)

    async def enqueue(i: int) -> Any:
        return await tasks.aenqueue("noop", i)

    return enqueue, app.container.stop


async def in_chunks(call: Callable[[int], Awaitable[Any]], jobs: int, width: int) -> None:
    for start in range(0, jobs, width):
        await asyncio.gather(*(call(i) for i in range(start, min(start + width, jobs))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per round (5000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side (5)")
    parser.add_argument("--concurrency", type=int, default=32, help="jobs at once (32)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin CPUs")
    options = parser.parse_args()

    from tests.servers import RedisServer

    pin = options.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1
    with RedisServer() as server, tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sys.path.insert(0, str(folder))
        write_projects(folder, server.url())
        if pin:
            os.sched_setaffinity(0, {0})
            assert server.process is not None
            os.sched_setaffinity(server.process.pid, {0})
        print(
            f"redis-server {server.url()}; {options.rounds} rounds x {options.jobs} jobs, "
            f"concurrency {options.concurrency}, one worker" + (", pinned" if pin else "")
        )
        results: dict[str, list[tuple[float, float]]] = {"taskiq": [], "tausestack": []}
        for round_number in range(options.rounds + 1):  # round 0 warms up
            sides = ["taskiq", "tausestack"]
            if round_number % 2:
                sides.reverse()
            for side in sides:
                measured = asyncio.run(
                    run_round(side, folder, server.url(), round_number, options, pin)
                )
                if round_number:
                    results[side].append(measured)
                    print(f"  round {round_number} {side:10} enqueue {measured[0]:8.0f}/s  "
                          f"completed {measured[1]:8.0f}/s")  # fmt: skip
        report(results)


def report(results: dict[str, list[tuple[float, float]]]) -> None:
    print()
    print(f"{'':12}{'enqueued/s':>12}{'completed/s':>14}")
    for side, rounds in results.items():
        enqueue = statistics.median(item[0] for item in rounds)
        complete = statistics.median(item[1] for item in rounds)
        print(f"{side:12}{enqueue:12.0f}{complete:14.0f}")
    pairs = list(zip(results["tausestack"], results["taskiq"], strict=True))
    enqueue_ratio = statistics.median(ours[0] / theirs[0] for ours, theirs in pairs)
    complete_ratio = statistics.median(ours[1] / theirs[1] for ours, theirs in pairs)
    print(f"{'ratio':12}{enqueue_ratio:12.2f}{complete_ratio:14.2f}   (tausestack / taskiq)")


if __name__ == "__main__":
    main()

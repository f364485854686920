"""The ``memory`` backend: asyncio workers inside the application's process.

No external service: jobs wait in an asyncio queue, delayed ones and retries in a heap, and
``tasks.concurrency`` workers run them on the app's event loop (sync tasks in threads). They
start and stop with the application. Queued jobs do not survive the process: use the
``redis`` backend for work that must not be lost, or that must run on other machines.
Status records are kept for the ``tasks.memory.max_jobs`` most recently finished jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ._jobs import JobInfo, JobRequest, record_to_info
from ._runner import JobRunner, settle
from ._schedule import CronClock
from .base import AbstractTaskBackend
from .errors import TasksNotRunningError

if TYPE_CHECKING:
    from ...settings import Settings

__all__ = ["MemoryTaskBackend"]

#: Longest sleep of the scheduler when nothing is due (new delayed jobs wake it at once).
IDLE_SLEEP = 60.0


class MemoryTaskBackend(AbstractTaskBackend):
    """Jobs in this process, run by asyncio workers on the application's event loop."""

    name = "memory"
    runs_in_app = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, str]] = {}
        self._requests: dict[str, JobRequest] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[str] | None = None
        self._delayed: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._wake: asyncio.Event | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None]] = set()
        self._scheduler: asyncio.Task[None] | None = None
        self._runner: JobRunner | None = None
        self._stopping = False

    async def start(self, runner: JobRunner) -> None:
        """Start the workers and the scheduler on the running event loop."""
        self._runner = runner
        self._stopping = False
        self._queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self._workers = [
            asyncio.create_task(self._work(), name=f"tausestack-tasks-{index}")
            for index in range(self.settings.concurrency)
        ]
        self._scheduler = asyncio.create_task(self._schedule(runner), name="tausestack-cron")
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop taking jobs; give running ones ``tasks.shutdown_timeout`` to finish. Jobs that
        never started are marked failed (this backend keeps nothing across restarts)."""
        with self._lock:  # from here on, enqueue refuses jobs
            if self._loop is None:
                return
            self._loop = None
        self._stopping = True  # a worker that finishes its job takes no other
        tasks = [*self._workers, *([self._scheduler] if self._scheduler else [])]
        running = set(self._busy)
        for task in tasks:
            if task not in running:
                task.cancel()
        if running:
            await asyncio.wait(running, timeout=self.settings.shutdown_timeout)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers, self._scheduler = [], None
        leftovers = [job_id for _, _, job_id in self._delayed]
        while self._queue is not None and not self._queue.empty():
            leftovers.append(self._queue.get_nowait())
        with self._lock:
            self._delayed.clear()
        for job_id in leftovers:
            error = "TasksNotRunningError: the application stopped before the job started"
            self._update(
                job_id,
                {"status": "failed", "error": error, "finished_at": repr(time.time())},
                finished=True,
            )

    # -- enqueueing -------------------------------------------------------------------------

    def enqueue(self, job: JobRequest) -> None:
        # Under the lock: a stop in another thread either comes first (the job is refused)
        # or finds the job queued and marks it failed; it never leaves it queued forever.
        with self._lock:
            loop = self._loop
            if loop is None:
                raise TasksNotRunningError(
                    f"Cannot enqueue task {job.task!r}: the memory tasks backend runs jobs on "
                    "the application's event loop, and the application is not running. Start "
                    "it (serve it, or `with TestClient(app)` in tests), or use tasks.backend: "
                    "redis."
                )
            try:
                loop.call_soon_threadsafe(self._admit, job.id, job.run_at)
            except RuntimeError:  # closed: the loop ended without the app's shutdown
                raise TasksNotRunningError(
                    f"Cannot enqueue task {job.task!r}: the event loop the application ran on "
                    "is closed (it ended without the application's shutdown, which stops the "
                    "memory tasks backend). Start the application again, and let it shut "
                    "down (the lifespan, or `with TestClient(app)`)."
                ) from None
            self._records[job.id] = job.record()
            self._requests[job.id] = job

    async def aenqueue(self, job: JobRequest) -> None:
        self.enqueue(job)

    def _admit(self, job_id: str, run_at: float | None) -> None:
        """Queue the job now, or put it in the heap until ``run_at`` (on the loop)."""
        if run_at is None or run_at <= time.time():
            assert self._queue is not None
            self._queue.put_nowait(job_id)
            return
        heapq.heappush(self._delayed, (run_at, next(self._order), job_id))
        if self._wake is not None:
            self._wake.set()

    # -- status -----------------------------------------------------------------------------

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._lock:
            record = self._records.get(job_id)
            return record_to_info(record) if record is not None else None

    async def aget_job(self, job_id: str) -> JobInfo | None:
        return self.get_job(job_id)

    # -- running ----------------------------------------------------------------------------

    async def _work(self) -> None:
        assert self._queue is not None
        current = asyncio.current_task()
        assert current is not None
        while not self._stopping:
            job_id = await self._queue.get()
            self._busy.add(current)
            try:
                await self._attempt(job_id)
            finally:
                self._busy.discard(current)

    async def _attempt(self, job_id: str) -> None:
        runner = self._runner
        assert runner is not None
        with self._lock:
            record, job = self._records.get(job_id), self._requests.get(job_id)
            if record is None or job is None:
                return
            attempts = int(record["attempts"]) + 1
            record.update(status="running", attempts=str(attempts), started_at=repr(time.time()))
        try:
            outcome = await runner.run(job.task, job.args, job.kwargs, job_id)
        except asyncio.CancelledError:
            self._update(
                job_id,
                {
                    "status": "failed",
                    "error": "CancelledError: the application stopped before the job finished",
                    "finished_at": repr(time.time()),
                },
                finished=True,
            )
            raise
        settlement = settle(runner, job.task, attempts, outcome, time.time())
        self._update(job_id, settlement.fields, finished=settlement.finished)
        if settlement.retry_at is not None:
            self._admit(job_id, settlement.retry_at)

    def _update(self, job_id: str, fields: dict[str, str], *, finished: bool) -> None:
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                return
            record.update(fields)
            if not finished:
                return
            self._requests.pop(job_id, None)
            self._finished[job_id] = None
            while len(self._finished) > self.settings.memory.max_jobs:
                forgotten, _ = self._finished.popitem(last=False)
                self._records.pop(forgotten, None)

    async def _schedule(self, runner: JobRunner) -> None:
        """Move due delayed jobs to the queue and fire cron schedules."""
        assert self._wake is not None
        assert self._queue is not None
        clock = CronClock(runner.schedules, datetime.now(UTC))
        while True:
            now = time.time()
            while self._delayed and self._delayed[0][0] <= now:
                _, _, job_id = heapq.heappop(self._delayed)
                self._queue.put_nowait(job_id)
            for name, _ in clock.due(datetime.fromtimestamp(now, UTC)):
                self.enqueue(JobRequest(task=name, args=[], kwargs={}))
            upcoming = [self._delayed[0][0]] if self._delayed else []
            cron_next = clock.next_time()
            if cron_next is not None:
                upcoming.append(cron_next.timestamp())
            sleep = min(upcoming, default=now + IDLE_SLEEP) - time.time()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(sleep, 0.0)):
                    await self._wake.wait()

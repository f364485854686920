"""The redis backend does not lose or double-run a job when Redis refuses a command or the
worker stops mid-job, and the memory backend refuses jobs it could never run."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

import tausestack.sdk.tasks.redis
from tausestack.sdk.tasks import JobStatus, Tasks, TasksBackendError, TasksNotRunningError, task
from tausestack.sdk.tasks._jobs import JobRequest
from tausestack.sdk.tasks._redis_broker import ACK, StreamBroker
from tausestack.sdk.tasks.redis import ENQUEUE, START
from tests.processes import free_port
from tests.sdk.tasks.support import build, started, with_worker, worker
from tests.servers import RedisServer

RUNS: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_runs() -> None:
    RUNS.clear()


@task
async def note(tag: str) -> str:
    RUNS.append(tag)
    return tag


@task
async def linger(seconds: float) -> str:
    RUNS.append("started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        RUNS.append("cancelled")
        raise
    RUNS.append("finished")
    return "lingered"


@task
async def stubborn(seconds: float) -> str:
    RUNS.append("started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        RUNS.append("ignored the cancellation")
        await asyncio.sleep(seconds)
    return "done anyway"


@task
async def work(number: int, seconds: float) -> int:
    RUNS.append(f"{number} started")
    await asyncio.sleep(seconds)
    return number


@task
async def brief(seconds: float) -> str:
    RUNS.append("started")
    await asyncio.sleep(seconds)
    return "done"


@task
def plod(seconds: float) -> str:
    RUNS.append("started")
    time.sleep(seconds)  # a thread: a cancellation cannot stop it
    RUNS.append("finished")
    return "plodded"


async def until(condition: Any, timeout: float = 10) -> None:
    """Poll ``condition()`` (sync or async) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


async def stop_while_another_worker_runs(app: Any, task: Any, *args: Any) -> Any:
    """Start a job of ``task`` on a first worker; once it is running, stop that worker while
    a second one runs. The job's status when the first worker has stopped, and 1.5 s later
    (the second worker would have taken the job by then, were it let go)."""
    async with started(app) as tasks, worker(tasks) as first:
        job_id = await tasks.aenqueue(task, *args)
        await until(lambda: RUNS)
        async with worker(tasks):
            await first.stop()
            when_stopped = await tasks.aget_job(job_id)
            await asyncio.sleep(1.5)
            return when_stopped, await tasks.aget_job(job_id)


@pytest.mark.redis
def test_a_job_whose_start_redis_refused_runs_later(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker could not mark the job running (Redis refused the command): the job must
    stay on the stream and run once Redis takes it, not be acknowledged and lost."""
    settings = {"backend": "redis", "redis": {"url": redis_url, "redelivery_timeout": 1}}
    caplog.set_level(logging.WARNING)

    async def scenario(tasks: Tasks) -> Any:
        client = redis.asyncio.Redis.from_url(redis_url)
        job_id = await tasks.aenqueue(note, "kept", delay=1)
        key = tasks.backend.record_key(job_id)
        record = await client.hgetall(key)
        await client.delete(key)
        await client.set(key, "not a hash")  # the worker's HGET/HSET on it fail: WRONGTYPE
        await until(lambda: "WRONGTYPE" in caplog.text)
        await client.delete(key)
        await client.hset(key, mapping=record)
        job = await tasks.await_job(job_id, timeout=15)  # reclaimed after redelivery_timeout
        left = await client.xlen(tasks.backend.queue)
        await client.aclose()
        return job, left

    job, left = asyncio.run(with_worker(build(tmp_path, note, **settings), scenario))
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == "kept"
    assert job.attempts == 1  # the refused start was not an attempt
    assert RUNS == ["kept"]
    assert left == 0


@pytest.mark.redis
def test_a_job_past_the_shutdown_timeout_is_interrupted_and_handed_back(
    tmp_path: Path, redis_url: str
) -> None:
    """After shutdown_timeout the running job is cancelled before it goes back to the queue,
    so the next worker runs it alone (not while the first one still runs it)."""
    settings = {
        "backend": "redis",
        "shutdown_timeout": 0.3,
        # Long: a job handed back at the stop must not wait for the redelivery.
        "redis": {"url": redis_url, "redelivery_timeout": 60},
    }
    app = build(tmp_path, linger, **settings)

    async def scenario() -> Any:
        async with started(app) as tasks, redis.asyncio.Redis.from_url(redis_url) as client:
            async with worker(tasks):
                job_id = await tasks.aenqueue(linger, 1.5)
                await until(lambda: RUNS == ["started"])
            # The first worker has stopped: its job was interrupted, and is queued again.
            after_stop = (list(RUNS), await tasks.aget_job(job_id))
            pending = await client.xpending(tasks.backend.queue, "tausestack-workers")
            async with worker(tasks):
                job = await tasks.await_job(job_id, timeout=15)
            return after_stop, pending["pending"], job

    (runs, queued), pending, job = asyncio.run(scenario())
    assert runs == ["started", "cancelled"]
    assert queued is not None
    assert queued.status is JobStatus.QUEUED
    assert pending == 0  # back on the stream at once, not left for the redelivery
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts == 2  # the interrupted attempt counts
    assert RUNS == ["started", "cancelled", "started", "finished"]


@pytest.mark.redis
def test_a_job_that_ignores_its_interruption_is_waited_for(
    tmp_path: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job still running after it was cancelled at the stop is not handed back to run
    elsewhere meanwhile: the worker waits for it, renewing its claim, and stores its
    outcome."""
    settings = {
        "backend": "redis",
        "shutdown_timeout": 0.2,
        "redis": {"url": redis_url, "redelivery_timeout": 1},
    }
    # The job outlives the grace an interrupted job gets (and two redelivery timeouts).
    monkeypatch.setattr(tausestack.sdk.tasks.redis, "CLOSE_TIMEOUT", 0.3)
    app = build(tmp_path, stubborn, **settings)
    caplog.set_level(logging.WARNING)

    when_stopped, later = asyncio.run(stop_while_another_worker_runs(app, stubborn, 2.5))
    assert RUNS == ["started", "ignored the cancellation"]
    assert when_stopped is not None
    assert (when_stopped.status, when_stopped.result) == (JobStatus.SUCCEEDED, "done anyway")
    assert when_stopped.attempts == 1
    assert later == when_stopped
    assert "Waiting for job(s)" in caplog.text


@pytest.mark.redis
def test_a_sync_job_past_the_shutdown_timeout_finishes_in_its_worker(
    tmp_path: Path, redis_url: str
) -> None:
    """A sync task's thread cannot be interrupted: the stopping worker waits for it, stores
    its outcome, and renews its claim meanwhile, so another worker running by then does not
    take the job."""
    settings = {
        "backend": "redis",
        "shutdown_timeout": 0.3,
        "redis": {"url": redis_url, "redelivery_timeout": 1},
    }
    app = build(tmp_path, plod, **settings)

    when_stopped, later = asyncio.run(stop_while_another_worker_runs(app, plod, 2.5))
    assert when_stopped is not None
    assert when_stopped.status is JobStatus.SUCCEEDED
    assert when_stopped.attempts == 1
    assert later == when_stopped
    assert RUNS == ["started", "finished"]


@pytest.mark.redis
def test_jobs_read_in_a_batch_are_kept_while_they_wait_for_a_slot(
    tmp_path: Path, redis_url: str
) -> None:
    """Jobs a worker has read are renewed until they start, so a worker that comes along
    does not take one as idle and run it while the first worker runs it as well (read more
    jobs than free slots, job 3 waited unrenewed and ran twice)."""
    settings = {"backend": "redis", "redis": {"url": redis_url, "redelivery_timeout": 1}}
    app = build(tmp_path, work, **settings)

    async def scenario() -> Any:
        async with started(app) as tasks:
            # 0 and 1 run at once. When 0 ends (1 s), the worker reads 2 and 3 together and
            # starts 2; 3 waits for a slot until 4 s, well past redelivery_timeout, while the
            # other worker looks for idle jobs every half second.
            seconds = [1.0, 5.0, 3.0, 2.0]
            ids = [await tasks.aenqueue(work, number, s) for number, s in enumerate(seconds)]
            async with worker(tasks, concurrency=2):
                await until(lambda: "2 started" in RUNS)  # 3 was read with it
                async with worker(tasks, concurrency=2):
                    return [await tasks.await_job(job_id, timeout=30) for job_id in ids]

    jobs = asyncio.run(scenario())
    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 4
    assert [job.attempts for job in jobs] == [1, 1, 1, 1]
    assert sorted(RUNS) == ["0 started", "1 started", "2 started", "3 started"]


@pytest.mark.redis
def test_a_worker_reads_no_more_jobs_than_it_can_start(tmp_path: Path, redis_url: str) -> None:
    """A job does not wait in a busy worker's hands while another worker is idle: a worker
    with one free slot reads one job."""
    settings = {"backend": "redis", "redis": {"url": redis_url}}
    app = build(tmp_path, work, **settings)

    async def scenario() -> Any:
        async with started(app) as tasks, worker(tasks, concurrency=2):
            first = [await tasks.aenqueue(work, n, s) for n, s in enumerate([0.5, 3.0])]
            await until(lambda: len(RUNS) == 2)
            long_one = await tasks.aenqueue(work, 2, 3.0)
            short_one = await tasks.aenqueue(work, 3, 0.1)
            await until(lambda: "2 started" in RUNS)  # the slot of job 0, free at 0.5 s
            async with worker(tasks, concurrency=2):  # idle: the short job is for it
                short = await tasks.await_job(short_one, timeout=10)
                busy = [await tasks.aget_job(job_id) for job_id in [first[1], long_one]]
                return short, busy

    short, busy = asyncio.run(scenario())
    assert short.status is JobStatus.SUCCEEDED
    assert [job.status for job in busy] == [JobStatus.RUNNING, JobStatus.RUNNING]


@pytest.mark.redis
def test_a_live_worker_keeps_a_job_that_runs_past_the_redelivery_timeout(
    tmp_path: Path, redis_url: str
) -> None:
    """The worker running a long job renews its claim: the other worker, looking for jobs
    idle past redelivery_timeout, does not take it."""
    settings = {"backend": "redis", "redis": {"url": redis_url, "redelivery_timeout": 1}}
    app = build(tmp_path, linger, **settings)

    async def scenario() -> Any:
        async with started(app) as tasks, worker(tasks), worker(tasks):
            return await tasks.await_job(await tasks.aenqueue(linger, 3.0), timeout=20)

    job = asyncio.run(scenario())
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert RUNS == ["started", "finished"]


@pytest.mark.redis
def test_an_outcome_is_stored_once_redis_is_back(tmp_path: Path, own_redis: RedisServer) -> None:
    """Redis restarts while a job runs, and stays down longer than redis-py's own retries:
    the worker keeps its job and stores the outcome once Redis is back, instead of losing it
    and running the job a second time."""
    settings = {"backend": "redis", "redis": {"url": own_redis.url(), "redelivery_timeout": 2}}
    app = build(tmp_path, brief, **settings)

    async def scenario() -> Any:
        async with started(app) as tasks, worker(tasks):
            job_id = await tasks.aenqueue(brief, 1.0)
            await until(lambda: RUNS == ["started"])
            await asyncio.to_thread(own_redis.restart, down_for=3.0)
            # The app's own connection, closed by the restart, is replaced on the spot.
            return await tasks.await_job(job_id, timeout=30)

    job = asyncio.run(scenario())
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, "done")
    assert job.attempts == 1
    assert RUNS == ["started"]


@pytest.mark.redis
def test_an_outcome_redis_refuses_for_a_while_is_stored_later(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    """Redis refuses writes for a while when the job ends (made a replica, as after a
    failover: READONLY): the worker keeps the job, stores its outcome once Redis takes writes
    again, and keeps working (it does not stop on the refusals of its reads)."""
    settings = {"backend": "redis", "redis": {"url": own_redis.url(), "redelivery_timeout": 1}}
    app = build(tmp_path, brief, **settings)

    async def scenario() -> Any:
        async with (
            started(app) as tasks,
            redis.asyncio.Redis.from_url(own_redis.url()) as admin,
            worker(tasks),
        ):
            job_id = await tasks.aenqueue(brief, 0.5)
            await until(lambda: RUNS == ["started"])
            await admin.replicaof("127.0.0.1", free_port())  # a primary that never answers
            await asyncio.sleep(2.0)  # the job ended, its outcome refused
            await admin.replicaof("NO", "ONE")
            job = await tasks.await_job(job_id, timeout=15)
            again = await tasks.await_result(await tasks.aenqueue(brief, 0.1), timeout=15)
            return job, again

    job, again = asyncio.run(scenario())
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, "done", 1)
    assert again == "done"  # the worker kept going
    assert RUNS == ["started", "started"]


@pytest.mark.redis
def test_a_busy_worker_finds_a_dead_workers_job_behind_running_ones(
    tmp_path: Path, redis_url: str
) -> None:
    """A dead worker's job is found wherever it is among the pending ones: here behind
    eleven jobs other workers are running, by a worker with one free slot."""
    settings = {"backend": "redis", "redis": {"url": redis_url, "redelivery_timeout": 1}}
    app = build(tmp_path, work, **settings)

    async def scenario() -> Any:
        async with (
            started(app) as tasks,
            redis.asyncio.Redis.from_url(redis_url) as client,
            worker(tasks, concurrency=11),
        ):
            running = [await tasks.aenqueue(work, number, 4.0) for number in range(11)]
            await until(lambda: len(RUNS) == 11)
            orphan = await tasks.aenqueue(work, 99, 0.0)
            # A worker that read it and died: its entry stays pending under its name.
            await client.xreadgroup(
                "tausestack-workers", "dead-worker", {tasks.backend.queue: ">"}, count=1
            )
            async with worker(tasks, concurrency=1):
                job = await tasks.await_job(orphan, timeout=10)
                still = [await tasks.aget_job(job_id) for job_id in running]
            return job, still

    job, still = asyncio.run(scenario())
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, 99)
    assert {other.status for other in still} == {JobStatus.RUNNING}  # found before they ended


@pytest.mark.redis
def test_enqueue_and_start_change_nothing_when_run_twice(tmp_path: Path, redis_url: str) -> None:
    """What a command retried after its reply was lost does: the job is queued once, and an
    attempt started once (a second START with another token is a new attempt)."""
    app = build(tmp_path, note, backend="redis", redis={"url": redis_url})
    tasks = app.container.get(Tasks)
    backend: Any = tasks.backend
    client = backend._sync
    job = JobRequest(task=note.name, args=["twice"], kwargs={})
    for _ in range(2):
        ENQUEUE.run(client, *backend._enqueue_call(job))
    assert client.xlen(backend.queue) == 1

    async def start(token: str) -> Any:
        async with redis.asyncio.Redis.from_url(redis_url) as aclient:
            arguments = [repr(time.time()), note.name, 4, 60, job.id, token]
            return await START.arun(aclient, [backend.record_key(job.id)], arguments)

    assert asyncio.run(start("attempt-1")) == [b"running", 1]
    assert asyncio.run(start("attempt-1")) == [b"running", 1]  # the retry
    assert asyncio.run(start("attempt-2")) == [b"running", 2]  # its worker was lost
    assert "WorkerLost" in client.hget(backend.record_key(job.id), "error").decode()

    # The acknowledgement writes the outcome once, and only for the entry's current owner.
    client.xgroup_create(backend.queue, "tausestack-workers", id="0")
    ((_, [(entry_id, _)]),) = client.xreadgroup(
        "tausestack-workers", "worker-b", {backend.queue: ">"}, count=1
    )
    record = [backend.queue, backend.record_key(job.id), backend.delayed_key]

    async def ack(consumer: str) -> Any:
        async with redis.asyncio.Redis.from_url(redis_url) as aclient:
            arguments = [
                "tausestack-workers",
                entry_id,
                consumer,
                60,
                "",
                "0",
                "status",
                "succeeded",
            ]
            return await ACK.arun(aclient, record, arguments)

    assert asyncio.run(ack("worker-a")) == 0  # stalled, its job taken over: nothing written
    assert client.hget(backend.record_key(job.id), "status") == b"running"
    assert asyncio.run(ack("worker-b")) == 1
    assert asyncio.run(ack("worker-b")) == 0  # the retry
    assert client.hget(backend.record_key(job.id), "status") == b"succeeded"
    assert client.xlen(backend.queue) == 0
    client.close()


async def stream_broker(redis_url: str, **options: Any) -> StreamBroker:
    """A worker's broker on the stream ``q``, whose consumer group exists (empty)."""
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        await client.xgroup_create("q", "tausestack-workers", id="0", mkstream=True)
    return StreamBroker(
        redis_url,
        queue="q",
        record_key=lambda job_id: f"q:job:{job_id}",
        delayed_key="q:delayed",
        result_ttl=60,
        **options,
    )


@pytest.mark.redis
def test_a_stopping_worker_hands_back_only_entries_still_its_own(redis_url: str) -> None:
    """After a stall here another worker took the job over: this worker's stop leaves it
    with that worker instead of queueing it a second time."""

    async def scenario() -> Any:
        broker = await stream_broker(redis_url, redelivery_timeout=1, concurrency=2)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            mine = await client.xadd("q", {"data": b"mine"})
            theirs = await client.xadd("q", {"data": b"theirs"})
            await client.xreadgroup("tausestack-workers", broker.consumer_name, {"q": ">"})
            await client.xclaim("q", "tausestack-workers", "other-worker", 0, [theirs])
            broker.held = {mine: ("job-1", b"mine"), theirs: ("job-2", b"theirs")}
            await broker.release()
            owners = await client.xpending_range("q", "tausestack-workers", "-", "+", 10)
            entries = await client.xrange("q")
            await broker.shutdown()
            return owners, [fields[b"data"] for _, fields in entries]

    owners, entries = asyncio.run(scenario())
    assert [(owner["message_id"], owner["consumer"]) for owner in owners] == [
        (owners[0]["message_id"], b"other-worker")
    ]
    assert sorted(entries) == [b"mine", b"theirs"]  # "mine" queued again once, "theirs" kept


@pytest.mark.redis
def test_a_reclaim_looks_past_pending_entries_whose_data_was_deleted(redis_url: str) -> None:
    """Entries another program deleted while pending claim as nothing: one look for idle
    jobs still finds the real one behind them."""

    async def scenario() -> Any:
        broker = await stream_broker(redis_url, redelivery_timeout=0.05, concurrency=1)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            junk = [await client.xadd("q", {"data": b"junk"}) for _ in range(3)]
            await client.xadd("q", {"data": b"real"})
            await client.xreadgroup("tausestack-workers", "dead-worker", {"q": ">"})
            await client.xdel("q", *junk)
            await asyncio.sleep(0.1)  # idle past the redelivery timeout
            found = await broker._reclaim(client)
            await broker.shutdown()
            return [fields[b"data"] for _, fields in found]

    assert asyncio.run(scenario()) == [b"real"]


@pytest.mark.redis
@pytest.mark.parametrize(
    ("blocked", "options"), [("queue", {}), ("delayed", {"delay": 30})], ids=["now", "delayed"]
)
def test_an_enqueue_redis_refuses_leaves_nothing_behind(
    tmp_path: Path, redis_url: str, blocked: str, options: dict[str, Any]
) -> None:
    """When Redis refuses to queue the job, no status record is left saying it is queued."""
    app = build(tmp_path, note, backend="redis", redis={"url": redis_url})
    tasks = app.container.get(Tasks)
    backend: Any = tasks.backend
    key = backend.queue if blocked == "queue" else backend.delayed_key
    backend._sync.set(key, "not a stream")  # another program's key under the queue's name

    with pytest.raises(TasksBackendError, match=r"enqueueing a job of task .*WRONGTYPE"):
        tasks.enqueue(note, "lost", **options)

    async def enqueue_async() -> None:
        await tasks.start()
        try:
            with pytest.raises(TasksBackendError, match=r"WRONGTYPE"):
                await tasks.aenqueue(note, "lost", **options)
        finally:
            await tasks.stop()

    asyncio.run(enqueue_async())
    left = backend._sync.keys(f"{backend.queue}:job:*")
    backend._sync.close()
    assert left == []


def test_the_memory_backend_refuses_jobs_once_its_event_loop_is_gone(tmp_path: Path) -> None:
    """An app whose event loop closed without a shutdown cannot run jobs: enqueue says so and
    keeps no record of a job that would stay queued forever."""
    app = build(tmp_path, note)
    tasks = app.container.get(Tasks)
    asyncio.run(tasks.start())  # the loop closes without tasks.stop()
    with pytest.raises(TasksNotRunningError, match=r"event loop .* is closed"):
        tasks.enqueue(note, "never")
    assert tasks.backend._records == {}  # type: ignore[attr-defined]

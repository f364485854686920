"""The tasks contract: every test runs on the memory backend and on the redis backend (a real
Redis, with a taskiq worker running in this process and on this event loop, so tasks and the
test share objects; ``tests/sdk/tasks/test_worker_process.py`` runs ``tausestack worker`` as a
separate process).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel

from tausestack import Qualifier, Service, Settings, create_app, provider
from tausestack.sdk import tasks as sdk_tasks
from tausestack.sdk.tasks import (
    JobFailedError,
    JobStatus,
    TaskArgumentError,
    Tasks,
    task,
)

pytestmark = pytest.mark.anyio


# -- the tasks under test, and what they leave behind ----------------------------------------------


@dataclass
class Trace:
    """What the tasks did, read by the tests (the worker runs in this process)."""

    calls: list[Any] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None


TRACE = Trace()


@pytest.fixture(autouse=True)
def _fresh_trace() -> None:
    TRACE.__init__()  # type: ignore[misc]


@Service
class Greeter:
    def greet(self, name: str) -> str:
        return f"Hello, {name}!"


VISITS = itertools.count()


class Visit:
    """A request-scoped object: one per job, closed after it."""

    def __init__(self, label: str) -> None:
        self.label = label


@provider(scope="request")
def visit() -> Iterator[Annotated[Visit, Qualifier("job")]]:
    current = Visit(f"visit-{next(VISITS)}")
    yield current
    TRACE.closed.append(current.label)


class Order(BaseModel):
    sku: str
    quantity: int


@task
async def greet(name: str, greeter: Greeter) -> str:
    return greeter.greet(name)


@task
def add(a: int, b: int = 10) -> int:
    return a + b


@task
async def inspect_injection(
    settings: Settings, job_visit: Annotated[Visit, Qualifier("job")], tag: str
) -> dict[str, str]:
    TRACE.calls.append(job_visit.label)
    return {"profile": settings.profile, "visit": job_visit.label, "tag": tag}


@task
def typed(when: datetime, order: Order) -> dict[str, Any]:
    assert isinstance(when, datetime)
    assert isinstance(order, Order)
    return {"year": when.year, "total": order.quantity, "sku": order.sku}


@task(max_retries=0)
def explode(reason: str) -> None:
    raise ValueError(f"cannot do it: {reason}")


@task(max_retries=2, retry_delay=0.1, retry_backoff=2)
async def flaky(succeed_on: int) -> str:
    TRACE.times.append(time.monotonic())
    if len(TRACE.times) < succeed_on:
        raise ConnectionError(f"attempt {len(TRACE.times)} failed")
    return f"done after {len(TRACE.times)}"


@task(max_retries=1, retry_delay=30)
def slow_retry() -> None:
    raise RuntimeError("try again later")


@task
async def wait_for_gate() -> str:
    assert TRACE.gate is not None
    await TRACE.gate.wait()
    return "opened"


@task(timeout=0.2, max_retries=0)
async def too_slow() -> None:
    await asyncio.sleep(10)


@task
def count(value: int) -> int:
    TRACE.calls.append(value)
    return value


#: The SKUs ``ship`` accepts; a test withdraws one between enqueueing and running.
SKUS = {"tea": "TEA-1"}


def sku_code(sku: str) -> str:
    return SKUS[sku]  # a KeyError, which pydantic does not turn into a ValidationError


@task
def ship(code: Annotated[str, AfterValidator(sku_code)]) -> str:
    return code


@task(cron="* * * * * *")
def every_second() -> None:
    TRACE.times.append(time.time())


TASKS = [
    greet,
    add,
    inspect_injection,
    typed,
    explode,
    flaky,
    slow_retry,
    wait_for_gate,
    too_slow,
    count,
    ship,
]


# -- one running application per test, on each backend ---------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def tasks_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``tasks:`` settings of each backend (short redelivery for the redis one)."""
    if request.param == "memory":
        return {"backend": "memory", "concurrency": 4}
    url = request.getfixturevalue("redis_url")
    return {"backend": "redis", "concurrency": 4, "redis": {"url": url, "redelivery_timeout": 2}}


@asynccontextmanager
async def running(
    tasks_settings: dict[str, Any], folder: Path, *components: Any, workers: int = 1
) -> AsyncIterator[Tasks]:
    """A started application with ``components``; on redis, ``workers`` in-process workers."""
    settings = Settings(config_dir=folder, tasks=tasks_settings)
    app = create_app(settings, components=[Greeter, visit, *components])
    await app.container.start()
    tasks = app.container.get(Tasks)
    stopping = asyncio.Event()
    running_workers = []
    if tasks.backend.name == "redis":
        running_workers = [
            asyncio.create_task(
                tasks.backend.run_worker(tasks.runner, concurrency=4, stopping=stopping)
            )
            for _ in range(workers)
        ]
    try:
        yield tasks
    finally:
        stopping.set()
        try:  # a worker that does not stop is a failure, with every task's stack to show why
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*running_workers)), 30)
        except TimeoutError:
            for pending in asyncio.all_tasks():
                pending.print_stack()
            raise
        await asyncio.wait_for(app.container.stop(), 30)


@pytest.fixture
async def tasks(tasks_settings: dict[str, Any], tmp_path: Path) -> AsyncIterator[Tasks]:
    async with running(tasks_settings, tmp_path, *TASKS) as started:
        yield started


# -- results ---------------------------------------------------------------------------------------


async def test_async_and_sync_tasks_return_their_results(tasks: Tasks) -> None:
    greeting = await tasks.aenqueue(greet, "Ada")
    total = await tasks.aenqueue(add, 2, b=3)
    default = await tasks.aenqueue(add, 5)
    assert await tasks.await_result(greeting, timeout=10) == "Hello, Ada!"
    assert await tasks.await_result(total, timeout=10) == 5
    assert await tasks.await_result(default, timeout=10) == 15
    job = await tasks.aget_job(total)
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.task == add.name == "tests.contract.test_tasks.add"
    assert job.attempts == 1
    assert job.error is None
    assert job.enqueued_at is not None
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.enqueued_at <= job.started_at <= job.finished_at


async def test_module_functions_use_the_running_application(tasks: Tasks) -> None:
    job_id = await sdk_tasks.aenqueue(greet, "Grace")
    assert (await sdk_tasks.await_job(job_id, timeout=10)).result == "Hello, Grace!"
    assert (await sdk_tasks.aget_job(job_id)) == await tasks.aget_job(job_id)
    assert await sdk_tasks.await_result(await sdk_tasks.aenqueue(greet.name, "Lin")) == (
        "Hello, Lin!"
    )


async def test_sync_calls_work_from_a_thread(tasks: Tasks) -> None:
    def from_sync_code() -> Any:
        job_id = tasks.enqueue(add, 40, 2)
        return tasks.wait_result(job_id, timeout=10), tasks.get_job(job_id)

    result, job = await asyncio.to_thread(from_sync_code)
    assert result == 42
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED


async def test_blocking_waits_refuse_to_run_on_the_event_loop(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(add, 1)
    with pytest.raises(RuntimeError, match=r"await tasks.await_job"):
        tasks.wait_job(job_id)
    assert await tasks.await_result(job_id) == 11


async def test_arguments_travel_as_json_and_come_back_typed(tasks: Tasks) -> None:
    when = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)
    job_id = await tasks.aenqueue(typed, when, order=Order(sku="book", quantity=3))
    assert await tasks.await_result(job_id, timeout=10) == {"year": 2030, "total": 3, "sku": "book"}


# -- dependency injection --------------------------------------------------------------------------


async def test_components_are_injected_and_each_job_gets_its_own_request_scope(
    tasks: Tasks,
) -> None:
    first = await tasks.aenqueue(inspect_injection, "a")
    second = await tasks.aenqueue(inspect_injection, tag="b")
    results = [await tasks.await_result(job_id, timeout=10) for job_id in (first, second)]
    assert {result["tag"] for result in results} == {"a", "b"}
    assert all(result["profile"] == "dev" for result in results)
    visits = [result["visit"] for result in results]
    assert len(set(visits)) == 2  # one request-scoped object per job…
    assert sorted(TRACE.closed) == sorted(visits)  # …closed when its job ended


async def test_injected_parameters_cannot_be_passed(tasks: Tasks) -> None:
    with pytest.raises(TaskArgumentError, match=r"'greeter' is injected"):
        await tasks.aenqueue(greet, "Ada", greeter=Greeter())


# -- failures and retries --------------------------------------------------------------------------


async def test_a_failing_task_is_marked_failed_with_its_traceback(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(explode, "no fuel")
    job = await tasks.await_job(job_id, timeout=10)
    assert job.status is JobStatus.FAILED
    assert job.attempts == 1  # max_retries=0
    assert job.error == "ValueError: cannot do it: no fuel"
    assert job.traceback is not None
    assert "in explode" in job.traceback
    assert 'raise ValueError(f"cannot do it: {reason}")' in job.traceback
    with pytest.raises(JobFailedError, match=r"failed after 1 attempt\(s\): ValueError") as caught:
        await tasks.await_result(job_id)
    assert caught.value.job == job


async def test_retries_wait_longer_each_time_then_succeed(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(flaky, 3)
    job = await tasks.await_job(job_id, timeout=15)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == "done after 3"
    assert job.attempts == 3
    assert job.error is None  # cleared by the successful attempt
    first_wait, second_wait = (b - a for a, b in zip(TRACE.times, TRACE.times[1:], strict=False))
    assert first_wait >= 0.1  # retry_delay
    assert second_wait >= 0.2  # retry_delay * retry_backoff


async def test_retries_run_out_and_the_job_fails(tasks: Tasks) -> None:
    job = await tasks.await_job(await tasks.aenqueue(flaky, 10), timeout=15)
    assert job.status is JobStatus.FAILED
    assert job.attempts == 3  # the first attempt and max_retries=2
    assert job.error == "ConnectionError: attempt 3 failed"
    assert job.traceback is not None
    assert "ConnectionError" in job.traceback


async def test_a_job_waiting_for_its_retry_is_retrying(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(slow_retry)
    job = await wait_until(tasks, job_id, lambda job: job.status is JobStatus.RETRYING)
    assert job.attempts == 1
    assert job.error == "RuntimeError: try again later"
    assert job.scheduled_for is not None
    assert job.finished_at is None
    assert job.started_at is not None
    assert 25 < (job.scheduled_for - job.started_at).total_seconds() < 35  # retry_delay=30


async def test_an_attempt_past_its_timeout_fails(tasks: Tasks) -> None:
    job = await tasks.await_job(await tasks.aenqueue(too_slow), timeout=10)
    assert job.status is JobStatus.FAILED
    assert job.error == "TimeoutError: the attempt ran longer than 0.2 s"


# -- arguments -------------------------------------------------------------------------------------


async def test_unserializable_arguments_are_refused_and_nothing_is_enqueued(tasks: Tasks) -> None:
    with pytest.raises(TaskArgumentError, match=r"argument 'value' is a object, which is not JSON"):
        await tasks.aenqueue(count, object())
    with pytest.raises(TaskArgumentError, match=r"argument 'value' is a Lock"):
        tasks.enqueue(count, value=asyncio.Lock())
    job_id = await tasks.aenqueue(count, 7)
    assert await tasks.await_result(job_id, timeout=10) == 7
    assert stored_jobs(tasks) == [job_id]  # the refused ones were never queued
    assert TRACE.calls == [7]


async def test_arguments_that_do_not_fit_the_task_are_refused(tasks: Tasks) -> None:
    with pytest.raises(TaskArgumentError, match=r"missing a required argument: 'a'"):
        await tasks.aenqueue(add)
    with pytest.raises(TaskArgumentError, match=r"argument 'a' does not fit its annotation"):
        await tasks.aenqueue(add, "not a number")
    with pytest.raises(TaskArgumentError, match=r"unexpected keyword argument 'c'"):
        await tasks.aenqueue(add, 1, c=2)
    with pytest.raises(
        TaskArgumentError, match=r"converting argument 'code' raised KeyError: 'coffee'"
    ):
        await tasks.aenqueue(ship, "coffee")


async def test_arguments_refused_when_the_job_runs_fail_the_job(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(ship, "tea", delay=0.3)
    SKUS.pop("tea")  # withdrawn before the job runs
    try:
        job = await tasks.await_job(job_id, timeout=10)
    finally:
        SKUS["tea"] = "TEA-1"
    assert job.status is JobStatus.FAILED
    assert job.attempts == 1  # not retried: the same arguments would fail the same way
    assert job.error is not None
    assert "converting argument 'code' raised KeyError: 'tea'" in job.error


# -- ids and statuses ------------------------------------------------------------------------------


async def test_job_ids_are_unique(tasks: Tasks) -> None:
    ids = [await tasks.aenqueue(count, number) for number in range(40)]
    assert len(set(ids)) == 40
    results = [await tasks.await_result(job_id, timeout=10) for job_id in ids]
    assert results == list(range(40))
    assert await tasks.aget_job("no-such-job") is None


async def test_statuses_follow_a_job_from_queued_to_succeeded(tasks: Tasks) -> None:
    TRACE.gate = asyncio.Event()
    job_id = await tasks.aenqueue(wait_for_gate)
    queued = await tasks.aget_job(job_id)
    assert queued is not None
    assert queued.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    running_job = await wait_until(tasks, job_id, lambda job: job.status is JobStatus.RUNNING)
    assert running_job.started_at is not None
    assert running_job.finished_at is None
    TRACE.gate.set()
    done = await tasks.await_job(job_id, timeout=10)
    assert (done.status, done.result, done.finished) == (JobStatus.SUCCEEDED, "opened", True)


# -- delays and schedules --------------------------------------------------------------------------


async def test_a_delayed_job_waits_for_its_time(tasks: Tasks) -> None:
    job_id = await tasks.aenqueue(add, 1, 1, delay=0.5)
    job = await tasks.aget_job(job_id)
    assert job is not None
    assert job.status is JobStatus.QUEUED
    assert job.scheduled_for is not None
    assert job.enqueued_at is not None
    assert 0.45 < (job.scheduled_for - job.enqueued_at).total_seconds() < 0.55
    done = await tasks.await_job(job_id, timeout=10)
    assert done.result == 2
    assert done.started_at is not None
    assert done.started_at >= job.scheduled_for


async def test_at_takes_an_aware_datetime(tasks: Tasks) -> None:
    start = datetime.fromtimestamp(time.time() + 0.3, UTC)
    done = await tasks.await_job(await tasks.aenqueue(add, 2, at=start), timeout=10)
    assert done.result == 12
    assert done.started_at is not None
    assert done.started_at >= start
    with pytest.raises(TaskArgumentError, match="timezone-aware"):
        await tasks.aenqueue(add, 2, at=datetime(2030, 1, 1))
    with pytest.raises(TaskArgumentError, match="not both"):
        await tasks.aenqueue(add, 2, at=start, delay=1)


async def test_a_cron_schedule_fires_once_per_time(
    tasks_settings: dict[str, Any], tmp_path: Path
) -> None:
    # Two workers on redis: each fires the schedule, and each time runs once.
    opened = time.time()
    async with running(tasks_settings, tmp_path, every_second, workers=2) as tasks:
        deadline = time.time() + 10
        while len(TRACE.times) < 3 and time.time() < deadline:
            await asyncio.sleep(0.05)
    closed = time.time()
    jobs = stored_jobs(tasks)
    assert len(TRACE.times) >= 3
    # Its times are the whole seconds from opening to closing; none ran twice.
    assert len(TRACE.times) <= math.floor(closed) - math.floor(opened)
    if tasks.backend.name == "redis":
        # Each time was claimed once, by the worker that made its one job.
        backend: Any = tasks.backend
        claims = backend._sync.mget(backend._sync.keys(f"{backend.queue}:cron:*"))
        assert sorted(claim.decode() for claim in claims) == sorted(jobs)
        assert len(jobs) >= len(TRACE.times)


def stored_jobs(tasks: Tasks) -> list[str]:
    """The ids of every job the backend keeps a record of."""
    backend: Any = tasks.backend
    if backend.name == "memory":
        return list(backend._records)
    keys = backend._sync.keys(backend.record_key("*"))
    return [key.decode().rpartition(":")[2] for key in keys]


async def wait_until(tasks: Tasks, job_id: str, condition: Any, timeout: float = 10) -> Any:
    """Poll the job until ``condition(job)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        job = await tasks.aget_job(job_id)
        if job is not None and condition(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} never got there: {job}"
        await asyncio.sleep(0.01)

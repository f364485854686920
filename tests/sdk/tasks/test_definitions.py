"""Declaring tasks and configuring the backend: mistakes fail early, naming the task and the fix."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio
from fastapi.testclient import TestClient

from tausestack import Inject, Service, Settings, create_app
from tausestack.sdk.tasks import (
    JobStatus,
    Task,
    TaskDefinitionError,
    Tasks,
    TasksConfigurationError,
    TasksNotRunningError,
    UnknownTaskError,
    task,
)
from tests.conftest import Project
from tests.sdk.tasks.support import build, with_worker

T = TypeVar("T")


@Service
class Mailer:
    def send(self, to: str) -> str:
        return f"sent to {to}"


class NotRegistered:
    pass


@task
def welcome(address: str, mailer: Mailer) -> str:
    return mailer.send(address)


def test_task_keeps_the_function_callable_and_names_it_by_module() -> None:
    assert isinstance(welcome, Task)
    assert welcome.name == "tests.sdk.tasks.test_definitions.welcome"
    assert welcome("ada@example.com", Mailer()) == "sent to ada@example.com"
    assert welcome.__name__ == "welcome"
    assert welcome.__doc__ is None
    assert not welcome.is_async


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "max_retries must be an integer at least 0, not -1"),
        ({"max_retries": 1.5}, "max_retries must be an integer at least 0"),
        ({"retry_delay": -2}, "retry_delay must be a number at least 0"),
        ({"retry_backoff": 0.5}, "retry_backoff must be a number at least 1"),
        ({"timeout": 0}, "timeout must be a number greater than 0"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        task(name="x", **options)(lambda: None)  # type: ignore[arg-type]


def test_two_tasks_with_one_name_are_refused(tmp_path: Path) -> None:
    @task(name="emails.send")
    def first() -> None: ...

    @task(name="emails.send")
    def second() -> None: ...

    with pytest.raises(
        TaskDefinitionError, match=r"Two tasks are named 'emails.send'.*first.*second"
    ):
        build(tmp_path, first, second)


def test_a_parameter_typed_with_an_unregistered_component_fails_at_startup(tmp_path: Path) -> None:
    @task
    def needs_mailer(mailer: Mailer) -> None: ...

    with pytest.raises(
        TaskDefinitionError, match=r"'mailer' of task .*needs_mailer' asks for Mailer"
    ):
        build(tmp_path, needs_mailer)
    assert build(tmp_path, Mailer, needs_mailer).container.get(Tasks).plans


def test_an_inject_parameter_nothing_provides_fails_at_startup(tmp_path: Path) -> None:
    @task
    def needs(thing: Inject[NotRegistered]) -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"asks for NotRegistered, which nothing"):
        build(tmp_path, needs)


def test_a_scheduled_task_must_be_callable_without_arguments(tmp_path: Path) -> None:
    @task(cron="@daily")
    def report(day: str) -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"runs on the schedule '@daily'"):
        build(tmp_path, report)


def test_an_unknown_backend_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(TasksConfigurationError, match=r"Unknown tasks.backend 'reddis'.*'redis'"):
        build(tmp_path, welcome, Mailer, backend="reddis")
    with pytest.raises(TasksConfigurationError, match=r"tasks.backend 'nowhere:Backend' cannot"):
        build(tmp_path, welcome, Mailer, backend="nowhere:Backend")


def test_the_memory_backend_takes_jobs_only_while_the_app_runs(tmp_path: Path) -> None:
    app = build(tmp_path, welcome, Mailer)
    tasks = app.container.get(Tasks)
    with pytest.raises(TasksNotRunningError, match=r"application is not running"):
        tasks.enqueue(welcome, "ada@example.com")
    with TestClient(app):
        job_id = tasks.enqueue(welcome, "ada@example.com")
        assert tasks.wait_result(job_id, timeout=5) == "sent to ada@example.com"
        with pytest.raises(UnknownTaskError, match=r"no such task.*'tests.sdk.tasks.test_def"):
            tasks.enqueue("tests.sdk.tasks.test_definitions.welcom")


@task
async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


def test_stopping_the_memory_backend_waits_for_running_jobs_only(tmp_path: Path) -> None:
    """A stop waits for the running job, not for the whole shutdown_timeout, and jobs that
    never started are marked failed instead of staying queued forever."""
    app = build(tmp_path, nap, concurrency=1, shutdown_timeout=10)
    tasks = app.container.get(Tasks)
    with TestClient(app):
        running = tasks.enqueue(nap, 0.3)
        waiting = [tasks.enqueue(nap, 0.3) for _ in range(5)]
        time.sleep(0.1)  # the first job has started
        stopping = time.monotonic()
    took = time.monotonic() - stopping
    assert took < 5, f"the stop took {took:.1f} s"
    assert tasks.get_job(running).status is JobStatus.SUCCEEDED  # type: ignore[union-attr]
    for job_id in waiting:
        info = tasks.get_job(job_id)
        assert info is not None
        assert info.status is JobStatus.FAILED
        assert "stopped before the job started" in (info.error or "")


@pytest.mark.redis
def test_a_worker_marks_jobs_of_unknown_tasks_failed(tmp_path: Path, redis_url: str) -> None:
    settings = {"backend": "redis", "redis": {"url": redis_url}}

    async def scenario(tasks: Tasks) -> Any:
        job_id = await tasks.aenqueue("billing.tasks.invoice", 12)  # a task of another app
        return await tasks.await_job(job_id, timeout=10)

    job = asyncio.run(with_worker(build(tmp_path, welcome, Mailer, **settings), scenario))
    assert job.status is JobStatus.FAILED
    assert job.error.startswith("UnknownTaskError: no task named 'billing.tasks.invoice'")
    assert "Deploy the code that defines it to the workers" in job.error


@pytest.mark.redis
def test_a_worker_survives_its_consumer_group_vanishing(tmp_path: Path, redis_url: str) -> None:
    """A Redis restarted without persistence loses the stream and its consumer group: the
    worker makes the group again and keeps taking jobs."""
    settings = {"backend": "redis", "redis": {"url": redis_url}}

    async def scenario(tasks: Tasks) -> Any:
        first = await tasks.aenqueue(welcome, "ada@example.com")
        await tasks.await_job(first, timeout=10)
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.flushall()  # what a restart without persistence leaves
        await client.aclose()
        second = await tasks.aenqueue(welcome, "bob@example.com")
        return await tasks.await_job(second, timeout=10)

    job = asyncio.run(with_worker(build(tmp_path, welcome, Mailer, **settings), scenario))
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == "sent to bob@example.com"


STALLS: list[float] = []


@task
async def stall(seconds: float) -> float:
    STALLS.append(seconds)
    time.sleep(seconds)  # blocks the event loop: no heartbeat meanwhile
    await asyncio.sleep(1.0)  # still running when the worker looks for idle jobs again
    return seconds


@pytest.mark.redis
def test_a_stalled_worker_does_not_run_its_own_job_again(tmp_path: Path, redis_url: str) -> None:
    """After an event-loop stall longer than redelivery_timeout, the worker's reclaim finds
    its own job idle: it must not hand it to itself a second time."""
    settings = {"backend": "redis", "redis": {"url": redis_url, "redelivery_timeout": 1}}
    STALLS.clear()

    async def scenario(tasks: Tasks) -> Any:
        job_id = await tasks.aenqueue(stall, 2.5)
        job = await tasks.await_job(job_id, timeout=20)
        await asyncio.sleep(1.5)  # a second run, if any, would have started by now
        return job

    job = asyncio.run(with_worker(build(tmp_path, stall, **settings), scenario))
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert STALLS == [2.5]


def test_discovery_collects_the_tasks_of_installed_apps(project: Project) -> None:
    project.write(
        "shop/tasks.py",
        """
        from tausestack.sdk.tasks import task
        from tests.sdk.tasks.test_definitions import welcome  # imported: not this app's

        @task
        async def restock(sku: str) -> str:
            return sku

        @task(cron="0 * * * *")
        def hourly() -> None: ...
        """,
    )
    app = create_app(Settings(config_dir=project.root, installed_apps=["shop"]))
    assert [found.name for found in app.discovery.tasks] == [
        "shop.tasks.restock",
        "shop.tasks.hourly",
    ]
    tasks = app.container.get(Tasks)
    assert sorted(tasks.plans) == ["shop.tasks.hourly", "shop.tasks.restock"]
    assert [name for name, _ in tasks.runner.schedules] == ["shop.tasks.hourly"]
    with TestClient(app):
        assert tasks.wait_result(tasks.enqueue("shop.tasks.restock", "tea")) == "tea"

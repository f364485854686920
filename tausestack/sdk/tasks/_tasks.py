"""``Tasks``: the component an application injects to enqueue jobs and read their status."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from ..._naming import did_you_mean
from ...di._container import Container
from ...settings import Settings
from .._plugins import load_backend
from ._arguments import TaskPlan, encode_arguments
from ._jobs import JobInfo, JobRequest
from ._registry import TaskRegistry
from ._runner import JobRunner
from ._task import Task
from .base import AbstractTaskBackend
from .errors import (
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    TaskArgumentError,
    TasksConfigurationError,
    UnknownTaskError,
)

__all__ = ["Tasks", "build_backend"]

BUILT_IN_BACKENDS = ("memory", "redis")
#: Longest pause between two looks at a job being waited for.
POLL_CEILING = 0.1


class Tasks:
    """Enqueue jobs and follow them, on the backend the settings chose.

    Inject it (``tasks: Tasks``) or use the module functions (``tasks.enqueue(...)``)::

        job_id = await tasks.aenqueue(send_welcome, user.id)
        job = await tasks.aget_job(job_id)          # JobInfo: status, attempts, result…
        result = await tasks.await_result(job_id, timeout=10)

    Attributes:
        backend: the backend ``tasks.backend`` names.
        registry: the application's tasks, by name.
    """

    def __init__(
        self, settings: Settings, container: Container, registry: TaskRegistry | None = None
    ) -> None:
        self.settings = settings.tasks
        self.backend = build_backend(settings)
        self.registry = registry if registry is not None else TaskRegistry(())
        self.plans = {task.name: TaskPlan(task, container) for task in self.registry}
        self.runner = JobRunner(container, self.settings, self.plans.values())

    async def start(self) -> None:
        """Connect the backend at startup (the memory backend starts its workers)."""
        await self.backend.start(self.runner)

    async def stop(self) -> None:
        """Let running jobs finish (``tasks.shutdown_timeout``) and disconnect."""
        await self.backend.stop()

    # -- enqueueing -----------------------------------------------------------------------------

    def enqueue(
        self,
        task: Task[..., Any] | str,
        /,
        *args: Any,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        **kwargs: Any,
    ) -> str:
        """Queue a job of ``task`` with these arguments; return its id.

        Args:
            task: the ``@task`` function, or its name.
            *args, **kwargs: the task's arguments (JSON-serializable; injected parameters are
                not passed).
            delay: start no sooner than this many seconds from now.
            at: start no sooner than this time (timezone-aware).

        Raises:
            TaskArgumentError: an argument is not JSON, or the arguments do not fit the
                task; nothing was enqueued.
            UnknownTaskError: the in-process backend does not know the task.
        """
        job = self._job(task, args, kwargs, delay, at)
        self.backend.enqueue(job)
        return job.id

    async def aenqueue(
        self,
        task: Task[..., Any] | str,
        /,
        *args: Any,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`enqueue`."""
        job = self._job(task, args, kwargs, delay, at)
        await self.backend.aenqueue(job)
        return job.id

    def _job(
        self,
        task: Task[..., Any] | str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        delay: float | timedelta | None,
        at: datetime | None,
    ) -> JobRequest:
        name = task.name if isinstance(task, Task) else task
        if not isinstance(name, str):
            raise TaskArgumentError(
                f"enqueue() takes a @task function or a task name first, not {task!r}."
            )
        plan = self.plans.get(name)
        if plan is None and self.backend.runs_in_app:
            raise UnknownTaskError(
                f"Cannot enqueue {name!r}: this application has no such task."
                f"{did_you_mean(name, list(self.plans))} Define it with @task in the tasks "
                "module of an installed app (or pass it in create_app(components=[...]))."
            )
        names = plan.argument_names if plan is not None else []
        if plan is not None:
            plan.refuse_injected(kwargs)
        json_args, json_kwargs = encode_arguments(name, args, kwargs, names)
        if plan is not None:
            plan.check_arguments(json_args, json_kwargs)
        return JobRequest(name, json_args, json_kwargs, run_at=_start_time(delay, at))

    # -- status ---------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> JobInfo | None:
        """The job's status, or None when the id is unknown (or forgotten: ``result_ttl``
        after it finished on redis, past ``memory.max_jobs`` newer jobs in memory)."""
        return self.backend.get_job(job_id)

    async def aget_job(self, job_id: str) -> JobInfo | None:
        """Async twin of :meth:`get_job`."""
        return await self.backend.aget_job(job_id)

    def wait_job(self, job_id: str, timeout: float = 30.0) -> JobInfo:
        """Block until the job succeeded or failed (not from async code: :meth:`await_job`).

        Raises:
            JobTimeoutError: it had not finished after ``timeout`` seconds.
            JobNotFoundError: there is no such job.
        """
        _refuse_in_event_loop("wait_job", "await_job")
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            job = self._finished_or_none(self.get_job(job_id), job_id, deadline, timeout)
            if job is not None:
                return job
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 1.5, POLL_CEILING)

    async def await_job(self, job_id: str, timeout: float = 30.0) -> JobInfo:
        """Async twin of :meth:`wait_job`."""
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            job = self._finished_or_none(await self.aget_job(job_id), job_id, deadline, timeout)
            if job is not None:
                return job
            await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 1.5, POLL_CEILING)

    def wait_result(self, job_id: str, timeout: float = 30.0) -> Any:
        """Block until the job finished and return what the task returned.

        Raises:
            JobFailedError: the job failed (``.job`` has the error and traceback).
            JobTimeoutError, JobNotFoundError: as :meth:`wait_job`.
        """
        return _result(self.wait_job(job_id, timeout))

    async def await_result(self, job_id: str, timeout: float = 30.0) -> Any:
        """Async twin of :meth:`wait_result`."""
        return _result(await self.await_job(job_id, timeout))

    @staticmethod
    def _finished_or_none(
        job: JobInfo | None, job_id: str, deadline: float, timeout: float
    ) -> JobInfo | None:
        if job is None:
            raise JobNotFoundError(
                f"No job {job_id!r}: the id is wrong, or the job finished long enough ago to "
                "be forgotten (tasks.redis.result_ttl, tasks.memory.max_jobs)."
            )
        if job.finished:
            return job
        if time.monotonic() >= deadline:
            raise JobTimeoutError(
                f"Job {job_id} of task {job.task!r} is still {job.status.value} after "
                f"{timeout} s (attempts so far: {job.attempts}); it may still finish."
            )
        return None


def _result(job: JobInfo) -> Any:
    if job.status == "failed":
        raise JobFailedError(job)
    return job.result


def _start_time(delay: float | timedelta | None, at: datetime | None) -> float | None:
    if delay is not None and at is not None:
        raise TaskArgumentError("Pass delay= or at=, not both.")
    if isinstance(delay, timedelta):
        delay = delay.total_seconds()
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise TaskArgumentError(f"delay= takes seconds or a timedelta, not {delay!r}.")
        return time.time() + delay if delay > 0 else None
    if at is not None:
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise TaskArgumentError(
                f"at= takes a timezone-aware datetime (datetime.now(UTC) + ...), not {at!r}."
            )
        return at.timestamp()
    return None


def _refuse_in_event_loop(name: str, twin: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"tasks.{name}() blocks, and it was called on a running event loop, which it would "
        f"stall (with the memory backend, forever). Use `await tasks.{twin}(...)`."
    )


def build_backend(settings: Settings) -> AbstractTaskBackend:
    """The backend ``tasks.backend`` names: ``memory``, ``redis`` or a dotted class path."""
    name = settings.tasks.backend
    if name == "memory":
        from .memory import MemoryTaskBackend

        return MemoryTaskBackend(settings)
    if name == "redis":
        try:
            from .redis import RedisTaskBackend
        except ImportError as exc:
            raise TasksConfigurationError(
                f"tasks.backend is 'redis', which needs taskiq, taskiq-redis and redis ({exc}); "
                "install them with `pip install 'tausestack[tasks]'`."
            ) from None
        return RedisTaskBackend(settings)
    if "." not in name and ":" not in name:
        raise TasksConfigurationError(
            f"Unknown tasks.backend {name!r}: use 'memory', 'redis', or the dotted path of an "
            f"AbstractTaskBackend subclass (package.module:ClassName)."
            f"{did_you_mean(name, BUILT_IN_BACKENDS)}"
        )
    backend: AbstractTaskBackend = load_backend(
        name,
        AbstractTaskBackend,
        settings,
        setting="tasks.backend",
        built_in=BUILT_IN_BACKENDS,
        error=TasksConfigurationError,
    )
    return backend

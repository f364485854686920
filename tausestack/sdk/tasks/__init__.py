"""Background tasks: ``@task`` functions run by in-process workers or by taskiq on Redis.

Define tasks in an installed app's ``tasks`` module; discovery collects them::

    from tausestack.sdk.tasks import task

    @task(max_retries=5)
    async def send_welcome(user_id: int, users: UserService) -> None:   # users is injected
        await users.welcome(user_id)

Enqueue with DI (inject ``Tasks``) or with the module functions, which use the current
application's tasks::

    from tausestack.sdk import tasks

    job_id = await tasks.aenqueue(send_welcome, user.id, delay=60)
    job = await tasks.aget_job(job_id)        # JobInfo: status, attempts, result, traceback

``tasks.backend: memory`` runs jobs on the app's event loop; ``redis`` queues them on a Redis
stream for ``tausestack worker`` processes (taskiq; needs ``pip install 'tausestack[tasks]'``).
See ``docs/tasks.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...di._container import Container
from ...di._keys import DependencyKey
from ...settings import Settings
from .._context import current_component
from ..settings import TasksSettings
from ._cron import CronSchedule
from ._jobs import JobInfo, JobStatus
from ._registry import TaskRegistry
from ._task import Task, task
from ._tasks import Tasks
from .base import AbstractTaskBackend
from .errors import (
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    TaskArgumentError,
    TaskDefinitionError,
    TasksBackendError,
    TasksConfigurationError,
    TasksError,
    TasksNotRunningError,
    UnknownTaskError,
)

__all__ = [
    "AbstractTaskBackend",
    "CronSchedule",
    "JobFailedError",
    "JobInfo",
    "JobNotFoundError",
    "JobStatus",
    "JobTimeoutError",
    "Task",
    "TaskArgumentError",
    "TaskDefinitionError",
    "TaskRegistry",
    "Tasks",
    "TasksBackendError",
    "TasksConfigurationError",
    "TasksError",
    "TasksNotRunningError",
    "TasksSettings",
    "UnknownTaskError",
    "aenqueue",
    "aget_job",
    "await_job",
    "await_result",
    "current",
    "enqueue",
    "get_job",
    "task",
    "wait_job",
    "wait_result",
]


def _standalone(container: Container) -> Tasks:
    registry_key = DependencyKey(TaskRegistry)
    registry = container.get(TaskRegistry) if container.graph.lookup(registry_key) else None
    return Tasks(container.get(Settings), container, registry)


def current() -> Tasks:
    """The current application's ``Tasks`` (see ``tausestack.sdk``)."""
    return current_component(Tasks, _standalone)


def enqueue(
    task: Task[..., Any] | str,
    /,
    *args: Any,
    delay: float | timedelta | None = None,
    at: datetime | None = None,
    **kwargs: Any,
) -> str:
    """Queue a job of ``task``; return its id (see :meth:`Tasks.enqueue`)."""
    return current().enqueue(task, *args, delay=delay, at=at, **kwargs)


async def aenqueue(
    task: Task[..., Any] | str,
    /,
    *args: Any,
    delay: float | timedelta | None = None,
    at: datetime | None = None,
    **kwargs: Any,
) -> str:
    """Async twin of :func:`enqueue`."""
    return await current().aenqueue(task, *args, delay=delay, at=at, **kwargs)


def get_job(job_id: str) -> JobInfo | None:
    """The job's status, or None when it is unknown (see :meth:`Tasks.get_job`)."""
    return current().get_job(job_id)


async def aget_job(job_id: str) -> JobInfo | None:
    """Async twin of :func:`get_job`."""
    return await current().aget_job(job_id)


def wait_job(job_id: str, timeout: float = 30.0) -> JobInfo:
    """Block until the job finished; return its status (see :meth:`Tasks.wait_job`)."""
    return current().wait_job(job_id, timeout)


async def await_job(job_id: str, timeout: float = 30.0) -> JobInfo:
    """Async twin of :func:`wait_job`."""
    return await current().await_job(job_id, timeout)


def wait_result(job_id: str, timeout: float = 30.0) -> Any:
    """Block until the job finished; return its result or raise JobFailedError."""
    return current().wait_result(job_id, timeout)


async def await_result(job_id: str, timeout: float = 30.0) -> Any:
    """Async twin of :func:`wait_result`."""
    return await current().await_result(job_id, timeout)

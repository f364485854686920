"""Errors of ``tausestack.sdk.tasks``; each names the task or the job, and the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import TauseStackError

if TYPE_CHECKING:
    from ._jobs import JobInfo

__all__ = [
    "JobFailedError",
    "JobNotFoundError",
    "JobTimeoutError",
    "TaskArgumentError",
    "TaskDefinitionError",
    "TasksBackendError",
    "TasksConfigurationError",
    "TasksError",
    "TasksNotRunningError",
    "UnknownTaskError",
]


class TasksError(TauseStackError):
    """Base class of the tasks errors."""


class TasksConfigurationError(TasksError):
    """The ``tasks:`` settings cannot work (unknown backend, a library missing)."""


class TaskDefinitionError(TasksError):
    """A ``@task`` function cannot be used as declared (a bad cron, a parameter that can
    be neither injected nor passed, two tasks with one name)."""


class TaskArgumentError(TasksError, TypeError):
    """The arguments given to ``enqueue`` do not fit the task, or one is not JSON; nothing
    was enqueued."""


class UnknownTaskError(TasksError, LookupError):
    """A job names a task that this process does not know."""


class TasksNotRunningError(TasksError):
    """The backend cannot take jobs now (the in-process backend outside a running app)."""


class TasksBackendError(TasksError):
    """The backend failed (Redis unreachable); the message names the operation and where."""


class JobFailedError(TasksError):
    """The job ended failed; ``job`` holds its status, error and traceback."""

    def __init__(self, job: JobInfo) -> None:
        self.job = job
        super().__init__(
            f"Job {job.id} of task {job.task!r} failed after {job.attempts} attempt(s): "
            f"{job.error}\n{job.traceback or ''}".rstrip()
        )


class JobNotFoundError(TasksError, LookupError):
    """No job has this id (or it finished long enough ago to be forgotten)."""


class JobTimeoutError(TasksError, TimeoutError):
    """The job did not finish within the time waited for it (it may still finish later)."""

"""The interface every tasks backend implements.

A backend keeps jobs until they run, runs them (in the app's process, or in workers started
with ``tausestack worker``), and keeps each job's status record. It never calls a task itself:
the :class:`~tausestack.sdk.tasks._runner.JobRunner` it is given runs attempts, so injection,
timeouts, retries and error capture are the same on every backend.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from .errors import TasksConfigurationError

if TYPE_CHECKING:
    from ...settings import Settings
    from ._jobs import JobInfo, JobRequest
    from ._runner import JobRunner

__all__ = ["AbstractTaskBackend"]


class AbstractTaskBackend(ABC):
    """Where jobs wait, run and leave their status. Subclasses take the settings."""

    #: The name ``tasks.backend`` gives it, for messages.
    name: ClassVar[str] = "custom"
    #: Jobs run inside the application's process (no ``tausestack worker``).
    runs_in_app: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.tasks

    async def start(self, runner: JobRunner) -> None:  # noqa: B027 - optional hook
        """Connect (and, for an in-process backend, start running jobs) at app startup."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Let running jobs finish (up to ``tasks.shutdown_timeout``) and disconnect."""

    @abstractmethod
    def enqueue(self, job: JobRequest) -> None:
        """Store the job's record and queue it (or schedule it, when ``job.run_at`` is set);
        either both happen or neither."""

    @abstractmethod
    async def aenqueue(self, job: JobRequest) -> None:
        """Async twin of :meth:`enqueue`."""

    @abstractmethod
    def get_job(self, job_id: str) -> JobInfo | None:
        """The job's status, or None when it is unknown (or was forgotten after finishing)."""

    @abstractmethod
    async def aget_job(self, job_id: str) -> JobInfo | None:
        """Async twin of :meth:`get_job`."""

    async def run_worker(
        self, runner: JobRunner, *, concurrency: int, stopping: asyncio.Event
    ) -> None:
        """Run jobs until ``stopping`` is set, then finish or hand back the running ones.

        Only backends with separate workers implement it (``tausestack worker`` calls it).
        """
        raise TasksConfigurationError(
            f"tasks.backend is {self.name!r}, which runs jobs inside the application's process; "
            "`tausestack worker` serves the redis backend. Set tasks.backend: redis (and "
            "tasks.redis.url) to run jobs in separate workers."
        )

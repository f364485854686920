"""Running one attempt of a job, the same way on every backend.

Each attempt runs in its own request scope of the application's container (request-scoped
objects such as a database session live for the attempt and see its exception at cleanup),
with SDK functions bound to that application. A sync task runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from ..._naming import did_you_mean
from ...di._container import Container
from .._context import use
from ..settings import TasksSettings
from ._arguments import TaskPlan, encode_result
from ._cron import CronSchedule
from .errors import TaskArgumentError

__all__ = ["JobRunner", "Outcome", "Settlement", "settle"]

logger = logging.getLogger("tausestack.tasks")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended."""

    succeeded: bool
    #: The task's return value as JSON bytes (when it succeeded).
    result: bytes | None = None
    error: str | None = None
    traceback: str | None = None
    #: False when another attempt would fail the same way (bad arguments, unknown task).
    retryable: bool = True


class JobRunner:
    """Runs the attempts of one application's jobs and knows each task's retry rules."""

    def __init__(self, container: Container, settings: TasksSettings, plans: Iterable[TaskPlan]):
        self.container = container
        self.settings = settings
        self.plans = {plan.task.name: plan for plan in plans}
        #: The jobs whose attempt waits on a sync task's thread (job id -> a token of the
        #: attempt). A thread cannot be interrupted: a stopping worker waits for these.
        self.threads: dict[str, object] = {}

    @property
    def schedules(self) -> list[tuple[str, CronSchedule]]:
        """The tasks that run on a cron schedule, with their schedules."""
        return [
            (name, plan.task.schedule)
            for name, plan in self.plans.items()
            if plan.task.schedule is not None
        ]

    def max_attempts(self, name: str) -> int:
        """The first attempt and the retries the task (or the settings) allow."""
        plan = self.plans.get(name)
        retries = plan.task.max_retries if plan is not None else None
        return 1 + (self.settings.max_retries if retries is None else retries)

    def retry_delay(self, name: str, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt after ``failed_attempts`` failures."""
        plan = self.plans.get(name)
        task = plan.task if plan is not None else None
        delay = task.retry_delay if task and task.retry_delay is not None else None
        backoff = task.retry_backoff if task and task.retry_backoff is not None else None
        delay = self.settings.retry_delay if delay is None else delay
        backoff = self.settings.retry_backoff if backoff is None else backoff
        return float(delay * backoff ** max(failed_attempts - 1, 0))

    def unknown(self, name: str) -> Outcome:
        """The outcome of a job whose task this application does not have."""
        hint = did_you_mean(name, list(self.plans))
        return Outcome(
            succeeded=False,
            error=(
                f"UnknownTaskError: no task named {name!r} in this application.{hint} Deploy "
                "the code that defines it to the workers, and check that its app is in "
                "installed_apps and the task is in the app's tasks module."
            ),
            retryable=False,
        )

    async def run(
        self, name: str, args: list[Any], kwargs: dict[str, Any], job_id: str = ""
    ) -> Outcome:
        """Run one attempt of job ``job_id`` of task ``name`` with its JSON arguments."""
        outcome = await self._attempt(name, args, kwargs, job_id)
        if not outcome.succeeded:
            logger.warning("Job %s of task %r failed: %s", job_id, name, outcome.error)
        return outcome

    async def _attempt(
        self, name: str, args: list[Any], kwargs: dict[str, Any], job_id: str
    ) -> Outcome:
        plan = self.plans.get(name)
        if plan is None:
            return self.unknown(name)
        try:
            bound = plan.arguments(args, kwargs)
        except TaskArgumentError as exc:
            return Outcome(succeeded=False, error=f"TaskArgumentError: {exc}", retryable=False)
        task = plan.task
        timeout = task.timeout if task.timeout is not None else self.settings.timeout
        limit = asyncio.timeout(timeout)
        try:
            async with self.container.request_scope() as scope:
                with use(self.container):
                    injected = {
                        parameter.name: await self.container.resolve_node(parameter.node, scope)
                        for parameter in plan.injected
                    }
                    call_args, call_kwargs = plan.call_arguments(bound, injected)
                    async with limit:
                        if task.is_async:
                            value = await task.function(*call_args, **call_kwargs)
                        else:
                            call = functools.partial(task.function, *call_args, **call_kwargs)
                            value = await self._in_thread(call, job_id)
        except TimeoutError as exc:
            late = f"TimeoutError: the attempt ran longer than {timeout} s"
            return _failure(exc, late if limit.expired() else None)
        except Exception as exc:
            return _failure(exc)
        try:
            return Outcome(succeeded=True, result=encode_result(value))
        except TypeError as exc:
            return Outcome(
                succeeded=False,
                error=(
                    f"TypeError: task {name!r} returned a {type(value).__name__}, which is not "
                    f"JSON-serializable ({exc}); return plain data or a pydantic model."
                ),
                retryable=False,
            )

    async def _in_thread(self, call: Callable[[], Any], job_id: str) -> Any:
        """Run a sync task in a worker thread, listed in :attr:`threads` while the attempt
        waits for it (a cancellation, such as the task's timeout, abandons the thread)."""
        token = self.threads[job_id] = object()
        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        finally:
            # A newer attempt of the job may wait on another thread by now: it stays listed.
            if self.threads.get(job_id) is token:
                del self.threads[job_id]


def _failure(exc: BaseException, message: str | None = None) -> Outcome:
    return Outcome(
        succeeded=False,
        error=message or f"{type(exc).__qualname__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """What an attempt's outcome does to the job's record."""

    fields: dict[str, str]
    #: Epoch seconds of the next attempt, when the job is to be retried.
    retry_at: float | None
    finished: bool


def settle(runner: JobRunner, name: str, attempts: int, outcome: Outcome, now: float) -> Settlement:
    """The record fields after attempt number ``attempts`` ended with ``outcome``: succeeded,
    retrying (with the time of the next attempt) or failed."""
    if outcome.succeeded:
        fields = {
            "status": "succeeded",
            "result": (outcome.result or b"null").decode(),
            "error": "",
            "traceback": "",
            "finished_at": repr(now),
        }
        return Settlement(fields, None, True)
    fields = {"error": outcome.error or "", "traceback": outcome.traceback or ""}
    if outcome.retryable and attempts < runner.max_attempts(name):
        retry_at = now + runner.retry_delay(name, attempts)
        fields |= {"status": "retrying", "scheduled_for": repr(retry_at)}
        return Settlement(fields, retry_at, False)
    fields |= {"status": "failed", "finished_at": repr(now)}
    return Settlement(fields, None, True)

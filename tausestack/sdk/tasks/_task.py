"""``@task``: mark a function as a background task; discovery collects it, nothing is global."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar, overload

from ._cron import CronSchedule
from .errors import TaskDefinitionError

__all__ = ["Task", "task"]

P = ParamSpec("P")
R = TypeVar("R")


class Task(Generic[P, R]):
    """A function marked with :func:`task`, with its name and options.

    Calling it calls the function (handy in tests); ``enqueue(task, ...)`` runs it in the
    background. Options left ``None`` come from the ``tasks:`` settings.
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        retry_backoff: float | None = None,
        timeout: float | None = None,
        cron: str | None = None,
    ) -> None:
        if not inspect.isfunction(function):
            raise TaskDefinitionError(f"@task decorates functions; {function!r} is not one.")
        functools.update_wrapper(self, function)
        self.function = function
        self.name = name or f"{function.__module__}.{function.__qualname__}"
        if "<lambda>" in self.name or not self.name.strip():
            raise TaskDefinitionError(f"@task on {function!r}: pass name='...' for a lambda.")
        _check_option(self.name, "max_retries", max_retries, minimum=0, integer=True)
        _check_option(self.name, "retry_delay", retry_delay, minimum=0)
        _check_option(self.name, "retry_backoff", retry_backoff, minimum=1)
        _check_option(self.name, "timeout", timeout, minimum=0, strict=True)
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self.schedule = CronSchedule.parse(cron, f"task {self.name!r}") if cron else None
        self.is_async = inspect.iscoroutinefunction(function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self.function(*args, **kwargs)
        return result

    def __repr__(self) -> str:
        return f"<Task {self.name}>"


@overload
def task(function: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    max_retries: int | None = None,
    retry_delay: float | None = None,
    retry_backoff: float | None = None,
    timeout: float | None = None,
    cron: str | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    max_retries: int | None = None,
    retry_delay: float | None = None,
    retry_backoff: float | None = None,
    timeout: float | None = None,
    cron: str | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Mark a function (sync or ``async def``) as a task that runs in the background.

    Parameters typed with something the container provides (a service, ``Settings``,
    ``Inject[T]``) are injected when the job runs; the others are the job's arguments, given
    to ``enqueue`` and carried as JSON::

        @task(max_retries=5, retry_delay=2)
        async def send_welcome(user_id: int, users: UserService) -> None:
            await users.welcome(user_id)

        @task(cron="0 3 * * *")          # every day at 03:00 UTC
        def purge_sessions(sessions: SessionRepository) -> int:
            return sessions.purge_expired()

    Args:
        name: the name jobs carry (default ``module.function``); keep it stable across
            deployments, as queued jobs find their task by it.
        max_retries: attempts after the first when the task raises (``tasks.max_retries``).
        retry_delay: seconds before the first retry (``tasks.retry_delay``).
        retry_backoff: each next retry waits this many times longer (``tasks.retry_backoff``).
        timeout: seconds an attempt may run before it is cancelled and counted as failed.
        cron: run on this schedule (UTC): five fields, or six with the seconds first.
    """

    def mark(target: Callable[P, R]) -> Task[P, R]:
        return Task(
            target,
            name=name,
            max_retries=max_retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
            timeout=timeout,
            cron=cron,
        )

    return mark(function) if function is not None else mark


def _check_option(
    owner: str,
    option: str,
    value: float | None,
    *,
    minimum: float,
    integer: bool = False,
    strict: bool = False,
) -> None:
    if value is None:
        return
    wrong_type = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    too_small = value <= minimum if strict else value < minimum
    if wrong_type or too_small:
        bound = f"greater than {minimum}" if strict else f"at least {minimum}"
        kind = "an integer" if integer else "a number"
        raise TaskDefinitionError(
            f"task {owner!r}: {option} must be {kind} {bound}, not {value!r}."
        )

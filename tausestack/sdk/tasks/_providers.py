"""The tasks' providers, added to an app's container when it has tasks or uses them.

``create_app()`` adds them when the installed apps define ``@task`` functions (the memory
backend's workers then start and stop with the app), when something asks for ``Tasks`` or a
tasks backend, or when a module of an installed app uses ``tausestack.sdk.tasks``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ._tasks import Tasks
from .base import AbstractTaskBackend
from .errors import JobNotFoundError

APP = "tausestack.sdk.tasks"


def tasks_backend(tasks: Tasks) -> AbstractTaskBackend:
    """The backend the settings chose."""
    return tasks.backend


def providers(wanted: set[Any]) -> list[Provider]:
    """The tasks' providers for one container: ``Tasks`` and its backend."""
    return [
        class_provider(Tasks, ComponentSpec(kind="component"), app=APP),
        function_provider(tasks_backend, ComponentSpec(kind="provider"), app=APP),
    ]


async def job_not_found(request: Request, exc: Exception) -> JSONResponse:
    """A job id usually comes from the request (``GET /reports/{job_id}``): an unknown one is
    a 404, without the message's hints about the settings."""
    return JSONResponse({"detail": "No such job."}, status_code=404)


def exception_handlers() -> dict[type[Exception], Any]:
    """An unknown job id is a 404; a job that cannot be enqueued is the server's error (a
    500), like a failed query."""
    return {JobNotFoundError: job_not_found}

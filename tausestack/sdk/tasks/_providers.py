"""The tasks' providers, added to an app's container when it has tasks or uses them.

``create_app()`` adds them when the installed apps define ``@task`` functions (the memory
backend's workers then start and stop with the app), when something asks for ``Tasks`` or a
tasks backend, or when a module of an installed app uses ``tausestack.sdk.tasks``.
"""

from __future__ import annotations

from typing import Any

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ._tasks import Tasks
from .base import AbstractTaskBackend

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


def exception_handlers() -> dict[type[Exception], Any]:
    """None: a job that cannot be enqueued is the server's error (a 500), like a failed query."""
    return {}

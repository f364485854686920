"""``worker``: run the project's background jobs (``tasks.backend: redis``) until stopped."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from ._output import console
from ._project import DEFAULT_APP, Project
from ._serve import AppOption

if TYPE_CHECKING:
    from ..app import TauseStackApp


def worker(
    app: AppOption = DEFAULT_APP,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Jobs run at once (default: tasks.concurrency).", show_default=False
        ),
    ] = None,
) -> None:
    """Run background jobs for the redis tasks backend; SIGTERM or Ctrl-C stops gracefully."""
    import asyncio
    import logging

    from ..di._keys import DependencyKey
    from ..sdk.tasks import Tasks, TasksConfigurationError

    project = Project.find()
    application = project.load_tausestack_app(app)
    options = application.settings.tasks
    if options.backend == "memory":
        raise TasksConfigurationError(
            "tasks.backend is 'memory': jobs run inside the application's process, so there is "
            "nothing for a worker to do. Set tasks.backend: redis (and tasks.redis.url) to run "
            "jobs in separate `tausestack worker` processes."
        )
    if application.container.graph.lookup(DependencyKey(Tasks)) is None:
        raise TasksConfigurationError(
            f"{app} has no @task functions: define them in the tasks module of an installed "
            "app (installed_apps in application.yaml), then start the worker again."
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("taskiq").setLevel(logging.WARNING)
    asyncio.run(_serve(application, concurrency or options.concurrency, app))


async def _serve(application: TauseStackApp, concurrency: int, reference: str) -> None:
    import asyncio
    import signal

    from ..sdk.tasks import Tasks

    stopping = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None
    received: list[int] = []

    def on_signal(number: signal.Signals) -> None:
        received.append(number)
        if len(received) == 1:
            console.print(f"{number.name}: finishing running jobs (send it again to stop now).")
            stopping.set()
        else:
            main.cancel()

    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number)
    container = application.container
    await container.start()
    try:
        tasks = container.get(Tasks)
        settings = application.settings
        console.print(
            f"Worker {os.getpid()} for {reference} (profile {settings.profile}): "
            f"{len(tasks.registry)} task(s), concurrency {concurrency}, "
            f"queue {settings.tasks.redis.queue!r}."
        )
        await tasks.backend.run_worker(tasks.runner, concurrency=concurrency, stopping=stopping)
    except asyncio.CancelledError:
        console.print("Stopped now: interrupted jobs went back to the queue.")
    finally:
        await container.stop()
    console.print("Worker stopped.")

"""``run`` and ``shell``: the project's app under uvicorn, or in an interactive console."""

from __future__ import annotations

import code
from typing import Annotated, Any

import typer

from ._output import BadInput, console
from ._project import DEFAULT_APP, Project

AppOption = Annotated[
    str, typer.Option("--app", help="The application as module:attribute.", show_default=True)
]


def run(
    app: AppOption = DEFAULT_APP,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; more than one needs --no-reload.")
    ] = 1,
    reload: Annotated[
        bool | None,
        typer.Option(
            "--reload/--no-reload",
            help="Restart when a *.py, application*.yaml or .env* file changes (default: on in "
            "the dev profile, off otherwise).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the project's app with uvicorn, restarting on changes in the dev profile.

    The app is loaded before serving, so a broken project stops here with its error; a database
    behind its migrations is logged as a warning. In the dev profile the server restarts when
    code or settings change (--workers needs --no-reload there).
    """
    import uvicorn

    project = Project.find()
    settings = project.settings()
    reloading = settings.profile == "dev" if reload is None else reload
    if reloading and workers > 1:
        raise BadInput(
            "--reload runs a single worker; pass --no-reload to run several, or drop --workers."
        )
    # Import it here first, so a missing app or a broken project fails with our messages. A
    # single worker without reloading serves this very object; otherwise uvicorn imports again.
    loaded = project.load_app(app)
    target: Any = loaded if not reloading and workers == 1 else app
    console.print(f"Serving {app} (profile {settings.profile}) on http://{host}:{port}", end="")
    if reloading:
        from ._reload import WATCHED, serve_reloading

        console.print(f", reloading on changes to {', '.join(WATCHED)}")
        serve_reloading(app, project.root, host=host, port=port, log_config=log_config())
        return
    console.print()
    uvicorn.run(
        target,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        app_dir=str(project.root),
        log_config=log_config(),
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with TauseStack's own loggers on its console handler.

    Without it, a warning of the framework's (unapplied migrations at startup) reaches the
    console as a bare line among uvicorn's ``INFO:`` ones, and its ``INFO`` lines not at all.
    """
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["tausestack"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def shell(app: AppOption = DEFAULT_APP) -> None:
    """Open IPython (or the standard console) with app, container and settings loaded."""
    from .. import sdk

    project = Project.find()
    application = project.load_tausestack_app(app)
    namespace: dict[str, Any] = {
        "app": application,
        "container": application.container,
        "settings": application.settings,
        "sdk": sdk,
    }
    loaded = ", ".join(namespace)
    banner = (
        f"TauseStack shell for {project.root} (profile {application.settings.profile}).\n"
        f"Loaded: {loaded}. Try container.get(SomeService)."
    )
    try:
        from IPython import start_ipython
    except ImportError:
        start_ipython = None
    if start_ipython is None:  # outside the except block, so errors typed in do not chain to it
        code.interact(banner=banner, local=namespace, exitmsg="")
        return
    console.print(banner)
    start_ipython(argv=[], user_ns=namespace)

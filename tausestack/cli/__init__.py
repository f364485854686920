"""The ``tausestack`` command line: create, run and look at TauseStack projects.

Every command is documented in ``docs/cli.md``. Bad input (a name, a path, no project here)
exits with status 2 after a one-line error and writes nothing; a problem in the project itself
(invalid settings, a missing provider) exits with status 1.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
import typer.main
from rich.markup import escape

from ..errors import TauseStackError
from . import _db, _users
from ._create import generate, init, new_app
from ._inspect import check, config_show, inspect, routes, version
from ._output import BAD_INPUT, PROJECT_PROBLEM, BadInput, errors, fail, report
from ._serve import run, shell
from ._worker import worker

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(command: F) -> F:
    """Turn the CLI's expected errors into messages and exit statuses, not tracebacks."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BadInput as exc:
            fail(str(exc), BAD_INPUT)
        except TauseStackError as exc:
            errors.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True)
            raise typer.Exit(PROJECT_PROBLEM) from None
        except OSError as exc:  # a path that cannot be written, a name too long for the disk
            where = f" {exc.filename}" if exc.filename else ""
            fail(f"Cannot write{where}: {exc.strerror or exc}. Nothing was changed.", BAD_INPUT)

    return guarded  # type: ignore[return-value]


cli = typer.Typer(
    name="tausestack",
    help="Create, run and inspect TauseStack projects.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config = typer.Typer(help="Look at the merged settings.", no_args_is_help=True)
db = typer.Typer(help="Create and apply database migrations (Alembic).", no_args_is_help=True)
# `downgrade -1` and `upgrade +1`: a negative revision is an argument, not an unknown option.
_RELATIVE_REVISIONS = {"ignore_unknown_options": True}

cli.command("init")(_guarded(init))
cli.command("new-app")(_guarded(new_app))
cli.command("run")(_guarded(run))
cli.command("routes")(_guarded(routes))
cli.command("inspect")(_guarded(inspect))
cli.command("generate")(_guarded(generate))
cli.command("shell")(_guarded(shell))
cli.command("worker")(_guarded(worker))
cli.command("check")(_guarded(check))
cli.command("version")(_guarded(version))
config.command("show")(_guarded(config_show))
cli.add_typer(config, name="config")
db.command("init")(_guarded(_db.init))
db.command("makemigrations")(_guarded(_db.makemigrations))
db.command("upgrade", context_settings=_RELATIVE_REVISIONS)(_guarded(_db.upgrade))
db.command("downgrade", context_settings=_RELATIVE_REVISIONS)(_guarded(_db.downgrade))
db.command("current")(_guarded(_db.current))
db.command("history")(_guarded(_db.history))
cli.add_typer(db, name="db")
cli.add_typer(_users.users, name="users")


def main() -> None:
    """Entry point of the ``tausestack`` console script.

    Usage errors (an unknown command or option, a bad option value) are one line, like every
    other error, instead of Click's usage box.
    """
    command = typer.main.get_command(cli)
    try:
        status = command.main(prog_name="tausestack", standalone_mode=False)
    except typer.Abort:
        report("Aborted.")
        sys.exit(PROJECT_PROBLEM)
    except Exception as exc:  # Click's usage errors, without importing Typer's private Click
        message = getattr(exc, "format_message", None)
        if message is None or not hasattr(exc, "exit_code"):
            raise
        if not message():  # `tausestack` alone, or a group without its command: help was shown
            sys.exit(0)
        report(f"{message()} (see `tausestack --help`)")
        sys.exit(BAD_INPUT)
    sys.exit(status if isinstance(status, int) else 0)

"""The ``tausestack`` command line: create, run and look at TauseStack projects.

Every command is documented in ``docs/cli.md``. Bad input (a name, a path, no project here)
exits with status 2 after a one-line error and writes nothing; a problem in the project itself
(invalid settings, a missing provider) exits with status 1.

The command modules import FastAPI and the framework inside the commands that load the project's
app, so ``--help``, ``version``, shell completion and the scaffolding commands start without them
(``tests/cli/test_startup.py`` checks it; ``bench/cli_startup.py`` measures it).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from . import _db, _users
from ._create import init
from ._generate import generate, new_app
from ._inspect import check, config_show, inspect, routes, version, version_line
from ._output import BAD_INPUT, PROJECT_PROBLEM, console, fail, guarded, report
from ._serve import run, shell
from ._worker import worker

__all__ = ["cli", "main"]


class _Group(typer.core.TyperGroup):
    """The root command: Typer's, with the Rich help's type column left empty for flags."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _hide_flag_types(self)
        for parameter in self.params:
            if parameter.name in ("install_completion", "show_completion"):
                parameter.callback = _shell_detected_first(parameter.callback)
        return super().main(*args, **kwargs)


def _shell_detected_first(callback: Any) -> Any:
    """Typer's completion option, with a one-line error (exit 2) when no shell is found above
    the command (a script, an IDE); Typer would print ``Shell None is not supported``."""

    def detect_then_call(context: typer.Context, parameter: Any, value: Any) -> Any:
        if value is True and not context.resilient_parsing:  # a flag: the shell is detected
            import shellingham  # type: ignore[import-untyped]  # Typer's dependency

            try:
                shellingham.detect_shell()
            except shellingham.ShellDetectionFailure:
                fail(
                    "Cannot tell which shell this is: no bash, zsh, fish or PowerShell runs "
                    "this command. Run it from your shell, or name the shell: "
                    "`_TAUSESTACK_COMPLETE=source_bash tausestack >> ~/.bashrc` "
                    "(source_zsh, source_fish, source_powershell)."
                )
        return callback(context, parameter, value)

    return detect_then_call


def _hide_flag_types(command: Any, parent: typer.Context | None = None) -> None:
    """Typer 0.29's Rich help prints ``<bool>`` next to every flag (``--help <bool>``), as if it
    took a value; its plain help and Typer 0.28 print nothing there. An empty metavar is what
    the Rich help prints instead of the type."""
    context = typer.Context(command, parent=parent, **command.context_settings)
    help_option = command.get_help_option(context)  # made on first use, then kept
    for parameter in [*command.params, *([help_option] if help_option else [])]:
        if getattr(parameter, "is_flag", False) and parameter.metavar is None:
            parameter.metavar = ""
    for subcommand in getattr(command, "commands", {}).values():
        _hide_flag_types(subcommand, context)


def _print_version(value: bool) -> None:
    if value:
        console.print(version_line())
        raise typer.Exit()


cli = typer.Typer(
    name="tausestack",
    cls=_Group,
    help="Create, run and inspect TauseStack projects.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@cli.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the versions of TauseStack, FastAPI and Python, and exit.",
        ),
    ] = False,
) -> None:
    """Options given before the command, such as `--version`."""


config = typer.Typer(help="Look at the merged settings.", no_args_is_help=True)
db = typer.Typer(help="Create and apply database migrations (Alembic).", no_args_is_help=True)
# `downgrade -1` and `upgrade +1`: a negative revision is an argument, not an unknown option.
_RELATIVE_REVISIONS = {"ignore_unknown_options": True}

cli.command("init")(guarded(init, writes=True))
cli.command("new-app")(guarded(new_app, writes=True))
cli.command("run")(guarded(run))
cli.command("routes")(guarded(routes))
cli.command("inspect")(guarded(inspect))
cli.command("generate")(guarded(generate, writes=True))
cli.command("shell")(guarded(shell))
cli.command("worker")(guarded(worker))
cli.command("check")(guarded(check))
cli.command("version")(guarded(version))
config.command("show")(guarded(config_show))
cli.add_typer(config, name="config")
db.command("init")(guarded(_db.init))
db.command("makemigrations")(guarded(_db.makemigrations))
db.command("upgrade", context_settings=_RELATIVE_REVISIONS)(guarded(_db.upgrade))
db.command("downgrade", context_settings=_RELATIVE_REVISIONS)(guarded(_db.downgrade))
db.command("current")(guarded(_db.current))
db.command("history")(guarded(_db.history))
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
            sys.exit(BAD_INPUT)  # as Click and Typer do
        report(f"{message()} (see `tausestack --help`)")
        sys.exit(BAD_INPUT)
    sys.exit(status if isinstance(status, int) else 0)

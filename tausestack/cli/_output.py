"""How the CLI speaks: Rich tables on stdout, one-line errors on stderr with exit codes.

Exit status 2 means the command was given bad input (a name, a path, no project here) and did
nothing; exit status 1 means the project itself has a problem (``check`` lists them).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import TauseStackError

# Markup and emoji codes are off: project names, paths and setting values are printed as given.


def plain_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console that prints exactly what it is given: no colors guessed, no markup or emoji
    codes interpreted."""
    return Console(
        stderr=stderr, width=width, highlight=False, soft_wrap=True, markup=False, emoji=False
    )


console = plain_console()
errors = plain_console(stderr=True)

BAD_INPUT = 2
PROJECT_PROBLEM = 1

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(Exception):
    """The command cannot run as asked; the message says what to do instead."""


def report(message: str) -> None:
    """Print ``Error: message`` on one line to stderr."""
    errors.print(f"[bold red]Error:[/] {escape(' '.join(message.split()))}", markup=True)


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print ``Error: message`` on one line to stderr and exit with ``code``."""
    report(message)
    raise typer.Exit(code)


def guarded(command: F, *, writes: bool = False) -> F:
    """Turn a command's expected errors into one-line messages and exit statuses, not
    tracebacks: bad input exits 2, a problem of the project (a TauseStackError) exits 1.

    ``writes`` marks the commands that write files all at once or not at all (``init``,
    ``new-app``, ``generate``): their OS errors say that nothing was changed.
    """

    @functools.wraps(command)
    def guarded_command(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BadInput as exc:
            fail(str(exc), BAD_INPUT)
        except TauseStackError as exc:
            errors.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True)
            raise typer.Exit(PROJECT_PROBLEM) from None
        except OSError as exc:  # a path that cannot be written, a port in use, a full disk
            where = f" {exc.filename}" if exc.filename else ""
            if writes:
                fail(f"Cannot write{where}: {exc.strerror or exc}. Nothing was changed.")
            fail(f"{where.strip() + ': ' if where else ''}{exc.strerror or exc}.")

    return guarded_command  # type: ignore[return-value]


def cli_command(arguments: str) -> str:
    """``tausestack arguments`` as the user can type it here: the printed next steps work even
    when ``tausestack`` is not on PATH (``.venv/bin/tausestack init`` in a venv not activated).

    The plain name when ``tausestack`` on PATH is the running one, otherwise the path this
    command was run by (as typed, or relative to the working folder), or ``python -m``.
    """
    return f"{_invoked_as()} {arguments}"


def _invoked_as() -> str:
    run_by = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("tausestack")
    on_path = shutil.which("tausestack")
    if run_by.name == "__main__.py":  # python -m tausestack
        here = Path(sys.executable).parent
        if on_path and _same(Path(on_path).parent, here):
            return "tausestack"
        return f"{_typed(Path(sys.executable))} -m tausestack"
    if run_by.stem != "tausestack" or run_by.parent == Path():  # a test runner; the plain name
        return "tausestack"
    if on_path and _same(Path(on_path), run_by):
        return "tausestack"
    return _typed(run_by)


def _same(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def _typed(path: Path) -> str:
    """``path`` as a shell takes it: relative to the working folder when inside it."""
    if path.is_absolute():
        with contextlib.suppress(ValueError):  # outside: the full path
            path = path.relative_to(Path.cwd())
    shown = str(path) if path.is_absolute() or path.parent != Path() else f".{os.sep}{path}"
    return shlex.quote(shown) if os.name != "nt" else (f'"{shown}"' if " " in shown else shown)

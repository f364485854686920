"""How the CLI speaks: Rich tables on stdout, one-line errors on stderr with exit codes.

Exit status 2 means the command was given bad input (a name, a path, no project here) and did
nothing; exit status 1 means the project itself has a problem (``check`` lists them).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

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


class BadInput(Exception):
    """The command cannot run as asked; the message says what to do instead."""


def report(message: str) -> None:
    """Print ``Error: message`` on one line to stderr."""
    errors.print(f"[bold red]Error:[/] {escape(' '.join(message.split()))}", markup=True)


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print ``Error: message`` on one line to stderr and exit with ``code``."""
    report(message)
    raise typer.Exit(code)

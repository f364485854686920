"""How the CLI speaks: Rich tables on stdout, one-line errors on stderr with exit codes.

Exit status 2 means the command was given bad input (a name, a path, no project here) and did
nothing; exit status 1 means the project itself has a problem (``check`` lists them).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

BAD_INPUT = 2
PROJECT_PROBLEM = 1


class BadInput(Exception):
    """The command cannot run as asked; the message says what to do instead."""


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print ``Error: message`` on one line to stderr and exit with ``code``."""
    errors.print(f"[bold red]Error:[/] {' '.join(message.split())}", markup=True)
    raise typer.Exit(code)

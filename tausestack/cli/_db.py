"""``db init``, ``makemigrations``, ``upgrade``, ``downgrade``, ``current`` and ``history``.

The commands drive Alembic through :mod:`tausestack.sdk.database.migrations`; Alembic's
errors (an unknown revision, a database behind its head) become one-line messages with the fix.
Alembic and SQLAlchemy are imported when a ``db`` command runs, not when the CLI starts
(they cost ~300 ms).
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ._output import BadInput, cli_command, console
from ._project import Project
from ._scaffold import add_files, render_tree

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

MIGRATIONS_FOLDER = "migrations"  # the same as tausestack.sdk.database.migrations

SqlOption = Annotated[
    bool, typer.Option("--sql", help="Print the SQL instead of running it (offline mode).")
]

# What to do next, for the Alembic errors a user meets in ordinary work.
HINTS = {
    "Target database is not up to date": "apply the pending revisions with "
    "`tausestack db upgrade`, then run makemigrations again",
    "Can't locate revision": "see `tausestack db history` for the revisions",
    "Relative revision": "see `tausestack db history` and `tausestack db current`",
    "Multiple head": "see `tausestack db history` and pass one revision id",
}


def init() -> None:
    """Create migrations/ (Alembic's environment, wired to the installed apps' models)."""
    project = _project()
    folder = project.root / MIGRATIONS_FOLDER
    if folder.exists():
        raise BadInput(
            f"{folder} already exists; the project has migrations already (remove the folder "
            "to start over)."
        )
    files = {
        Path(MIGRATIONS_FOLDER) / relative: content
        for relative, content in render_tree("migrations", {"project": project.root.name}).items()
    }
    written = add_files(project.root, files, refusal="remove it to start over")
    console.print(f"Created {MIGRATIONS_FOLDER}/ in {project.root}:")
    for path in written:
        console.print(f"  {path.relative_to(project.root)}")
    console.print(
        "Next: define table models in an app (class Tag(SQLModel, table=True)), then\n"
        '  tausestack db makemigrations -m "create tables"\n'
        "  tausestack db upgrade"
    )


def makemigrations(
    message: Annotated[
        str,
        typer.Option(
            "--message",
            "-m",
            help='What the revision does, e.g. "add invoices".',
            show_default=False,
        ),
    ],
    merge: Annotated[
        bool,
        typer.Option(
            "--merge",
            help="Write a revision that merges the heads (revisions made from the same parent).",
        ),
    ] = False,
) -> None:
    """Write a revision with the changes between the models and the database (autogenerate)."""
    from alembic import command

    from ..sdk.database.migrations import found_tables, skip_empty_revisions

    message = message.strip()
    if not message:
        raise BadInput('--message must say what the revision does, e.g. -m "add invoices".')
    project, config = _migrations()
    if merge:
        _merge(project, config, message)
        return
    skip_empty_revisions(config)
    with _detected_changes() as changes, _alembic_errors():
        created = command.revision(config, message=message, autogenerate=True)
    scripts = [
        script
        for script in (created if isinstance(created, list) else [created])
        if script is not None
    ]
    if not scripts:
        console.print("No changes detected.")
        if not found_tables(config):
            apps = ", ".join(project.settings().installed_apps) or "none"
            console.print(
                f"No table models were found in the installed apps ({apps}): a model needs "
                "table=True (class Tag(SQLModel, table=True)) and must be in a module discovery "
                "imports, such as apps/APP/models/."
            )
        return
    for script in scripts:
        console.print(
            f"Created revision {script.revision} ({message}) in {_written(script, project)}:"
        )
        for change in changes:
            console.print(f"  {change}")
    console.print(f"Review it, then apply it with `{cli_command('db upgrade')}`.")


def _merge(project: Project, config: Config, message: str) -> None:
    """Write the revision that makes the heads one again (Alembic's ``merge heads``)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) < 2:
        raise BadInput(
            f"There is nothing to merge: migrations/versions has {len(heads)} head(s). --merge "
            "joins revisions made from the same parent."
        )
    with _alembic_errors():
        script = command.merge(config, "heads", message=message)
    if script is None:
        raise BadInput("Alembic wrote no merge revision.")
    merged = ", ".join(sorted(heads))
    console.print(
        f"Created merge revision {script.revision} of {merged} in {_written(script, project)}."
    )
    console.print(f"Apply it with `{cli_command('db upgrade')}`.")


def _written(script: Script, project: Project) -> str:
    """Where a new revision file is, relative to the project, formatted with ruff if it can."""
    path = Path(script.path).resolve()
    formatted = " (formatted with ruff)" if _format(path, project.root) else ""
    return f"{path.relative_to(project.root)}{formatted}"


def upgrade(
    revision: Annotated[
        str,
        typer.Argument(
            metavar="[REV]", help="Revision to upgrade to: head (default), an id or +N."
        ),
    ] = "head",
    sql: SqlOption = False,
) -> None:
    """Apply revisions up to REV (every pending revision by default)."""
    from alembic import command

    _project_root, config = _migrations()
    with _alembic_errors():
        command.upgrade(config, revision, sql=sql)
    if not sql:
        _report_steps(config, nothing="Nothing to apply")


def downgrade(
    revision: Annotated[
        str,
        typer.Argument(
            metavar="REV",
            help="Revision to go back to: an id, -N (-1 reverts the last one) or base.",
            show_default=False,
        ),
    ],
    sql: SqlOption = False,
) -> None:
    """Revert revisions down to REV (-1 reverts the last applied revision)."""
    from alembic import command

    _project_root, config = _migrations()
    with _alembic_errors():
        command.downgrade(config, revision, sql=sql)
    if not sql:
        _report_steps(config, nothing="Nothing to revert")


def current() -> None:
    """Show the revision the database is at, and how many revisions are pending."""
    from alembic.script import ScriptDirectory

    from ..sdk.database.migrations import current_revisions

    _project_root, config = _migrations()
    script = ScriptDirectory.from_config(config)
    with _alembic_errors():
        revisions = current_revisions(config)
        pending = len(list(script.iterate_revisions("heads", revisions or "base")))
    console.print(f"Database {_database(config)} is at {_describe(script, revisions)}.")
    if pending:
        upgrade = cli_command("db upgrade")
        console.print(f"{pending} revision(s) pending: apply them with `{upgrade}`.")
    elif revisions:
        console.print("Up to date.")
    else:
        console.print(f"No revisions yet: create one with `{cli_command(_MAKEMIGRATIONS)}`.")


_MAKEMIGRATIONS = 'db makemigrations -m "..."'


def history() -> None:
    """List the revisions, newest first (from the files in migrations/versions)."""
    from alembic.script import ScriptDirectory

    _project_root, config = _migrations()
    script = ScriptDirectory.from_config(config)
    with _alembic_errors():
        revisions = list(script.walk_revisions())
    if not revisions:
        console.print(f"No revisions yet: create one with `{cli_command(_MAKEMIGRATIONS)}`.")
        return
    table = Table("revision", "parent", "message", title="Migrations (newest first)")
    for revision in revisions:
        marker = " (head)" if revision.is_head else ""
        parent = ", ".join(_as_tuple(revision.down_revision)) or "<base>"
        table.add_row(f"{revision.revision}{marker}", parent, revision.doc)
    console.print(table)
    console.print(f"Files: {script.versions}")


# -- helpers ------------------------------------------------------------------------------------


def _project() -> Project:
    project = Project.find()
    project.activate()
    return project


def _migrations() -> tuple[Project, Config]:
    """The project and its Alembic configuration; refuse when there is no migrations/ yet."""
    from ..sdk.database.migrations import migration_config

    project = _project()
    folder = project.root / MIGRATIONS_FOLDER
    if not (folder / "env.py").is_file():
        raise BadInput(
            f"No migrations in this project ({folder / 'env.py'} does not exist); create them "
            "with `tausestack db init`."
        )
    return project, migration_config(project.root, project.settings(), quiet=True)


@contextmanager
def _alembic_errors() -> Iterator[None]:
    """Alembic's expected errors as one line (and the fix, when we know it)."""
    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    try:
        yield
    except (CommandError, RevisionError) as exc:
        text = " ".join(str(exc).split()).rstrip(".")
        hint = next((fix for start, fix in HINTS.items() if text.startswith(start)), None)
        raise BadInput(f"{text}; {hint}." if hint else f"{text}.") from None


@contextmanager
def _detected_changes() -> Iterator[list[str]]:
    """Collect what autogenerate reports ("Detected added table 'tag'") while it runs."""
    changes: list[str] = []
    handler = _ListHandler(changes)
    logger = logging.getLogger("alembic.autogenerate")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # a logging setup of the user's would print them a second time
    try:
        yield changes
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


class _ListHandler(logging.Handler):
    """Keeps autogenerate's "Detected ..." messages."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.INFO)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Detected"):
            self.messages.append(record.getMessage())


def _format(path: Path, root: Path) -> bool:
    """Format a new revision with ruff when it is installed (under the project's settings).

    Django's makemigrations does the same with black: the project's `ruff format --check`
    keeps passing after a makemigrations.
    """
    if importlib.util.find_spec("ruff") is None:
        return False
    ruff = [sys.executable, "-m", "ruff", "format", "--quiet", str(path)]
    return subprocess.run(ruff, cwd=root, capture_output=True, check=False).returncode == 0


def _report_steps(config: Config, *, nothing: str) -> None:
    """Say what an upgrade or downgrade did, and where the database is now."""
    from alembic.script import ScriptDirectory

    from ..sdk.database.migrations import applied_steps, current_revisions

    script = ScriptDirectory.from_config(config)
    with _alembic_errors():
        where = _describe(script, current_revisions(config))
    steps = applied_steps(config)
    if not steps:
        console.print(f"{nothing}: database {_database(config)} is at {where}.")
        return
    for step in steps:
        verb = "Applied" if step.is_upgrade else "Reverted"
        console.print(f"{verb} {step.revision}: {step.message}")
    console.print(f"Database {_database(config)} is now at {where}.")


def _describe(script: ScriptDirectory, revisions: tuple[str, ...]) -> str:
    """``1a2b3c (head): create tag`` for each revision, or ``no revision (base)``."""
    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    if not revisions:
        return "no revision (base)"
    described = []
    for revision in revisions:
        try:
            found = script.get_revision(revision)
        except (CommandError, RevisionError):
            found = None
        if found is None:
            described.append(f"{revision} (no file in {script.versions} has this revision)")
        else:
            marker = " (head)" if found.is_head else ""
            described.append(f"{revision}{marker}: {found.doc}")
    return ", ".join(described)


def _database(config: Config) -> str:
    """The database URL with its password hidden."""
    from ..sdk.database import _urls

    url = config.get_main_option("sqlalchemy.url") or ""
    return _urls.describe(_urls.parse(url, "database.url", "the migration configuration"))


def _as_tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)

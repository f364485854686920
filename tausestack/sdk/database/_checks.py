"""The database's check: is the schema what the migrations and the models expect?

``tausestack check`` runs it and fails on what it finds; an application runs it as it starts
and logs each problem as a warning (the checks hook is described in ``tausestack._autoconfig``),
as Django's ``runserver`` says "You have 2 unapplied migration(s)". It reads and never writes:

* with ``migrations/``: the revision the database is at (Alembic's version table) against the
  files in ``migrations/versions`` — revisions not applied yet, a database at a revision no file
  has, several heads;
* then, or without ``migrations/`` (a project that creates its tables from the metadata): the
  tables and columns of the installed apps' table models against the database's.

An application with neither migrations nor table models is not connected to; nor is an
in-memory SQLite database, and a SQLite file that does not exist is not created.

The check takes at most ``database.check_timeout`` seconds: a migration running elsewhere holds
a lock on the version table (or the tables) until it commits, and an application starting then
must not wait for it. PostgreSQL ends the check's statements itself after that time
(``lock_timeout``, ``statement_timeout``); an asyncio timeout bounds the rest (connecting, other
databases). Running out of time is reported as a problem, and the application starts anyway.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from . import _engines, _urls
from ._database import connection_error, missing_sqlite_folder
from ._tables import MIGRATIONS_FOLDER, table_metadata
from .errors import DatabaseConnectionError, DatabaseError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

    from ...app import TauseStackApp
    from ...settings import Settings

__all__ = ["check_schema"]

UPGRADE = "`tausestack db upgrade`"


@dataclass(frozen=True)
class _Schema:
    """What the database holds: the revisions it is at, and the models' tables it has."""

    revisions: tuple[str, ...]
    #: The full name of each of the models' tables found, with its columns.
    columns: dict[str, set[str]]


async def check_schema(app: TauseStackApp, *, startup: bool) -> list[str]:
    """The problems of the application's database schema (see the module docstring).

    At startup it does nothing when ``database.check_on_startup`` is off.
    """
    settings = app.settings
    if startup and not settings.database.check_on_startup:
        return []
    if settings.database.backend != "sqlalchemy":
        return []  # another backend keeps its data its own way
    root = settings.config_dir
    urls = _urls.resolve(settings)
    if not startup:  # at startup, the sync driver was imported as the app connected
        source = settings.source_of("database", "url")
        async_source = (
            settings.source_of("database", "async_url") if settings.database.async_url else source
        )
        missing = _urls.missing_drivers(urls, (source, async_source))
        if missing:
            return missing
    tables = table_metadata(app.discovery)[1]
    migrated = (root / MIGRATIONS_FOLDER / "env.py").is_file()
    if not tables and not migrated:
        return []
    url = urls.asynchronous  # the database the app's sessions use (the async driver is there)
    if _in_memory(url):
        return []
    script = _revisions(root, settings) if migrated else None
    # Named as `db current` names it, unless database.async_url points elsewhere.
    elsewhere = (urls.sync.host, urls.sync.port, urls.sync.database) != (
        url.host,
        url.port,
        url.database,
    )
    where = _urls.describe(url if elsewhere else urls.sync)
    timeout = settings.database.check_timeout
    try:
        async with asyncio.timeout(timeout):
            schema = await _read(url, settings, tables, revisions=migrated)
    except DatabaseConnectionError as exc:
        return [f"Cannot check the database schema. {exc}"]
    except (TimeoutError, _TimedOut):
        return [
            f"Could not check the schema of the database {where} (timed out after {timeout:g} "
            "s): another session holds a lock on its tables (a migration running?) or the "
            "server is slow to answer. Run `tausestack check` once it is free, or raise "
            f"database.check_timeout (set in {settings.source_of('database', 'check_timeout')})."
        ]
    if script is not None:
        problems = _revision_problems(script, schema.revisions, where)
        if problems:
            return problems
    return _model_problems(tables, schema, where, migrated=migrated)


def _revisions(root: Path, settings: Settings) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    from .migrations import migration_config

    return ScriptDirectory.from_config(migration_config(root, settings, quiet=True))


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:"


async def _read(url: URL, settings: Settings, tables: list[Table], *, revisions: bool) -> _Schema:
    """Read the revisions (when the project has migrations) and the models' tables."""
    database = url.database or ""
    sqlite_file = url.get_backend_name() == "sqlite" and not database.startswith("file:")
    source = settings.source_of("database", "url")
    if sqlite_file and not Path(database).is_file():  # connecting would create it
        missing = missing_sqlite_folder(url, source)
        if missing is not None:
            raise missing
        return _Schema((), {})
    engine = _engines.create(
        url,
        create_async_engine,
        settings.database,
        source,
        profile=settings.profile,
        single_use=True,
    )
    try:
        try:
            connection = await engine.connect()
        except (DBAPIError, OSError) as exc:
            raise connection_error(url, exc, source) from None
        try:
            seconds = settings.database.check_timeout
            found: _Schema = await connection.run_sync(_inspect, tables, revisions, seconds)
        except DBAPIError as exc:
            if _sqlstate(exc) in _TIMEOUT_STATES:
                raise _TimedOut from None
            reason = str(exc.orig or exc).strip().splitlines()[0]
            message = f"Cannot read the schema of {_urls.describe(url)}: {reason}."
            raise DatabaseError(message) from None
        finally:
            await connection.close()
    finally:
        await engine.dispose()
    return found


#: PostgreSQL's errors for a lock or a statement that took too long.
_TIMEOUT_STATES = {"55P03", "57014"}  # lock_not_available, query_canceled


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a driver's error: psycopg and SQLAlchemy's asyncpg adapter say
    ``sqlstate``, psycopg2 ``pgcode``."""
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return str(code) if code else None


class _TimedOut(Exception):
    """The database ended a statement of the check at ``database.check_timeout``."""


def _inspect(
    connection: Connection, tables: list[Table], revisions: bool, timeout: float
) -> _Schema:
    if connection.dialect.name == "postgresql":  # for this transaction only
        milliseconds = max(1, round(timeout * 1000))
        connection.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
        connection.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
    current: tuple[str, ...] = ()
    if revisions:
        from alembic.runtime.migration import MigrationContext

        current = tuple(MigrationContext.configure(connection).get_current_heads())
    inspector = inspect(connection)
    columns: dict[str, set[str]] = {}
    for schema in {table.schema for table in tables}:
        present = set(inspector.get_table_names(schema=schema))
        names = [table.name for table in tables if table.schema == schema and table.name in present]
        if not names:
            continue
        for (_, name), found in inspector.get_multi_columns(schema, filter_names=names).items():
            columns[f"{schema}.{name}" if schema else name] = {column["name"] for column in found}
    return _Schema(current, columns)


def _revision_problems(script: ScriptDirectory, current: tuple[str, ...], where: str) -> list[str]:
    versions = _relative(script.versions)
    unknown = [revision for revision in current if not _known(script, revision)]
    if unknown:
        return [
            f"The database {where} is at revision {', '.join(unknown)}, which no file in "
            f"{versions} has: the files are older than the database (get the latest code), or "
            "the revision's file was deleted."
        ]
    problems = []
    heads = script.get_heads()
    if len(heads) > 1:
        described = ", ".join(_describe(script, head) for head in heads)
        problems.append(
            f"{versions} has {len(heads)} heads ({described}): revisions were made from the same "
            f"parent, on two branches say. Merge them with `tausestack db makemigrations --merge "
            f'-m "merge"`, then run {UPGRADE}.'
        )
    pending = list(reversed(list(script.iterate_revisions("heads", current or "base"))))
    if pending:
        at = ", ".join(_describe(script, revision) for revision in current) or "no revision"
        listed = ", ".join(f"{step.revision} ({step.doc})" for step in pending)
        problems.append(
            f"You have {len(pending)} unapplied migration(s): {listed}. The database {where} is "
            f"at {at}; the app may fail (no such table or column) until you apply them with "
            f"{UPGRADE}."
        )
    return problems


def _model_problems(
    tables: list[Table], schema: _Schema, where: str, *, migrated: bool
) -> list[str]:
    if migrated:
        fix = (
            f"no revision in {MIGRATIONS_FOLDER}/versions makes them; write one with "
            f'`tausestack db makemigrations -m "..."`, then run {UPGRADE}'
        )
    else:
        fix = (
            "create them with migrations: `tausestack db init`, `tausestack db makemigrations "
            f'-m "create tables"`, then {UPGRADE}'
        )
    problems = []
    missing = [table.fullname for table in tables if table.fullname not in schema.columns]
    if missing:
        problems.append(
            f"The database {where} has no table {', '.join(sorted(missing))} for the installed "
            f"apps' models (requests using them fail with 'no such table'): {fix}."
        )
    lacking = [
        f"{table.fullname}.{column.name}"
        for table in tables
        if table.fullname in schema.columns
        for column in table.columns
        if column.name not in schema.columns[table.fullname]
    ]
    if lacking:
        problems.append(
            f"The database {where} lacks the column(s) {', '.join(sorted(lacking))} of the "
            f"installed apps' models (requests using them fail with 'no such column'): {fix}."
        )
    return problems


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def _describe(script: ScriptDirectory, revision: str) -> str:
    found: Any = script.get_revision(revision)
    return f"{revision} ({found.doc})" if found is not None else revision


def _relative(folder: str) -> str:
    path = Path(folder)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

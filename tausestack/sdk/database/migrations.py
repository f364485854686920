"""Schema migrations of a TauseStack project, with Alembic.

Alembic is SQLAlchemy's own migration tool: it autogenerates revisions from the models'
metadata, runs them on every database SQLAlchemy speaks, and recreates SQLite tables for the
``ALTER`` statements SQLite lacks ("batch mode"). TauseStack adds two things around it:

* :func:`migration_config` builds Alembic's configuration in code from the project's settings,
  so a project needs no ``alembic.ini``: revisions live in ``<project>/migrations``, and the
  database is the project's ``database.url`` (its sync driver).
* :func:`run_migrations` is what the generated ``migrations/env.py`` calls: it loads the
  project's settings, runs discovery over ``installed_apps`` and gives Alembic the metadata of
  every table model the installed apps define. Tables of models defined elsewhere (a library
  sharing ``SQLModel.metadata``, a test) are left alone. A NOT NULL column added to a table
  gets the model's constant default as its server default, so the table's rows get it too
  (:mod:`._autogenerate`); the logic lives here, so every project's ``env.py`` has it.

``tausestack db ...`` is the usual way in; the functions work with Alembic's own API as well::

    from alembic import command

    config = migration_config(Path("."))
    command.upgrade(config, "head")
"""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import context
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from ...discovery import discover
from ...settings import Settings
from . import _engines, _urls
from ._autogenerate import create_enum_types, fill_server_defaults, render_item
from ._tables import MIGRATIONS_FOLDER, table_metadata
from .errors import DatabaseConnectionError, DatabaseError

if TYPE_CHECKING:
    from alembic.operations.ops import MigrationScript
    from alembic.runtime.migration import MigrationContext, MigrationInfo
    from sqlalchemy.schema import SchemaItem

__all__ = [
    "MIGRATIONS_FOLDER",
    "AppliedStep",
    "applied_steps",
    "current_revisions",
    "found_tables",
    "migration_config",
    "run_migrations",
    "skip_empty_revisions",
    "table_metadata",
]

#: Revision files sort by creation date: ``2026_01_31_1a2b3c4d5e6f_create_tag.py``.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(rev)s_%(slug)s"

# Keys of Config.attributes, where the command and env.py exchange Python objects.
SETTINGS = "tausestack.settings"
SKIP_EMPTY = "tausestack.skip_empty_revisions"
APPLIED = "tausestack.applied"
TABLES = "tausestack.tables"


@dataclass(frozen=True)
class AppliedStep:
    """One revision applied (or reverted) by an upgrade or a downgrade."""

    revision: str
    message: str
    is_upgrade: bool


def migration_config(
    root: Path, settings: Settings | None = None, *, quiet: bool = False
) -> Config:
    """Alembic's configuration for the project in ``root``, built without an ``alembic.ini``.

    Args:
        root: The project folder (the one holding ``application.yaml``).
        settings: The project's settings, when already loaded; read from ``root`` otherwise.
        quiet: Silence Alembic's own messages ("Generating ... done", ``command.current``'s
            output), for callers that report in their own words.
    """
    settings = settings if settings is not None else Settings(config_dir=root)
    url = _urls.resolve(settings).sync
    config = Config(stdout=sys.stdout, cmd_opts=Namespace(quiet=quiet))
    config.set_main_option("script_location", str(root / MIGRATIONS_FOLDER))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    # ConfigParser interpolates %: a URL-encoded password (%40) must be escaped to survive.
    plain_url = url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", plain_url.replace("%", "%%"))
    config.attributes[SETTINGS] = settings
    return config


def run_migrations() -> None:
    """Run Alembic's migration environment for a TauseStack project (called by ``env.py``).

    Online, migrations run on one connection of the project's database, in one transaction;
    offline (``--sql``) they are printed. Autogenerate compares column types, uses batch mode on
    SQLite, gives added NOT NULL columns the model's default as server default (or refuses
    with ``MigrationError`` when there is none) and, when asked by ``tausestack db
    makemigrations``, writes no file if nothing changed.
    """
    config = context.config
    root = _project_root(config)
    settings = config.attributes.get(SETTINGS)
    if not isinstance(settings, Settings):
        settings = Settings(config_dir=root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    discovery = discover(settings.installed_apps, settings.discovery.modules)
    metadata, tables = table_metadata(discovery)
    config.attributes[TABLES] = sorted(table.fullname for table in tables)
    configured = config.get_main_option("sqlalchemy.url")
    url = make_url(configured) if configured else _urls.resolve(settings).sync
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "compare_type": True,
        "render_as_batch": url.get_backend_name() == "sqlite",
        "include_object": _only_app_tables({id(table) for table in tables}, metadata),
        "process_revision_directives": _revision_directives,
        "render_item": render_item,
        "on_version_apply": _record_step,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    _run_online(url, settings, options)


def current_revisions(config: Config) -> tuple[str, ...]:
    """The revisions the database is at (empty before the first upgrade); nothing is changed."""
    script = ScriptDirectory.from_config(config)
    found: list[str] = []

    def record(revision: Any, migration: MigrationContext) -> list[Any]:
        found.extend(migration.get_current_heads())
        return []

    with EnvironmentContext(config, script, fn=record, dont_mutate=True):
        script.run_env()
    return tuple(found)


def applied_steps(config: Config) -> list[AppliedStep]:
    """The steps the last upgrade or downgrade run with ``config`` applied, in order."""
    steps: list[AppliedStep] = config.attributes.setdefault(APPLIED, [])
    return steps


def found_tables(config: Config) -> list[str]:
    """Names of the installed apps' tables seen by the last command run with ``config``."""
    tables: list[str] = config.attributes.get(TABLES, [])
    return tables


def skip_empty_revisions(config: Config) -> None:
    """Make autogenerate write no revision file when it finds no change (``makemigrations``)."""
    config.attributes[SKIP_EMPTY] = True


def _project_root(config: Config) -> Path:
    settings = config.attributes.get(SETTINGS)
    if isinstance(settings, Settings):
        return settings.config_dir.resolve()
    # Started by Alembic's own command line: the project is the folder above migrations/.
    return Path(config.get_main_option("script_location") or MIGRATIONS_FOLDER).resolve().parent


def _run_online(url: URL, settings: Settings, options: Mapping[str, Any]) -> None:
    source = settings.source_of("database", "url")
    try:
        hide = _engines.hides_parameters(settings.profile)
        engine = create_engine(url, poolclass=NullPool, hide_parameters=hide)
    except (NoSuchModuleError, ImportError) as exc:
        raise _urls.missing_driver(url, exc, source) from None
    transactional = url.get_backend_name() != "sqlite" or _sqlite_transactions(engine)
    try:
        with _connect(engine, url, source) as connection:
            context.configure(connection=connection, transactional_ddl=transactional, **options)
            try:
                with context.begin_transaction():
                    context.run_migrations()
            except DBAPIError as exc:
                statement = " ".join(str(exc.statement or "").split())
                raise DatabaseError(
                    f"A migration failed on {_urls.describe(url)}: {_reason(exc)} (while "
                    f"running: {statement[:200]}). Fix the revision file in "
                    f"{MIGRATIONS_FOLDER}/versions and run the command again; on PostgreSQL and "
                    "SQLite the database was left as it was before the command."
                ) from None
    finally:
        engine.dispose()


def _sqlite_transactions(engine: Engine) -> bool:
    """Make pysqlite run DDL inside transactions, so a failed migration changes nothing.

    The sqlite3 module commits before DDL on its own; SQLAlchemy's documented recipe hands the
    BEGIN to SQLAlchemy instead. Other drivers (aiosqlite has no sync use here) are left alone.
    """
    if engine.dialect.driver != "pysqlite":
        return False

    def autocommit_off(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    def begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    event.listen(engine, "connect", autocommit_off)
    event.listen(engine, "begin", begin)
    return True


def _connect(engine: Any, url: URL, source: str) -> Connection:
    try:
        connection: Connection = engine.connect()
    except DBAPIError as exc:
        if url.host:
            where = f"host {url.host}:{url.port or 'default port'}"
            check = "that the database server is running"
        else:
            where, check = "file", "that its folder exists and is writable"
        raise DatabaseConnectionError(
            f"Cannot connect to {_urls.describe(url)} ({where}, driver {url.get_driver_name()}): "
            f"{_reason(exc)}. Check database.url (set in {source}) and {check}."
        ) from None
    return connection


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip() if exc.orig is not None else str(exc)
    return (text.splitlines() or ["unknown error"])[0].rstrip(".")


def _only_app_tables(known: set[int], metadata: MetaData | list[MetaData]) -> Any:
    """Compare only the installed apps' tables.

    Tables that share the apps' metadata without belonging to an installed app are left out,
    and so are tables in the database that no model describes: a migration never drops a table
    it does not know (write ``op.drop_table`` by hand to drop one).
    """
    own = {id(table) for meta in _as_list(metadata) for table in meta.tables.values()}
    others = own - known

    def include(
        item: SchemaItem, name: str | None, kind: str, reflected: bool, compare_to: Any
    ) -> bool:
        if kind == "table" and reflected and compare_to is None:
            return False
        return not (kind == "table" and not reflected and id(item) in others)

    return include


def _as_list(metadata: MetaData | list[MetaData]) -> list[MetaData]:
    return metadata if isinstance(metadata, list) else [metadata]


def _revision_directives(
    migration: MigrationContext, revision: Any, directives: list[MigrationScript]
) -> None:
    """Alembic's process_revision_directives hook, for every autogenerated revision."""
    fill_server_defaults(migration, directives)
    create_enum_types(migration, directives)
    if not migration.config or not migration.config.attributes.get(SKIP_EMPTY):
        return
    if directives and all(_is_empty(script) for script in directives):
        directives.clear()


def _is_empty(script: MigrationScript) -> bool:
    return all(ops.is_empty() for ops in script.upgrade_ops_list)


def _record_step(*, ctx: MigrationContext, step: MigrationInfo, heads: Any, run_args: Any) -> None:
    """Alembic's on_version_apply hook (called with these keyword arguments)."""
    if ctx.config is None or step.is_stamp:
        return
    revision = step.up_revision
    applied_steps(ctx.config).append(
        AppliedStep(
            revision=step.up_revision_id or "",
            message=revision.doc if isinstance(revision, Script) else "",
            is_upgrade=step.is_upgrade,
        )
    )

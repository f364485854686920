"""Temporary databases for a test session: made on first use, with tables, dropped at the end.

One database per project, installed apps and server, so two apps (or two projects) in one
session never see each other's tables. Its tables are made once: by the project's migrations
(``alembic upgrade head``) when it has a ``migrations/`` folder, as ``tausestack db upgrade``
would, else from the installed apps' table models.

* SQLite in a file (the default ``sqlite:///app.db`` included): a new file in the session's
  temporary folder.
* SQLite in memory (``sqlite://``): a named in-memory database with a shared cache, so that
  Alembic's own connection sees the same database; one pooled connection keeps it alive.
* PostgreSQL: ``CREATE DATABASE tausestack_test_<project>_<random>`` on the server of the URL,
  dropped at the end, and by the next session when a killed one could not (see ``_postgres``).
* MySQL and MariaDB: the same, through PyMySQL (see ``_mysql``).
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..discovery import Discovery
from ..sdk.database import _engines
from ..sdk.database.migrations import MIGRATIONS_FOLDER, migration_config, table_metadata
from ..sdk.settings import DatabaseSettings
from ..settings import Settings
from ._mysql import make_database as make_mysql_database
from ._postgres import make_database, project_part
from .errors import TestDatabaseError

#: Where a database is made (a server, SQLite in a file or in memory), the project, its apps.
_Key = tuple[str, Path, tuple[str, ...]]


class TemporaryDatabase:
    """One temporary database of the session, and the engine its tests' connections come from."""

    def __init__(self, url: URL, drop: Callable[[], None] | None = None) -> None:
        self.url = url
        self.engine: Engine = _engines.create(
            url, create_engine, DatabaseSettings(), "the test database"
        )
        self._drop = drop
        self._ready = False
        self._lock = threading.Lock()

    @property
    def setting(self) -> str:
        """The URL as ``database.url`` takes it (with its password)."""
        return self.url.render_as_string(hide_password=False)

    def prepare(self, settings: Settings, discovery: Discovery) -> None:
        """Make the tables of the installed apps, once: by migrations when the project has them."""
        with self._lock:
            if self._ready:
                return
            with self.engine.connect():  # an in-memory database lives while this pool holds it
                pass
            folder = settings.config_dir / MIGRATIONS_FOLDER
            if (folder / "env.py").is_file():
                self._migrate(settings, discovery, folder)
            else:
                self._create_tables(discovery)
            self._ready = True

    def _migrate(self, settings: Settings, discovery: Discovery, folder: Path) -> None:
        command.upgrade(migration_config(settings.config_dir, settings, quiet=True), "head")
        _, tables = table_metadata(discovery)
        inspector = inspect(self.engine)
        missing = [
            table.fullname
            for table in tables
            if not inspector.has_table(table.name, schema=table.schema)
        ]
        if missing:
            raise TestDatabaseError(
                f"The project's migrations ({folder}) do not create the table(s) "
                f"{', '.join(sorted(missing))} that the installed apps' models define. Run "
                '`tausestack db makemigrations -m "..."`, check the revision it writes, and run '
                "the tests again."
            )

    def _create_tables(self, discovery: Discovery) -> None:
        metadata, tables = table_metadata(discovery)
        with self.engine.begin() as connection:
            for meta in metadata if isinstance(metadata, list) else [metadata]:
                meta.create_all(connection, tables=[t for t in tables if t.metadata is meta])

    def close(self) -> None:
        """Close the pooled connections and drop the database."""
        self.engine.dispose()
        if self._drop is not None:
            self._drop()


class TemporaryDatabases:
    """The session's temporary databases, keyed by server, project and installed apps."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._databases: dict[_Key, TemporaryDatabase] = {}
        #: A database that could not be made is not tried again by every test of the session.
        self._failures: dict[_Key, TestDatabaseError] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings, server: str | None) -> TemporaryDatabase:
        """The temporary database for an app with ``settings``, made on first use.

        Args:
            settings: The app's settings; their ``database.url`` says where to make it unless
                ``server`` does.
            server: A database URL naming where to make it (``tausestack_database_url``).
        """
        if server is not None:
            source = "the tausestack_database_url fixture"
            url = _parse(server, source)
        else:
            source = f"database.url (set in {settings.source_of('database', 'url')})"
            url = _parse(settings.database.url, source)
        if url.get_backend_name() != "sqlite":
            place = _describe(url)  # one server, user and database
        else:  # any file makes a temporary file; in memory makes a database in memory
            place = "sqlite-memory" if _engines._in_memory(url) else "sqlite-file"
        key = (place, settings.config_dir.resolve(), tuple(settings.installed_apps))
        with self._lock:
            if key in self._failures:
                raise TestDatabaseError(str(self._failures[key]))
            database = self._databases.get(key)
            if database is None:
                try:
                    database = self._databases[key] = self._make(url, settings, source)
                except TestDatabaseError as exc:
                    self._failures[key] = exc
                    raise
            return database

    def _make(self, url: URL, settings: Settings, source: str) -> TemporaryDatabase:
        family = url.get_backend_name()
        suffix = uuid.uuid4().hex[:8]
        if family == "sqlite" and _engines._in_memory(url):
            shared = {"mode": "memory", "cache": "shared", "uri": "true"}
            name = f"file:tausestack-test-{suffix}"
            return TemporaryDatabase(URL.create("sqlite", database=name, query=shared))
        if family == "sqlite":
            path = self.folder / f"{settings.config_dir.resolve().name or 'test'}-{suffix}.db"
            return TemporaryDatabase(URL.create("sqlite", database=str(path)))
        project = project_part(settings.config_dir.resolve().name)
        if family == "postgresql":
            return TemporaryDatabase(*make_database(url, project, source))
        if family in ("mysql", "mariadb"):
            return TemporaryDatabase(*make_mysql_database(url, project, source))
        raise TestDatabaseError(
            f"tausestack_database makes test databases on SQLite, PostgreSQL and MySQL; {source} "
            f"is {_describe(url)}. Point the tausestack_database_url fixture at a PostgreSQL or "
            "MySQL server or at sqlite:// for these tests."
        )

    def close(self) -> None:
        """Drop every database made in the session (a server already gone is warned about)."""
        with self._lock:
            databases, self._databases = list(self._databases.values()), {}
        for database in databases:
            try:
                database.close()
            except TestDatabaseError as exc:
                warnings.warn(str(exc), stacklevel=1)


def _parse(text: str, source: str) -> URL:
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise TestDatabaseError(
            f"{source} is not a database URL; write it as dialect+driver://user:password@host/"
            "database, e.g. postgresql://app:secret@localhost:5432/app or sqlite:///app.db."
        ) from None
    backend, plus, driver = url.drivername.partition("+")
    if backend == "postgres":  # an alias SQLAlchemy no longer takes
        url = url.set(drivername=f"postgresql{plus}{driver}")
    return url


def _describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)

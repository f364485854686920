"""Database URLs: parsing, the sync and async driver of each family, and safe descriptions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import DatabaseConfigurationError

if TYPE_CHECKING:
    from ...settings import Settings


@dataclass(frozen=True)
class Family:
    """The drivers TauseStack uses for one kind of database, and how to install them."""

    sync_driver: str
    async_driver: str
    install: str


FAMILIES: dict[str, Family] = {
    "sqlite": Family("pysqlite", "aiosqlite", "pip install aiosqlite"),
    "postgresql": Family("psycopg", "psycopg", "pip install 'tausestack[postgres]'"),
    "mysql": Family("pymysql", "aiomysql", "pip install 'tausestack[mysql]'"),
    "mariadb": Family("pymysql", "aiomysql", "pip install 'tausestack[mysql]'"),
}
ALIASES = {"postgres": "postgresql"}
ASYNC_DRIVERS = {"aiosqlite", "asyncpg", "aiomysql", "asyncmy"}


@dataclass(frozen=True)
class DatabaseUrls:
    """The URL for sync sessions and the URL for async sessions of one database."""

    sync: URL
    asynchronous: URL

    @property
    def family(self) -> str:
        """``sqlite``, ``postgresql``, …"""
        return self.sync.get_backend_name()


def parse(text: str, key: str, source: str) -> URL:
    """Parse a URL from the setting ``key``, set in ``source`` (``Settings.source_of``); the
    error shows it with the password hidden, and where it was set."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseConfigurationError(
            f"{key} {redact_text(text)!r} is not a valid database URL ({exc}). Write it as "
            "dialect+driver://user:password@host:port/database, e.g. "
            "postgresql+psycopg://app:secret@localhost:5432/app or sqlite:///app.db; "
            f"{key} is set in {source}."
        ) from None
    if url.host and "@" in url.host:
        raise DatabaseConfigurationError(
            f"{key} {redact_text(text)!r} has an '@' inside its user or password, which reads as "
            "part of the host. Percent-encode it as %40 (a password p@ss becomes p%40ss); "
            f"{key} is set in {source}."
        )
    given_backend, plus, driver = url.drivername.partition("+")
    backend = ALIASES.get(given_backend, given_backend)
    if backend != given_backend:
        url = url.set(drivername=f"{backend}{plus}{driver}")
    return url


def resolve(settings: Settings) -> DatabaseUrls:
    """The sync and async URLs of the ``database:`` settings, with relative SQLite paths made
    absolute (from the config folder); errors name where each setting was set."""
    database, config_dir = settings.database, settings.config_dir
    source = settings.source_of("database", "url")
    given = _absolute_sqlite(parse(database.url, "database.url", source), config_dir)
    family = FAMILIES.get(given.get_backend_name())
    driver = given.get_driver_name()
    if database.async_url is not None:
        async_source = settings.source_of("database", "async_url")
        parsed = parse(database.async_url, "database.async_url", async_source)
        asynchronous = _absolute_sqlite(parsed, config_dir)
    elif driver in ASYNC_DRIVERS or family is None:
        asynchronous = given
    else:
        asynchronous = given.set(drivername=f"{given.get_backend_name()}+{family.async_driver}")
    if driver in ASYNC_DRIVERS:
        if family is None:
            raise DatabaseConfigurationError(
                f"database.url uses the async driver {driver}; give database.url a sync driver "
                f"and database.async_url the async one (database.url is set in {source})."
            )
        sync = given.set(drivername=f"{given.get_backend_name()}+{family.sync_driver}")
    elif family is not None and "+" not in given.drivername:
        sync = given.set(drivername=f"{given.get_backend_name()}+{family.sync_driver}")
    else:
        sync = given
    return DatabaseUrls(sync, asynchronous)


def _absolute_sqlite(url: URL, config_dir: Path) -> URL:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return url.set(database=str((config_dir / database).resolve()))


def same_server(first: URL, second: URL) -> bool:
    """Whether two URLs reach the same server and database through the same driver."""
    keys = ("host", "port", "database", "username")
    same_place = all(getattr(first, key) == getattr(second, key) for key in keys)
    return same_place and first.get_driver_name() == second.get_driver_name()


def describe(url: URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    return url.render_as_string(hide_password=True)


def redact_text(text: str) -> str:
    """Hide the password of a URL given as text, even one too broken to parse."""
    scheme, separator, rest = text.partition("://")
    if not separator or "@" not in rest:
        return text
    credentials, _, location = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{location}" if ":" in credentials else text


def install_hint(url: URL) -> str:
    """How to install the driver a URL needs."""
    family = FAMILIES.get(url.get_backend_name())
    return family.install if family is not None else f"install the {url.get_driver_name()} driver"


def missing_driver(url: URL, error: Exception, source: str) -> DatabaseConfigurationError:
    """The error for a URL whose driver cannot be imported, saying what to install."""
    return DatabaseConfigurationError(
        f"The {url.get_driver_name()} driver for {describe(url)} is not installed "
        f"({error}); {install_hint(url)}, or choose another driver in database.url "
        f"(set in {source})."
    )

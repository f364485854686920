"""Database URLs: parsing, the sync and async driver of each family, and safe descriptions."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import sqlalchemy.dialects
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..._naming import did_you_mean
from ..._redaction import URL_PASSWORD_AT_START
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

    def __repr__(self) -> str:
        shown = f"sync={describe(self.sync)!r}, asynchronous={describe(self.asynchronous)!r}"
        return f"DatabaseUrls({shown})"

    @property
    def family(self) -> str:
        """``sqlite``, ``postgresql``, …"""
        return self.sync.get_backend_name()


def parse(text: str, key: str, source: str) -> URL:
    """Parse a URL from the setting ``key``, set in ``source`` (``Settings.source_of``); the
    error shows it with the password hidden, and where it was set."""
    # Two '@' before the host: the user or password holds one, and the parts after it read as
    # host and port (an error that would quote a piece of the password). The password may hold
    # a '?' too, so the '@' are counted before the query and in the password as redaction reads
    # it; a host with an '@' (however it came) is the same mistake.
    password = URL_PASSWORD_AT_START.match(text)
    if text.partition("://")[2].partition("?")[0].count("@") > 1 or (
        password is not None and "@" in password["password"]
    ):
        raise _at_sign_inside(text, key, source)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseConfigurationError(
            f"{key} {redact_text(text)!r} is not a valid database URL ({exc}). Write it as "
            "dialect+driver://user:password@host:port/database, e.g. "
            "postgresql+psycopg://app:secret@localhost:5432/app or sqlite:///app.db, with the "
            f"password percent-encoded; {key} is set in {source}."
        ) from None
    if url.host is not None and "@" in url.host:
        raise _at_sign_inside(text, key, source)
    given_backend, plus, driver = url.drivername.partition("+")
    backend = ALIASES.get(given_backend, given_backend)
    if backend != given_backend:
        url = url.set(drivername=f"{backend}{plus}{driver}")
    _check_dialect(url, text, key, source)
    return url


#: Everything between the scheme and the '@' before the host: the user and the password.
_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://).*?@(?=[^@?\s]*(?:[?\s]|$))", re.I | re.S)


def _at_sign_inside(text: str, key: str, source: str) -> DatabaseConfigurationError:
    """The error for an unencoded '@' in the user or password of ``text``; the password is
    hidden, and the user too when it holds the '@' (its end cannot be told)."""
    if URL_PASSWORD_AT_START.match(text) is None:  # no user:password@ with the '@' in the user
        text = _CREDENTIALS.sub(rf"\1{HIDDEN}@", text)
    return DatabaseConfigurationError(
        f"{key} {redact_text(text)!r} has an '@' inside its user or password, which reads as "
        "part of the host. Percent-encode it as %40 (a password p@ss becomes p%40ss), and any "
        ": / ? # % in the password too: urllib.parse.quote(password, safe=''); "
        f"{key} is set in {source}."
    )


def _check_dialect(url: URL, text: str, key: str, source: str) -> None:
    """Fail when SQLAlchemy has no dialect (or no such driver of it) for ``url``.

    Loading a dialect imports SQLAlchemy's module for it, not the driver itself: a driver that
    is not installed is reported when the engine is made (:func:`missing_driver`).
    """
    try:
        url.get_dialect()
        return
    except NoSuchModuleError:
        pass
    backend, _, driver = url.drivername.partition("+")  # get_driver_name() loads the dialect
    shown = redact_text(text)
    if not _loads(f"{backend}://"):
        names = _dialect_names()
        raise DatabaseConfigurationError(
            f"{key} {shown!r} names the database dialect {backend!r}, which SQLAlchemy does not "
            f"know.{did_you_mean(backend, names)} Known dialects: {', '.join(names)} (a "
            "third-party dialect needs its package installed). Write the URL as "
            f"dialect+driver://user:password@host:port/database; {key} is set in {source}."
        )
    drivers = _driver_names(backend)
    raise DatabaseConfigurationError(
        f"{key} {shown!r} names the driver {driver!r}, which the {backend} dialect does not "
        f"have.{did_you_mean(driver, drivers)} Its drivers: {', '.join(drivers)}; or leave the "
        f"driver out ({backend}://…) for TauseStack's default. {key} is set in {source}."
    )


def _loads(drivername: str) -> bool:
    try:
        make_url(drivername).get_dialect()
    except NoSuchModuleError:
        return False
    return True


def _dialect_names() -> list[str]:
    """SQLAlchemy's dialects, their aliases, and the installed third-party ones."""
    plugins = {entry.name.partition(".")[0] for entry in entry_points(group="sqlalchemy.dialects")}
    names = {*sqlalchemy.dialects.__all__, *FAMILIES, *ALIASES, *plugins}
    return sorted(names)


def _driver_names(backend: str) -> list[str]:
    """The drivers of one of SQLAlchemy's own dialects (a module each, with a ``dialect``)."""
    package_name = f"sqlalchemy.dialects.{'mysql' if backend == 'mariadb' else backend}"
    try:
        package = importlib.import_module(package_name)
    except ImportError:
        return []
    drivers = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):
            continue
        try:
            dialect = importlib.import_module(f"{package_name}.{module.name}").dialect
        except (ImportError, AttributeError):
            continue
        if getattr(dialect, "driver", None) == module.name:
            drivers.append(module.name)
    return drivers


def resolve(settings: Settings) -> DatabaseUrls:
    """The sync and async URLs of the ``database:`` settings, with relative SQLite paths made
    absolute (from the config folder); errors name where each setting was set."""
    database, config_dir = settings.database, settings.config_dir
    source = settings.source_of("database", "url")
    given = _absolute_sqlite(parse(database.url, "database.url", source), config_dir)
    family = FAMILIES.get(given.get_backend_name())
    driver = given.get_driver_name()
    given_is_async = driver in ASYNC_DRIVERS or bool(given.get_dialect().is_async)
    if database.async_url is not None:
        async_source = settings.source_of("database", "async_url")
        parsed = parse(database.async_url, "database.async_url", async_source)
        asynchronous = _absolute_sqlite(parsed, config_dir)
    elif given_is_async or family is None:
        asynchronous = given
    else:
        asynchronous = given.set(drivername=f"{given.get_backend_name()}+{family.async_driver}")
    if given_is_async:
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


#: Query parameters whose value is hidden in messages: libpq's ``password`` and
#: ``sslpassword``, tokens, keys, credentials of any driver.
SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|credential", re.IGNORECASE)
HIDDEN = "***"


def describe(url: URL) -> str:
    """The URL with its password and the secret-looking values of its query hidden, for
    messages and logs (``postgresql://app:***@db/app?sslpassword=***``)."""
    if not url.query:
        return url.render_as_string(hide_password=True)
    base = url.set(query={}).render_as_string(hide_password=True)
    pairs = []
    for name, values in url.query.items():
        for value in (values,) if isinstance(values, str) else values:
            shown = HIDDEN if SECRET_PARAMETER.search(name) else quote(value, safe="")
            pairs.append(f"{quote(name, safe='')}={shown}")
    return f"{base}?{'&'.join(pairs)}"


_QUERY_SECRET = re.compile(
    r"([?&][^=&#]*(?:" + SECRET_PARAMETER.pattern + r")[^=&#]*=)[^&#]*", re.I
)


def redact_text(text: str) -> str:
    """Hide the password of a URL given as text, even one too broken to parse (up to the last
    ``@`` before the host, so a ``?``, ``#``, ``/`` or ``@`` in it does not show its end), and
    the secret-looking values of its query."""
    # The password first: it may hold a '?' or '#' (SQLAlchemy reads it up to the '@').
    text = URL_PASSWORD_AT_START.sub(lambda match: f"{match['prefix']}{HIDDEN}@", text)
    return _QUERY_SECRET.sub(lambda match: match.group(1) + HIDDEN, text)


#: How to install the drivers other than TauseStack's defaults (whose extra installs them).
DRIVER_PACKAGES = {
    "psycopg2": "pip install psycopg2-binary",
    "asyncpg": "pip install asyncpg",
    "pg8000": "pip install pg8000",
    "mysqldb": "pip install mysqlclient",
    "asyncmy": "pip install asyncmy",
}


def install_hint(url: URL) -> str:
    """How to install the driver a URL needs (the driver the URL names, not another of its
    database's: ``postgresql+psycopg2`` needs psycopg2, which ``tausestack[postgres]`` is not)."""
    driver = url.get_driver_name()
    family = FAMILIES.get(url.get_backend_name())
    if family is not None and driver in (family.sync_driver, family.async_driver):
        return family.install
    return DRIVER_PACKAGES.get(driver, f"install the {driver} driver")


def missing_drivers(urls: DatabaseUrls, sources: tuple[str, str]) -> list[str]:
    """The drivers of the sync and the async URL that cannot be imported, each as the message
    of :func:`missing_driver`; ``sources`` says where each URL was set."""
    problems = []
    for url, source in dict(zip((urls.sync, urls.asynchronous), sources, strict=True)).items():
        try:
            url.get_dialect().import_dbapi()
        except ImportError as exc:
            problems.append(str(missing_driver(url, exc, source)))
    return problems


def missing_driver(url: URL, error: Exception, source: str) -> DatabaseConfigurationError:
    """The error for a URL whose driver cannot be imported, saying what to install."""
    return DatabaseConfigurationError(
        f"The {url.get_driver_name()} driver for {describe(url)} is not installed "
        f"({error}); {install_hint(url)}, or choose another driver in database.url "
        f"(set in {source})."
    )

"""Test databases on a PostgreSQL server: one per project and session, none left behind.

A test database is ``tausestack_test_<project>_<8 hex digits>``, made through the server's
``postgres`` maintenance database (or the URL's own) and dropped with ``WITH (FORCE)`` when the
session ends. A session killed before its end (SIGTERM, SIGKILL, a lost machine) cannot drop
it, so each session marks its databases as alive: it holds, for the session's life, a
PostgreSQL session-level advisory lock whose key comes from the database's name, on a
connection of its own. The server releases the lock when that connection goes, however the
process ended. Before making a database for a project, a session drops the project's databases
whose lock nobody holds: only names of exactly that pattern, owned by the same user, that no
live session (on any machine) holds.

An advisory lock belongs to the database its connection is in, and sessions may take theirs in
different ones (``postgres``, or the URL's own when the user may not connect to ``postgres``):
so a lock counts as held when any connection to the server holds it, whatever its database, as
``pg_locks`` (which shows every database's locks to every user) says.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from ..sdk.database import _engines
from ..sdk.settings import DatabaseSettings
from .errors import TestDatabaseError

__all__ = ["LOCK_CLASS", "PREFIX", "database_name_pattern", "make_database", "project_part"]

#: What the name of every test database made here starts with.
PREFIX = "tausestack_test_"
#: The first key of the advisory locks that mark live sessions' databases (b"tsdb" as an int4),
#: apart from the one-key locks an application may take.
LOCK_CLASS = 0x74736462
#: PostgreSQL truncates longer identifiers.
_MAX_NAME = 63
_SUFFIX = 8  # hex digits: the lock's second key, a 32-bit number
_ATTEMPTS = 5  # random names tried when another live session holds one's lock
#: Connections that make and drop databases: one at a time, a short timeout.
_SERVER = DatabaseSettings(pool_size=1, max_overflow=0, connect_timeout=10)
#: SQLSTATE of "permission denied" (insufficient_privilege).
_NOT_ALLOWED = "42501"


def database_name_pattern(project: str) -> re.Pattern[str]:
    """The names of the test databases made for ``project`` (from :func:`project_part`)."""
    return re.compile(rf"{PREFIX}{re.escape(project)}_[0-9a-f]{{{_SUFFIX}}}")


def project_part(folder_name: str) -> str:
    """The project's part of its test databases' names: its folder's name, as an identifier."""
    part = re.sub(r"[^a-z0-9_]+", "_", folder_name.lower()).strip("_") or "project"
    return part[: _MAX_NAME - len(PREFIX) - 1 - _SUFFIX]


def lock_key(name: str) -> int:
    """The advisory lock's second key for a database's name: its suffix, as a signed int4."""
    return int(name[-_SUFFIX:], 16) - 2**31


def make_database(url: URL, project: str, source: str) -> tuple[URL, Callable[[], None]]:
    """Make a test database for ``project`` on the server of ``url``, first dropping the
    project's databases that killed sessions left.

    Returns:
        The new database's URL, and the function that drops it and lets its lock go.
    """
    # The connections here are sync: psycopg, the driver database.url gets by default.
    driver = url.drivername.partition("+")[2]
    server = url.set(drivername="postgresql+psycopg") if driver in ("", "asyncpg") else url
    shown = _describe(url)  # as the user wrote it, without its password
    engine, keeper = _connect(server, source, shown)  # holds the lock for the session's life
    try:
        _drop_stale(keeper, project)
        name = _locked_name(keeper, project)
        _create(keeper, name, server, source, shown)
    except BaseException:
        keeper.close()
        engine.dispose()
        raise

    def drop() -> None:
        try:
            with _server_connection(server, source, shown) as connection:
                _drop(connection, name)
        except DBAPIError as exc:
            raise TestDatabaseError(
                f"Could not drop the test database {name} on {shown}: "
                f"{_reason(exc)}. Drop it by hand (DROP DATABASE {name})."
            ) from None
        finally:  # the lock goes with its connection
            keeper.close()
            engine.dispose()

    return server.set(database=name), drop


def _locked_name(keeper: Connection, project: str) -> str:
    return locked_name(project, lambda name: _claim(keeper, name))


def locked_name(project: str, claim: Callable[[str], bool]) -> str:
    """A new test database name for ``project`` that ``claim`` took (a lock held by this
    session's connection, so no other live session uses the name)."""
    for _ in range(_ATTEMPTS):
        name = f"{PREFIX}{project}_{secrets.token_hex(_SUFFIX // 2)}"
        if claim(name):
            return name
    raise TestDatabaseError(  # pragma: no cover - 5 random names taken by live sessions
        "Could not pick a test database name that no other test session uses; run the tests again."
    )


def _claim(connection: Connection, name: str) -> bool:
    """Take the lock of ``name`` unless another connection to the server holds it, in any
    database. Taken first, then checked: of two sessions claiming one name at once, in
    different databases, neither gets it (never both)."""
    if not _try_lock(connection, name):
        return False  # held in this connection's database
    if _held_elsewhere(connection, name):
        _unlock(connection, name)
        return False
    return True


def _try_lock(connection: Connection, name: str) -> bool:
    statement = text("SELECT pg_try_advisory_lock(:class, :key)")
    locked = connection.execute(statement, {"class": LOCK_CLASS, "key": lock_key(name)})
    return bool(locked.scalar_one())


def _held_elsewhere(connection: Connection, name: str) -> bool:
    """Whether another connection to the server, in any database, holds the lock of ``name``.

    ``pg_locks`` shows a two-key advisory lock as ``classid`` (the first key), ``objid`` (the
    second) and ``objsubid`` 2, its keys as unsigned oids."""
    statement = text(
        "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = :class AND objid::bigint = :key AND objsubid = 2 "
        "AND pid <> pg_backend_pid())"
    )
    held = connection.execute(statement, {"class": LOCK_CLASS, "key": lock_key(name) % 2**32})
    return bool(held.scalar_one())


def _unlock(connection: Connection, name: str) -> None:
    statement = text("SELECT pg_advisory_unlock(:class, :key)")
    connection.execute(statement, {"class": LOCK_CLASS, "key": lock_key(name)})


def _drop_stale(connection: Connection, project: str) -> None:
    """Drop the project's test databases (this user's) whose session is gone: unlocked, and
    with no connection (a killed client's server process may not have noticed yet)."""
    pattern = database_name_pattern(project)
    owned = connection.execute(
        text(
            "SELECT datname FROM pg_database AS d WHERE NOT datistemplate "
            "AND pg_get_userbyid(datdba) = current_user "
            "AND NOT EXISTS (SELECT FROM pg_stat_activity AS a WHERE a.datname = d.datname)"
        )
    ).scalars()
    for name in [name for name in owned if pattern.fullmatch(name)]:
        if not _claim(connection, name):
            continue  # a live session's
        try:
            _drop(connection, name)
        except DBAPIError as exc:
            warnings.warn(
                f"Could not drop the test database {name} a killed test session left: "
                f"{_reason(exc)}",
                stacklevel=1,
            )
        finally:
            _unlock(connection, name)


def _create(connection: Connection, name: str, server: URL, source: str, shown: str) -> None:
    try:
        connection.execute(text(f"CREATE DATABASE {_quoted(connection, name)}"))
    except DBAPIError as exc:
        user = server.username or "(the default user)"
        if _sqlstate(exc) == _NOT_ALLOWED:
            raise TestDatabaseError(
                f"The PostgreSQL user {user!r} may not create databases, and tausestack_database "
                f"makes one for the test session on {shown} ({source}). Give it the "
                f"right, as a superuser (ALTER USER {_quoted(connection, user)} CREATEDB), or "
                "point the tausestack_database_url fixture at a server where it has it."
            ) from None
        raise TestDatabaseError(
            f"Cannot create a test database on {shown} ({source}): {_reason(exc)}"
        ) from None


def _drop(connection: Connection, name: str) -> None:
    version = connection.dialect.server_version_info or (0,)
    force = " WITH (FORCE)" if version >= (13,) else ""  # FORCE arrived in PostgreSQL 13
    connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(connection, name)}{force}"))


def _quoted(connection: Connection, name: str) -> str:
    return str(connection.dialect.identifier_preparer.quote(name))


def _sqlstate(exc: DBAPIError) -> str | None:
    # psycopg says sqlstate, psycopg2 pgcode.
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def _reason(exc: DBAPIError) -> str:
    return (str(exc.orig).strip().splitlines() or ["?"])[0]


def _describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _connect(url: URL, source: str, shown: str) -> tuple[Engine, Connection]:
    """An autocommit connection (CREATE and DROP DATABASE run outside transactions) to the
    server, through its ``postgres`` database, else the URL's own (the locks taken on it are
    looked for in every database: see :func:`_held_elsewhere`)."""
    failure: DBAPIError | None = None
    for database in dict.fromkeys(["postgres", url.database]):
        engine = _engines.create(url.set(database=database), create_engine, _SERVER, source)
        try:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError as exc:
            engine.dispose()
            failure = failure or exc
            continue
        return engine, connection
    reason = _reason(failure) if failure is not None else "?"
    raise TestDatabaseError(
        f"Cannot connect to the PostgreSQL server of {shown} to make or drop a "
        f"test database: {reason}. Check {source}: the server must be running and the user "
        "allowed to create databases."
    )


@contextmanager
def _server_connection(url: URL, source: str, shown: str) -> Iterator[Connection]:
    engine, connection = _connect(url, source, shown)
    try:
        yield connection
    finally:
        connection.close()
        engine.dispose()

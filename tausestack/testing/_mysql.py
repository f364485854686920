"""Test databases on a MySQL or MariaDB server: one per project and session, none left behind.

Named as on PostgreSQL (``tausestack_test_<project>_<8 hex digits>``, see ``_postgres``), made
in ``utf8mb4`` and dropped when the session ends. A session marks its databases as alive with a
named lock (``GET_LOCK``, the database's name) held for the session's life on a connection of
its own; the server releases it when that connection goes, however the process ended. Before
making a database for a project, a session drops the project's databases whose lock is free:
only names of exactly that pattern. MySQL databases have no owner, so that is any such database
the user may drop.

The connections here are sync, through PyMySQL (the ``mysql`` extra's driver), whatever driver
the URL names.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from ..sdk.database import _engines
from ..sdk.settings import DatabaseSettings
from ._postgres import PREFIX, database_name_pattern, locked_name
from .errors import TestDatabaseError

__all__ = ["make_database"]

#: Connections that make and drop databases: one at a time, a short timeout.
_SERVER = DatabaseSettings(pool_size=1, max_overflow=0, connect_timeout=10)
#: MySQL's "access denied" to a database, and to a user without the global privilege.
_NOT_ALLOWED = {1044, 1045, 1227}
_LOCK_WAIT = 30  # seconds
#: The names of the test databases as a GRANT takes them (``_`` alone matches any character).
_GRANTED = PREFIX.replace("_", "\\_") + "%"


def make_database(url: URL, project: str, source: str) -> tuple[URL, Callable[[], None]]:
    """Make a test database for ``project`` on the MySQL server of ``url``, first dropping the
    project's databases that killed sessions left.

    Returns:
        The new database's URL, and the function that drops it and lets its lock go.
    """
    server = url.set(drivername=f"{url.get_backend_name()}+pymysql")
    shown = server.render_as_string(hide_password=True)
    # No database selected (URL.set cannot unset one): the URL's own need not exist.
    anywhere = URL.create(
        server.drivername,
        server.username,
        server.password,
        server.host,
        server.port,
        query=server.query,
    )
    engine = _engines.create(anywhere, create_engine, _SERVER, source)
    try:
        keeper = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except DBAPIError as exc:
        engine.dispose()
        raise TestDatabaseError(
            f"Cannot connect to the MySQL server of {shown} to make or drop a test database: "
            f"{_reason(exc)}. Check {source}: the server must be running and the user allowed "
            "to create databases."
        ) from None
    try:
        # A drop waits for the locks of transactions open in the database: not forever.
        keeper.execute(text(f"SET SESSION lock_wait_timeout = {_LOCK_WAIT}"))
        _drop_stale(keeper, project)
        name = locked_name(project, lambda name: _claim(keeper, name))
        _create(keeper, name, server, source, shown)
    except BaseException:
        _close(keeper, engine)
        raise

    def drop() -> None:
        try:
            keeper.execute(text(f"DROP DATABASE IF EXISTS {_quoted(keeper, name)}"))
        except DBAPIError as exc:
            raise TestDatabaseError(
                f"Could not drop the test database {name} on {shown}: {_reason(exc)}. Drop it "
                f"by hand (DROP DATABASE {name})."
            ) from None
        finally:  # the lock goes with its connection
            _close(keeper, engine)

    return server.set(database=name), drop


def _claim(connection: Connection, name: str) -> bool:
    """Take the named lock of ``name`` unless another connection to the server holds it."""
    return connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name}).scalar() == 1


def _drop_stale(connection: Connection, project: str) -> None:
    """Drop the project's test databases whose session is gone: their lock is free, and no
    connection is in them (a killed client's may not have been noticed yet)."""
    pattern = database_name_pattern(project)
    names = connection.execute(text("SHOW DATABASES")).scalars()
    in_use = text("SELECT EXISTS (SELECT 1 FROM information_schema.PROCESSLIST WHERE db = :name)")
    for name in [name for name in names if pattern.fullmatch(name)]:
        if connection.execute(in_use, {"name": name}).scalar() or not _claim(connection, name):
            continue  # a live session's
        try:
            connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(connection, name)}"))
        except DBAPIError as exc:
            warnings.warn(
                f"Could not drop the test database {name} a killed test session left: "
                f"{_reason(exc)}",
                stacklevel=1,
            )
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})


def _create(connection: Connection, name: str, server: URL, source: str, shown: str) -> None:
    statement = f"CREATE DATABASE {_quoted(connection, name)} CHARACTER SET utf8mb4"
    try:
        connection.execute(text(statement))
    except DBAPIError as exc:
        user = server.username or "(the default user)"
        if _error_number(exc) in _NOT_ALLOWED:
            raise TestDatabaseError(
                f"The MySQL user {user!r} may not create databases, and tausestack_database "
                f"makes one for the test session on {shown} ({source}). Give it the right, as "
                f"an administrator (GRANT ALL ON `{_GRANTED}`.* TO "
                f"{_account(connection, user)}), or point the tausestack_database_url fixture "
                "at a server where it has it."
            ) from None
        raise TestDatabaseError(
            f"Cannot create a test database on {shown} ({source}): {_reason(exc)}"
        ) from None


def _account(connection: Connection, user: str) -> str:
    """The account a GRANT names for this connection's user: ``'user'@'host'`` as the server
    matched it (a bare ``'user'`` means ``'user'@'%'``, which may not exist)."""
    try:
        current = str(connection.execute(text("SELECT CURRENT_USER()")).scalar_one())
    except DBAPIError:
        return repr(user)
    name, _, host = current.rpartition("@")
    return f"'{name}'@'{host}'" if name else repr(user)


def _close(keeper: Connection, engine: Engine) -> None:
    keeper.close()
    engine.dispose()


def _quoted(connection: Connection, name: str) -> str:
    return str(connection.dialect.identifier_preparer.quote(name))


def _error_number(exc: DBAPIError) -> int | None:
    arguments = getattr(exc.orig, "args", ())
    return arguments[0] if arguments and isinstance(arguments[0], int) else None


def _reason(exc: DBAPIError) -> str:
    return (str(exc.orig).strip().splitlines() or ["?"])[0]

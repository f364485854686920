"""Creating engines: pool options, per-driver connect arguments, and SQLite done right.

pysqlite and aiosqlite manage transactions themselves and send no ``BEGIN`` before a
``SAVEPOINT``, so a savepoint taken first would commit on release; SQLAlchemy's documented
recipe hands transaction control back to SQLAlchemy. In-memory SQLite gets one shared
connection, as each new connection would otherwise see an empty database. Outside the ``dev``
profile the engines hide bound parameters from their errors and logs (``hide_parameters``): a
failing INSERT would otherwise put a password hash or personal data in the log of a 500.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool, StaticPool

from ..settings import DatabaseSettings
from . import _urls

#: The connect argument each driver takes for a connection timeout, in seconds.
TIMEOUT_ARGUMENT = {
    "psycopg": "connect_timeout",
    "psycopg2": "connect_timeout",
    "asyncpg": "timeout",
    "pymysql": "connect_timeout",
    "aiomysql": "connect_timeout",
    "mysqldb": "connect_timeout",
}


def create(
    url: URL,
    factory: Any,
    settings: DatabaseSettings,
    source: str,
    *,
    profile: str | None = None,
    single_use: bool = False,
) -> Any:
    """An engine for ``url`` made by ``factory`` (``create_engine`` or ``create_async_engine``).

    ``single_use`` engines keep no pool (a check that connects once, then disposes of it);
    outside the ``dev`` ``profile`` (or with none given), errors and logs leave out the
    statements' parameters.
    """
    options: dict[str, Any] = {"echo": settings.echo, "hide_parameters": hides_parameters(profile)}
    family = url.get_backend_name()
    if family == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": settings.pool_timeout}
        if _in_memory(url):
            options["poolclass"] = StaticPool
    elif single_use:
        options["poolclass"] = NullPool
    else:
        options |= {
            "pool_size": settings.pool_size,
            "max_overflow": settings.max_overflow,
            "pool_timeout": settings.pool_timeout,
            "pool_recycle": settings.pool_recycle,
            "pool_pre_ping": settings.pool_pre_ping,
        }
    if family != "sqlite":
        timeout = TIMEOUT_ARGUMENT.get(url.get_driver_name())
        if timeout is not None:
            seconds = settings.connect_timeout
            value = seconds if timeout == "timeout" else max(1, round(seconds))
            options["connect_args"] = {timeout: value}
    try:
        engine = factory(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise _urls.missing_driver(url, exc, source) from None
    if family == "sqlite":
        _take_over_sqlite_transactions(
            engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        )
    return engine


def hides_parameters(profile: str | None) -> bool:
    """Whether engines of ``profile`` keep bound values out of errors and logs (all but dev)."""
    return profile != "dev"


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def _take_over_sqlite_transactions(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def connect(connection: Any, _record: Any) -> None:
        connection.isolation_level = None  # the driver stops issuing BEGIN/COMMIT itself
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

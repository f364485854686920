"""``Database``: the engines of one application and the session each piece of code should use.

Which session a repository uses, in order:

1. the session of the enclosing ``db.transaction()`` block (a savepoint when nested);
2. inside an HTTP request or websocket, the request's session — created on first use,
   committed just before the response starts (or at the end of a websocket), rolled back if the
   request failed, closed at the end;
3. otherwise a short session for the one operation, committed when it succeeds.

Engines are created on first use, pooled, checked at startup and disposed at shutdown.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession as SQLModelAsyncSession
from starlette.concurrency import run_in_threadpool

from ...di._container import Container
from ...di._scope import RequestScope, current_request_scope
from ...settings import Settings
from ..settings import DatabaseSettings
from . import _engines, _urls
from ._request import RequestSessions
from .errors import DatabaseConnectionError


class Database:
    """The database of one application: engines, sessions and transactions.

    Injectable by type; repositories and the ``sdk.database`` functions use it for you::

        async with database.transaction():       # one unit of work (a savepoint when nested)
            await orders.acreate(order)
            await stock.aupdate(item.id, {"count": item.count - 1})
    """

    def __init__(self, settings: Settings, container: Container) -> None:
        self.settings: DatabaseSettings = settings.database
        self.urls = _urls.resolve(settings)
        self._source = settings.source_of("database", "url")
        self._profile = settings.profile
        self._container = container
        self._engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._lock = threading.Lock()
        self._sync_unit: ContextVar[Session | None] = ContextVar("sync_unit", default=None)
        self._async_unit: ContextVar[AsyncSession | None] = ContextVar("async_unit", default=None)

    def __repr__(self) -> str:
        return f"<Database {_urls.describe(self.urls.sync)}>"

    # -- engines --------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The sync engine (created on first use)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._create(self.urls.sync, create_engine)
        return self._engine

    @property
    def async_engine(self) -> AsyncEngine:
        """The async engine (created on first use)."""
        if self._async_engine is None:
            with self._lock:
                if self._async_engine is None:
                    self._async_engine = self._create(self.urls.asynchronous, create_async_engine)
        return self._async_engine

    def _create(self, url: URL, factory: Any) -> Any:
        return _engines.create(url, factory, self.settings, self._source, profile=self._profile)

    # -- lifecycle (container hooks) ------------------------------------------------------------

    async def start(self) -> None:
        """Connect once, so a wrong URL or an unreachable server fails at startup."""
        if self.settings.check_on_startup:
            await self.check_connections()

    async def check_connections(self) -> None:
        """Connect once through each engine the settings name (the sync one, and the async
        one when it points elsewhere or through another driver); a SQLite file is not opened
        (that would create it), only its folder is checked."""
        sync, asynchronous = self.urls.sync, self.urls.asynchronous
        if self.settings.url_driver_is_async():
            await self._check_one(asynchronous, self._connect_async)
            return
        await self._check_one(sync, self._connect_sync)
        if not _urls.same_server(sync, asynchronous):
            await self._check_one(asynchronous, self._connect_async)

    async def _check_one(self, url: URL, connect: Any) -> None:
        if url.get_backend_name() == "sqlite":
            self._check_sqlite_folder(url)
        else:
            await self._check(url, connect)

    async def _connect_sync(self) -> None:
        def connect() -> None:
            with self.engine.connect():
                pass

        await run_in_threadpool(connect)

    async def _connect_async(self) -> None:
        async with self.async_engine.connect():
            pass

    async def _check(self, url: URL, connect: Any) -> None:
        try:
            await connect()
        except (DBAPIError, OSError) as exc:
            raise connection_error(url, exc, self._source) from None

    def _check_sqlite_folder(self, url: URL) -> None:
        missing = missing_sqlite_folder(url, self._source)
        if missing is not None:
            raise missing

    async def stop(self) -> None:
        """Close pooled connections; engines open new ones if the app starts again."""
        if self._async_engine is not None:
            await self._async_engine.dispose()
        if self._engine is not None:
            await run_in_threadpool(self._engine.dispose)

    # -- sessions -------------------------------------------------------------------------------

    def new_session(self) -> Session:
        """A new sync session of your own (``with database.new_session() as session:``)."""
        return Session(self.engine, expire_on_commit=False)

    def new_async_session(self) -> SQLModelAsyncSession:
        """A new async session of your own (``async with database.new_async_session() as s:``)."""
        return SQLModelAsyncSession(self.async_engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, writes: bool = True) -> Iterator[Session]:
        """The session the current code should use (see the module docstring).

        ``writes=False`` marks a read: a short session of its own is then closed, not
        committed, which saves a round trip.
        """
        current = self._sync_unit.get() or self._request_session()
        if current is not None:
            yield current
            return
        with self.new_session() as session:
            try:
                yield session
                if writes:
                    session.commit()
            except BaseException:
                session.rollback()
                raise

    @asynccontextmanager
    async def async_session(self, *, writes: bool = True) -> AsyncIterator[AsyncSession]:
        """The async session the current code should use; ``writes`` as for :meth:`session`."""
        current = self._async_unit.get() or await self._request_async_session()
        if current is not None:
            yield current
            return
        async with self.new_async_session() as session:
            try:
                yield session
                if writes:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def request_session(self, scope: RequestScope) -> Session:
        """The sync session of one request (what DI injects as ``Session``)."""
        return RequestSessions.of(self, scope).sync_session()

    async def request_async_session(self, scope: RequestScope) -> AsyncSession:
        """The async session of one request (what DI injects as ``AsyncSession``)."""
        return RequestSessions.of(self, scope).async_session()

    def _request_session(self) -> Session | None:
        scope = current_request_scope(self._container)
        return RequestSessions.of(self, scope).ambient_sync() if scope is not None else None

    async def _request_async_session(self) -> AsyncSession | None:
        scope = current_request_scope(self._container)
        return RequestSessions.of(self, scope).ambient_async() if scope is not None else None

    # -- transactions ---------------------------------------------------------------------------

    def transaction(self) -> Transaction:
        """A unit of work: ``with`` for sync code, ``async with`` for async code.

        It commits when the block succeeds and rolls back when it raises. Inside a request or
        another transaction it is a savepoint of the enclosing session.
        """
        return Transaction(self)


def missing_sqlite_folder(url: URL, source: str) -> DatabaseConnectionError | None:
    """The error for a SQLite file whose folder does not exist (SQLite would not create it),
    or None; ``source`` is where database.url was set."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).parent
    if folder.is_dir():
        return None
    return DatabaseConnectionError(
        f"Cannot open {_urls.describe(url)} (file, driver {url.get_driver_name()}): the "
        f"folder {folder} does not exist. Create it, or point database.url (set in "
        f"{source}) elsewhere."
    )


def connection_error(url: URL, exc: Exception, source: str) -> DatabaseConnectionError:
    """The error for a database that cannot be reached: URL without its password, host,
    driver, the reason, and where ``database.url`` was set."""
    where = f"host {url.host}:{url.port or 'default port'}" if url.host else "file"
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    reason = text.splitlines()[0] if text else repr(original)
    return DatabaseConnectionError(
        f"Cannot connect to {_urls.describe(url)} ({where}, driver {url.get_driver_name()}): "
        f"{reason}. Check database.url (set in {source}) and that the database server is running."
    )


class Transaction:
    """Returned by :meth:`Database.transaction`; usable with ``with`` and ``async with``."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._session: Any = None
        self._owned = False
        self._savepoint: Any = None
        self._token: Any = None

    def __enter__(self) -> Session:
        database = self._database
        parent = database._sync_unit.get() or database._request_session()
        if parent is not None:
            self._session, self._savepoint = parent, parent.begin_nested()
        else:
            self._session, self._owned = database.new_session(), True
            self._session.begin()
        self._token = database._sync_unit.set(self._session)
        session: Session = self._session
        return session

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._database._sync_unit.reset(self._token)
        target = self._savepoint if self._savepoint is not None else self._session
        try:
            if exc is None:
                target.commit()
            else:
                target.rollback()
        finally:
            if self._owned:
                self._session.close()

    async def __aenter__(self) -> AsyncSession:
        database = self._database
        parent = database._async_unit.get() or await database._request_async_session()
        if parent is not None:
            self._session, self._savepoint = parent, await parent.begin_nested()
        else:
            self._session, self._owned = database.new_async_session(), True
            await self._session.begin()
        self._token = database._async_unit.set(self._session)
        session: AsyncSession = self._session
        return session

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._database._async_unit.reset(self._token)
        target = self._savepoint if self._savepoint is not None else self._session
        try:
            if exc is None:
                await target.commit()
            else:
                await target.rollback()
        finally:
            if self._owned:
                await self._session.close()

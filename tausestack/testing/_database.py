"""``TestDatabase``: apps on a temporary database, each test inside a transaction rolled back.

As Django's ``TestCase`` does, a test runs inside one database transaction that is rolled back
when it ends, and the app's code runs unchanged inside it. This follows SQLAlchemy's recipe
"Joining a Session into an External Transaction": the test holds one connection with a
transaction begun, and every session the app opens — the request's, a short one, a
``database.transaction()`` — is bound to that connection with
``join_transaction_mode="create_savepoint"``. A commit releases a savepoint, a rollback returns
to it; neither reaches the outer transaction, which the test's end rolls back.

Async sessions run on that same connection, through its sync driver, so sync and async code —
a ``def`` test arranging rows, an ``async def`` endpoint reading them — see one transaction, and
nothing depends on the event loop the connection was opened in. The price: a test's database
work happens one statement at a time (the event loop waits for each), and concurrent requests
within one test share the transaction, as they do in Django's ``TestCase``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from ..discovery import discover
from ..errors import MissingProviderError
from ..sdk.database import Database
from ..settings import Settings
from ._clients import create_test_app, with_test_profile
from ._temporary import TemporaryDatabase, TemporaryDatabases

if TYPE_CHECKING:
    from fastapi import APIRouter

    from ..app import TauseStackApp

__all__ = ["TestDatabase"]


class TestDatabase:
    """The database of one test: what the ``tausestack_database`` fixture gives.

    Apps made with :meth:`create_app` (``tausestack_app`` is one, when the test uses this
    fixture) run on a temporary database of the test session, made on first use with the
    installed apps' tables — by the project's migrations when it has a ``migrations/`` folder,
    else from the table models — and dropped when the session ends. Everything they write
    during the test, committed or not, is rolled back when it ends::

        def test_create(tausestack_client: TestClient, tausestack_app: TauseStackApp) -> None:
            tausestack_client.post("/notes/", json={"text": "hi"})
            with tausestack_app.container.get(Database).new_session() as session:
                assert session.exec(select(Note)).one().text == "hi"

    Where the temporary database is made: next to the app's ``database.url`` (a PostgreSQL
    server; a temporary file for any SQLite file; ``sqlite://`` in memory), or next to the URL
    of the ``tausestack_database_url`` fixture when it returns one.
    """

    __test__ = False  # not a test class, though its name starts with "Test"

    def __init__(self, databases: TemporaryDatabases, server: str | None = None) -> None:
        self._databases = databases
        self._server = server
        self._transactions: dict[TemporaryDatabase, _OuterTransaction] = {}
        self._lock = threading.Lock()

    def create_app(
        self,
        *,
        overrides: Mapping[Any, Any] | None = None,
        components: Sequence[Any] = (),
        routers: Sequence[APIRouter] = (),
        **setting_values: Any,
    ) -> TauseStackApp:
        """:func:`~tausestack.testing.create_test_app` on the test database.

        ``database.url`` is replaced by the temporary database's URL; the other ``database``
        settings are kept. The app's ``Database`` — what every part of the app gets, the
        ``jwt`` auth backend's accounts included — joins the test's transaction. Two apps of
        one project and installed apps share the database, and within a test they share its
        transaction, so each sees what the other wrote.
        """
        values = with_test_profile(setting_values)
        temporary = self._databases.get(Settings(**values), self._server)
        given = values.get("database") or {}
        options = given.model_dump() if isinstance(given, BaseModel) else dict(given)
        values["database"] = {**options, "url": temporary.setting, "async_url": None}
        # Tables first: the app's singletons are built with it, and may use the database.
        settings = Settings(**values)
        temporary.prepare(settings, discover(settings.installed_apps, settings.discovery.modules))
        # A build-time override: whatever the build makes (the auth backend's accounts among
        # them) holds the joined database, not the app's own.
        joined = _joined_database(self._transaction(temporary))
        build = partial(create_test_app, components=components, routers=routers, **values)
        try:
            return build(overrides={Database: joined, **(overrides or {})})
        except MissingProviderError:
            pass  # nothing provides Database: the app has none to join
        # Outside the except block: a provider the app itself lacks is raised here, on its own.
        return build(overrides=overrides)

    def _transaction(self, temporary: TemporaryDatabase) -> _OuterTransaction:
        with self._lock:
            transaction = self._transactions.get(temporary)
            if transaction is None:
                transaction = self._transactions[temporary] = _OuterTransaction(temporary.engine)
            return transaction

    def close(self) -> None:
        """Roll back everything the test wrote and give the connections back."""
        with self._lock:
            transactions, self._transactions = list(self._transactions.values()), {}
        for transaction in transactions:
            transaction.rollback()


class _OuterTransaction:
    """The test's connection to one temporary database, and its transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._lock = threading.Lock()

    def connection(self) -> Connection:
        """The connection, opened with its transaction begun on first use."""
        with self._lock:
            if self._connection is None:
                connection = self._engine.connect()
                self._transaction = connection.begin()
                self._connection = connection
            return self._connection

    def session(self, bind: Any = None, binds: Any = None, **options: Any) -> Session:
        """A session whose commits and rollbacks are savepoints of the test's transaction.

        Also the ``sync_session_class`` of :meth:`async_session`, which passes ``bind`` and
        ``binds`` (ignored: the connection is the bind).
        """
        options.setdefault("expire_on_commit", False)
        return Session(bind=self.connection(), join_transaction_mode="create_savepoint", **options)

    def async_session(self) -> AsyncSession:
        """An async session over the same connection (see the module docstring)."""
        return AsyncSession(sync_session_class=self.session, expire_on_commit=False)  # type: ignore[arg-type]

    def rollback(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            transaction, self._transaction = self._transaction, None
        if connection is None:
            return
        try:
            if transaction is not None and transaction.is_active:
                transaction.rollback()
        finally:
            connection.close()


def _joined_database(transaction: _OuterTransaction) -> type[Database]:
    class TestTransactionDatabase(Database):
        """The app's ``Database``, every session of which joins the test's transaction."""

        def new_session(self) -> Session:
            return transaction.session()

        def new_async_session(self) -> AsyncSession:
            return transaction.async_session()

    return TestTransactionDatabase

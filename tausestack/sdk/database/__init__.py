"""The data layer: engines and request-scoped sessions, ``BaseRepository``, transactions.

With DI, inject what you need by type — ``Database``, ``Session``/``AsyncSession`` (the
request's, committed before the response), ``Engine``/``AsyncEngine``, repositories. Without DI,
call the functions of this module, which use the current application's backend::

    from tausestack.sdk import database

    hero = await database.aget(Hero, 1)
    async with database.transaction():
        await database.acreate(Hero, {"name": "Deadpond"})

See ``docs/database.md``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ...di._container import Container
from ...di._keys import DependencyKey
from ...settings import Settings
from .._context import current_container
from ..settings import DatabaseSettings
from ._database import Database, Transaction
from ._sqlalchemy import SQLAlchemyDatabaseBackend
from .base import AbstractDatabaseBackend, Data, OrderBy
from .errors import (
    DatabaseConfigurationError,
    DatabaseConnectionError,
    DatabaseError,
    DuplicateRecordError,
    InvalidCursorError,
    InvalidDataError,
    InvalidFilterError,
    InvalidPageError,
    MigrationError,
    RecordNotFoundError,
)
from .pagination import CursorPage, Page, PageParams, PageQuery, page_query
from .repository import BaseRepository

__all__ = [
    "AbstractDatabaseBackend",
    "BaseRepository",
    "CursorPage",
    "Database",
    "DatabaseConfigurationError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseSettings",
    "DuplicateRecordError",
    "InvalidCursorError",
    "InvalidDataError",
    "InvalidFilterError",
    "InvalidPageError",
    "MigrationError",
    "Page",
    "PageParams",
    "PageQuery",
    "RecordNotFoundError",
    "SQLAlchemyDatabaseBackend",
    "Transaction",
    "abulk_create",
    "acount",
    "acreate",
    "acursor_page",
    "adelete",
    "aexecute",
    "aexists",
    "aget",
    "alist",
    "apage",
    "aupdate",
    "backend",
    "bulk_create",
    "count",
    "create",
    "cursor_page",
    "delete",
    "execute",
    "exists",
    "get",
    "list",
    "page",
    "page_query",
    "transaction",
    "update",
]

_M = TypeVar("_M")
Where = Mapping[str, Any] | None
_list = list


def backend() -> AbstractDatabaseBackend:
    """The current application's database backend (see ``tausestack.sdk``).

    An app with no database support (nothing in it asked for one — a script's default app,
    say) gets one built from its settings on first use, kept for the app's lifetime.
    """
    container = current_container()
    if container.graph.lookup(DependencyKey(AbstractDatabaseBackend)) is not None:
        chosen: AbstractDatabaseBackend = container.get(AbstractDatabaseBackend)
        return chosen
    return _standalone(container)[1]


def transaction() -> Transaction:
    """A unit of work on the current application's database (``with`` or ``async with``)."""
    container = current_container()
    if container.graph.lookup(DependencyKey(Database)) is not None:
        return container.get(Database).transaction()
    return _standalone(container)[0].transaction()


_STANDALONE: weakref.WeakKeyDictionary[Container, tuple[Database, AbstractDatabaseBackend]] = (
    weakref.WeakKeyDictionary()
)


def _standalone(container: Container) -> tuple[Database, AbstractDatabaseBackend]:
    if container not in _STANDALONE:
        from ._providers import database_backend

        settings = container.get(Settings)
        database = Database(settings, container)
        _STANDALONE[container] = (database, database_backend(settings, database))
    return _STANDALONE[container]


def get(model: type[_M], ident: Any, *, load: Sequence[str] = ()) -> _M | None:
    """The row of ``model`` with this primary key, or None."""
    return backend().get(model, ident, load=load)


def list(
    model: type[_M],
    *,
    where: Where = None,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int = 0,
    load: Sequence[str] = (),
    **filters: Any,
) -> _list[_M]:
    """Rows of ``model`` matching the filters."""
    return backend().list(
        model, where=where, order_by=order_by, limit=limit, offset=offset, load=load, **filters
    )


def page(model: type[_M], *, page: int = 1, size: int = 20, **options: Any) -> Page[_M]:
    """Page number ``page`` of ``model`` rows."""
    return backend().page(model, page=page, size=size, **options)


def cursor_page(
    model: type[_M], *, after: str | None = None, size: int = 20, **options: Any
) -> CursorPage[_M]:
    """``size`` rows of ``model`` after the cursor ``after``."""
    return backend().cursor_page(model, after=after, size=size, **options)


def count(model: type[Any], *, where: Where = None, **filters: Any) -> int:
    """How many rows of ``model`` match."""
    return backend().count(model, where=where, **filters)


def exists(model: type[Any], *, where: Where = None, **filters: Any) -> bool:
    """Whether any row of ``model`` matches."""
    return backend().exists(model, where=where, **filters)


def create(model: type[_M], data: _M | Data) -> _M:
    """Insert one row of ``model``."""
    return backend().create(model, data)


def bulk_create(model: type[_M], rows: Iterable[_M | Data]) -> _list[_M]:
    """Insert many rows of ``model``."""
    return backend().bulk_create(model, rows)


def update(model: type[_M], ident: Any, data: Data) -> _M:
    """Change some fields of one row of ``model``."""
    return backend().update(model, ident, data)


def delete(model: type[Any], ident: Any) -> bool:
    """Delete one row of ``model``."""
    return backend().delete(model, ident)


def execute(sql: str, params: Mapping[str, Any] | None = None) -> _list[dict[str, Any]]:
    """Raw SQL with bound parameters."""
    return backend().execute(sql, params)


async def aget(model: type[_M], ident: Any, *, load: Sequence[str] = ()) -> _M | None:
    """Async twin of :func:`get`."""
    return await backend().aget(model, ident, load=load)


async def alist(
    model: type[_M],
    *,
    where: Where = None,
    order_by: OrderBy = None,
    limit: int | None = None,
    offset: int = 0,
    load: Sequence[str] = (),
    **filters: Any,
) -> _list[_M]:
    """Async twin of :func:`list`."""
    return await backend().alist(
        model, where=where, order_by=order_by, limit=limit, offset=offset, load=load, **filters
    )


async def apage(model: type[_M], *, page: int = 1, size: int = 20, **options: Any) -> Page[_M]:
    """Async twin of :func:`page`."""
    return await backend().apage(model, page=page, size=size, **options)


async def acursor_page(
    model: type[_M], *, after: str | None = None, size: int = 20, **options: Any
) -> CursorPage[_M]:
    """Async twin of :func:`cursor_page`."""
    return await backend().acursor_page(model, after=after, size=size, **options)


async def acount(model: type[Any], *, where: Where = None, **filters: Any) -> int:
    """Async twin of :func:`count`."""
    return await backend().acount(model, where=where, **filters)


async def aexists(model: type[Any], *, where: Where = None, **filters: Any) -> bool:
    """Async twin of :func:`exists`."""
    return await backend().aexists(model, where=where, **filters)


async def acreate(model: type[_M], data: _M | Data) -> _M:
    """Async twin of :func:`create`."""
    return await backend().acreate(model, data)


async def abulk_create(model: type[_M], rows: Iterable[_M | Data]) -> _list[_M]:
    """Async twin of :func:`bulk_create`."""
    return await backend().abulk_create(model, rows)


async def aupdate(model: type[_M], ident: Any, data: Data) -> _M:
    """Async twin of :func:`update`."""
    return await backend().aupdate(model, ident, data)


async def adelete(model: type[Any], ident: Any) -> bool:
    """Async twin of :func:`delete`."""
    return await backend().adelete(model, ident)


async def aexecute(sql: str, params: Mapping[str, Any] | None = None) -> _list[dict[str, Any]]:
    """Async twin of :func:`execute`."""
    return await backend().aexecute(sql, params)

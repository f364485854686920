"""The SQLAlchemy backend: every operation of AbstractDatabaseBackend, sync and async."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from . import _rows as rows_
from . import _statements as statements
from ._database import Database
from .base import AbstractDatabaseBackend, Data, OrderBy
from .errors import RecordNotFoundError
from .pagination import CursorPage, Page, encode_cursor

M = TypeVar("M")
Where = Mapping[str, Any] | None

# SQLAlchemy's own execute: SQLModel's sessions warn on it, steering users to exec(), which
# does not take every statement this backend runs.
_execute = Session.execute
_async_execute = AsyncSession.execute


class SQLAlchemyDatabaseBackend(AbstractDatabaseBackend):
    """Runs each operation in the session :class:`Database` says the caller should use.

    Each write is flushed in a savepoint of that session: when the database refuses it (a
    duplicate), only that write is rolled back, and a request or transaction that catches the
    error goes on with its earlier writes kept.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def _family(self, *, sync: bool) -> str:
        """``sqlite``, ``postgresql``…: the database the sync or the async sessions use."""
        urls = self.database.urls
        return (urls.sync if sync else urls.asynchronous).get_backend_name()

    def _stored(self, session: Session, model: type[M], ident: Any) -> M | None:
        """The row with key ``ident``; None for a key its column cannot hold (no row has it)."""
        key = statements.ident_of(model, ident)
        if rows_.unstorable_key(model, key, self._family(sync=True)):
            return None
        return session.get(model, key)

    async def _astored(self, session: AsyncSession, model: type[M], ident: Any) -> M | None:
        key = statements.ident_of(model, ident)
        if rows_.unstorable_key(model, key, self._family(sync=False)):
            return None
        return await session.get(model, key)

    # -- sync -----------------------------------------------------------------------------------

    def get(self, model: type[M], ident: Any, *, load: Sequence[str] = ()) -> M | None:
        statements.check_model(model)
        options = statements.loading(model, load)
        key = statements.ident_of(model, ident)
        if rows_.unstorable_key(model, key, self._family(sync=True)):
            return None
        with self.database.session(writes=False) as session:
            row: M | None = session.get(model, key, options=options)
            return row

    def list(
        self,
        model: type[M],
        *,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[M]:
        query = statements.select_rows(
            model, where=where, filters=filters, order_by=order_by, load=load
        )
        with self.database.session(writes=False) as session:
            return list(_execute(session, _window(query, limit, offset)).scalars())

    def page(
        self,
        model: type[M],
        *,
        page: int = 1,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[M]:
        offset, limit = statements.page_bounds(page, size)
        order = order_by or statements.primary_key_order(model)  # pages need a stable order
        query = statements.select_rows(
            model, where=where, filters=filters, order_by=order, load=load
        )
        with self.database.session(writes=False) as session:
            total = _execute(session, statements.count_rows(model, where, filters)).scalar_one()
            items = list(_execute(session, query.limit(limit).offset(offset)).scalars())
        return Page[M](items=items, total=total, page=page, size=size)

    def cursor_page(
        self,
        model: type[M],
        *,
        after: str | None = None,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[M]:
        query, order = statements.cursor_rows(
            model,
            after=after,
            size=size,
            where=where,
            filters=filters,
            order_by=order_by,
            load=load,
        )
        with self.database.session(writes=False) as session:
            rows = list(_execute(session, query).scalars())
        return _cursor_page(model, order, rows, size)

    def count(self, model: type[Any], *, where: Where = None, **filters: Any) -> int:
        with self.database.session(writes=False) as session:
            return int(_execute(session, statements.count_rows(model, where, filters)).scalar_one())

    def exists(self, model: type[Any], *, where: Where = None, **filters: Any) -> bool:
        with self.database.session(writes=False) as session:
            return _execute(session, statements.any_row(model, where, filters)).first() is not None

    def create(self, model: type[M], data: M | Data) -> M:
        statements.check_model(model)
        row: M = rows_.instance(model, data, self._family(sync=True))
        with self.database.session() as session:
            with rows_.duplicates(model), session.begin_nested():
                session.add(row)
                session.flush()
            session.refresh(row)
        return row

    def bulk_create(self, model: type[M], rows: Iterable[M | Data]) -> builtins.list[M]:
        statements.check_model(model)
        family = self._family(sync=True)
        created = [rows_.instance(model, data, family) for data in rows]
        with (
            self.database.session() as session,
            rows_.duplicates(model),
            session.begin_nested(),
        ):
            session.add_all(created)
            session.flush()
        return created

    def update(self, model: type[M], ident: Any, data: Data) -> M:
        statements.check_model(model)
        with self.database.session() as session:
            row = self._stored(session, model, ident)
            if row is None:
                raise _not_found(model, ident)
            with rows_.duplicates(model), session.begin_nested():
                rows_.apply(model, row, data, self._family(sync=True))
                session.flush()
            session.refresh(row)
            return row

    def delete(self, model: type[Any], ident: Any) -> bool:
        statements.check_model(model)
        with self.database.session() as session:
            row = self._stored(session, model, ident)
            if row is None:
                return False
            session.delete(row)
            session.flush()
            return True

    def execute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        with self.database.session() as session:
            result = _execute(session, text(sql), dict(params or {}))
            return [dict(row) for row in result.mappings()] if result.returns_rows else []  # type: ignore[attr-defined]

    # -- async ----------------------------------------------------------------------------------

    async def aget(self, model: type[M], ident: Any, *, load: Sequence[str] = ()) -> M | None:
        statements.check_model(model)
        options = statements.loading(model, load)
        key = statements.ident_of(model, ident)
        if rows_.unstorable_key(model, key, self._family(sync=False)):
            return None
        async with self.database.async_session(writes=False) as session:
            row: M | None = await session.get(model, key, options=options)
            return row

    async def alist(
        self,
        model: type[M],
        *,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[M]:
        query = statements.select_rows(
            model, where=where, filters=filters, order_by=order_by, load=load
        )
        async with self.database.async_session(writes=False) as session:
            result = await _async_execute(session, _window(query, limit, offset))
            return list(result.scalars())

    async def apage(
        self,
        model: type[M],
        *,
        page: int = 1,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[M]:
        offset, limit = statements.page_bounds(page, size)
        order = order_by or statements.primary_key_order(model)  # pages need a stable order
        query = statements.select_rows(
            model, where=where, filters=filters, order_by=order, load=load
        )
        async with self.database.async_session(writes=False) as session:
            total = (
                await _async_execute(session, statements.count_rows(model, where, filters))
            ).scalar_one()
            items = list(
                (await _async_execute(session, query.limit(limit).offset(offset))).scalars()
            )
        return Page[M](items=items, total=total, page=page, size=size)

    async def acursor_page(
        self,
        model: type[M],
        *,
        after: str | None = None,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[M]:
        query, order = statements.cursor_rows(
            model,
            after=after,
            size=size,
            where=where,
            filters=filters,
            order_by=order_by,
            load=load,
        )
        async with self.database.async_session(writes=False) as session:
            rows = list((await _async_execute(session, query)).scalars())
        return _cursor_page(model, order, rows, size)

    async def acount(self, model: type[Any], *, where: Where = None, **filters: Any) -> int:
        async with self.database.async_session(writes=False) as session:
            result = await _async_execute(session, statements.count_rows(model, where, filters))
            return int(result.scalar_one())

    async def aexists(self, model: type[Any], *, where: Where = None, **filters: Any) -> bool:
        async with self.database.async_session(writes=False) as session:
            result = await _async_execute(session, statements.any_row(model, where, filters))
            return result.first() is not None

    async def acreate(self, model: type[M], data: M | Data) -> M:
        statements.check_model(model)
        row: M = rows_.instance(model, data, self._family(sync=False))
        async with self.database.async_session() as session:
            with rows_.duplicates(model):
                async with session.begin_nested():
                    session.add(row)
                    await session.flush()
            await session.refresh(row)
        return row

    async def abulk_create(self, model: type[M], rows: Iterable[M | Data]) -> builtins.list[M]:
        statements.check_model(model)
        family = self._family(sync=False)
        created = [rows_.instance(model, data, family) for data in rows]
        async with self.database.async_session() as session:
            with rows_.duplicates(model):
                async with session.begin_nested():
                    session.add_all(created)
                    await session.flush()
        return created

    async def aupdate(self, model: type[M], ident: Any, data: Data) -> M:
        statements.check_model(model)
        async with self.database.async_session() as session:
            row = await self._astored(session, model, ident)
            if row is None:
                raise _not_found(model, ident)
            with rows_.duplicates(model):
                async with session.begin_nested():
                    rows_.apply(model, row, data, self._family(sync=False))
                    await session.flush()
            await session.refresh(row)
            return row

    async def adelete(self, model: type[Any], ident: Any) -> bool:
        statements.check_model(model)
        async with self.database.async_session() as session:
            row = await self._astored(session, model, ident)
            if row is None:
                return False
            await session.delete(row)
            await session.flush()
            return True

    async def aexecute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        async with self.database.async_session() as session:
            result = await _async_execute(session, text(sql), dict(params or {}))
            return [dict(row) for row in result.mappings()] if result.returns_rows else []  # type: ignore[attr-defined]


def _window(query: Any, limit: int | None, offset: int) -> Any:
    """LIMIT and OFFSET, only when asked for (checked: ``InvalidPageError``)."""
    limit, offset = statements.window_bounds(limit, offset)
    if limit is not None:
        query = query.limit(limit)
    return query.offset(offset) if offset else query


def _cursor_page(
    model: type[Any], order: list[tuple[Any, bool]], rows: list[Any], size: int
) -> CursorPage[Any]:
    has_more = len(rows) > size
    items = rows[:size]
    cursor = encode_cursor(model, order, items[-1]) if has_more and items else None
    return CursorPage[Any](items=items, next_cursor=cursor, has_more=has_more)


def _not_found(model: type[Any], ident: Any) -> RecordNotFoundError:
    return RecordNotFoundError(f"No {model.__name__} with primary key {ident!r}.")

"""``BaseRepository[Model]``: typed data access for one model, sync and async twins.

::

    @Repository
    class HeroRepository(BaseRepository[Hero]):
        def strongest(self) -> list[Hero]:
            return self.list(power__gte=90, order_by="-power", limit=10)

Repositories are singletons: each call uses the session of the current request or transaction
(see :class:`~tausestack.sdk.database.Database`), so they can be injected anywhere.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from fastapi import HTTPException

from .base import AbstractDatabaseBackend, Data, OrderBy
from .errors import DatabaseError
from .pagination import CursorPage, Page

ModelT = TypeVar("ModelT")
Where = Mapping[str, Any] | None

__all__ = ["BaseRepository"]


class BaseRepository(Generic[ModelT]):
    """Data access for ``model`` through the application's database backend.

    The model comes from the type argument (``BaseRepository[Hero]``) or a ``model`` class
    attribute. Every method has an async twin prefixed with ``a`` (``get`` / ``aget``).
    """

    model: ClassVar[type[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is BaseRepository:
                (model,) = get_args(base)
                if not isinstance(model, TypeVar):
                    cls.model = model

    def __init__(self, database: AbstractDatabaseBackend) -> None:
        if not isinstance(getattr(type(self), "model", None), type):
            raise DatabaseError(
                f"{type(self).__qualname__} does not say which model it serves: subclass "
                "BaseRepository[YourModel], or set `model = YourModel` on the class."
            )
        self.database = database

    # -- sync -----------------------------------------------------------------------------------

    def get(self, ident: Any, *, load: Sequence[str] = ()) -> ModelT | None:
        """The row with this primary key, or None."""
        row: ModelT | None = self.database.get(self.model, ident, load=load)
        return row

    def get_or_404(self, ident: Any, *, load: Sequence[str] = ()) -> ModelT:
        """The row with this primary key, or an HTTP 404 for the controller to return."""
        row = self.get(ident, load=load)
        if row is None:
            raise self._not_found(ident)
        return row

    def list(
        self,
        *,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[ModelT]:
        """Rows matching ``filters`` (``age__gte=18``), ordered (``"-age"``) and limited."""
        return self.database.list(
            self.model,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
            load=load,
            **filters,
        )

    def page(
        self,
        *,
        page: int = 1,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[ModelT]:
        """Page number ``page`` of ``size`` rows, with the total."""
        return self.database.page(
            self.model, page=page, size=size, where=where, order_by=order_by, load=load, **filters
        )

    def cursor_page(
        self,
        *,
        after: str | None = None,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[ModelT]:
        """``size`` rows after the cursor ``after``; stable under inserts, unlike offsets."""
        return self.database.cursor_page(
            self.model, after=after, size=size, where=where, order_by=order_by, load=load, **filters
        )

    def count(self, *, where: Where = None, **filters: Any) -> int:
        """How many rows match."""
        return self.database.count(self.model, where=where, **filters)

    def exists(self, *, where: Where = None, **filters: Any) -> bool:
        """Whether any row matches."""
        return self.database.exists(self.model, where=where, **filters)

    def create(self, data: ModelT | Data) -> ModelT:
        """Insert a row from a model instance, a pydantic model or a mapping."""
        row: ModelT = self.database.create(self.model, data)
        return row

    def bulk_create(self, rows: Iterable[ModelT | Data]) -> builtins.list[ModelT]:
        """Insert many rows at once."""
        return self.database.bulk_create(self.model, rows)

    def update(self, ident: Any, data: Data) -> ModelT:
        """Change some fields of a row (a primary key or the row itself)."""
        row: ModelT = self.database.update(self.model, ident, data)
        return row

    def delete(self, ident: Any) -> bool:
        """Delete a row; False when there was none."""
        return self.database.delete(self.model, ident)

    def execute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Raw SQL with bound parameters (``WHERE id = :id``), rows as dictionaries."""
        return self.database.execute(sql, params)

    # -- async ----------------------------------------------------------------------------------

    async def aget(self, ident: Any, *, load: Sequence[str] = ()) -> ModelT | None:
        """Async twin of :meth:`get`."""
        row: ModelT | None = await self.database.aget(self.model, ident, load=load)
        return row

    async def aget_or_404(self, ident: Any, *, load: Sequence[str] = ()) -> ModelT:
        """Async twin of :meth:`get_or_404`."""
        row = await self.aget(ident, load=load)
        if row is None:
            raise self._not_found(ident)
        return row

    async def alist(
        self,
        *,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[ModelT]:
        """Async twin of :meth:`list`."""
        return await self.database.alist(
            self.model,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
            load=load,
            **filters,
        )

    async def apage(
        self,
        *,
        page: int = 1,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[ModelT]:
        """Async twin of :meth:`page`."""
        return await self.database.apage(
            self.model, page=page, size=size, where=where, order_by=order_by, load=load, **filters
        )

    async def acursor_page(
        self,
        *,
        after: str | None = None,
        size: int = 20,
        where: Where = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[ModelT]:
        """Async twin of :meth:`cursor_page`."""
        return await self.database.acursor_page(
            self.model, after=after, size=size, where=where, order_by=order_by, load=load, **filters
        )

    async def acount(self, *, where: Where = None, **filters: Any) -> int:
        """Async twin of :meth:`count`."""
        return await self.database.acount(self.model, where=where, **filters)

    async def aexists(self, *, where: Where = None, **filters: Any) -> bool:
        """Async twin of :meth:`exists`."""
        return await self.database.aexists(self.model, where=where, **filters)

    async def acreate(self, data: ModelT | Data) -> ModelT:
        """Async twin of :meth:`create`."""
        row: ModelT = await self.database.acreate(self.model, data)
        return row

    async def abulk_create(self, rows: Iterable[ModelT | Data]) -> builtins.list[ModelT]:
        """Async twin of :meth:`bulk_create`."""
        return await self.database.abulk_create(self.model, rows)

    async def aupdate(self, ident: Any, data: Data) -> ModelT:
        """Async twin of :meth:`update`."""
        row: ModelT = await self.database.aupdate(self.model, ident, data)
        return row

    async def adelete(self, ident: Any) -> bool:
        """Async twin of :meth:`delete`."""
        return await self.database.adelete(self.model, ident)

    async def aexecute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Async twin of :meth:`execute`."""
        return await self.database.aexecute(sql, params)

    def _not_found(self, ident: Any) -> HTTPException:
        return HTTPException(404, f"{self.model.__name__} {ident} not found.")

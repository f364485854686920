"""``AbstractDatabaseBackend``: what repositories and ``sdk.database`` need from a database.

Every operation has a sync form and an async twin (``get`` / ``aget``). Models are table
classes (``SQLModel, table=True``, or any SQLAlchemy mapped class); filters are keywords
(``age__gte=18``, see ``_filters``); ``load`` names relationships to load with the rows.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from .pagination import CursorPage, Page

M = TypeVar("M")
Data = Mapping[str, Any] | BaseModel
OrderBy = str | Sequence[str] | None


class AbstractDatabaseBackend(ABC):
    """The operations of a database backend; ``settings.database.backend`` picks one."""

    # -- sync -----------------------------------------------------------------------------------

    @abstractmethod
    def get(self, model: type[M], ident: Any, *, load: Sequence[str] = ()) -> M | None:
        """The row with primary key ``ident`` (a tuple for composite keys), or None."""

    @abstractmethod
    def list(
        self,
        model: type[M],
        *,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[M]:
        """Rows matching the filters, ordered, limited."""

    @abstractmethod
    def page(
        self,
        model: type[M],
        *,
        page: int = 1,
        size: int = 20,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[M]:
        """Page number ``page`` (from 1) of ``size`` rows, with the total count."""

    @abstractmethod
    def cursor_page(
        self,
        model: type[M],
        *,
        after: str | None = None,
        size: int = 20,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[M]:
        """``size`` rows after the cursor ``after`` (None for the first page)."""

    @abstractmethod
    def count(
        self, model: type[Any], *, where: Mapping[str, Any] | None = None, **filters: Any
    ) -> int:
        """How many rows match."""

    @abstractmethod
    def exists(
        self, model: type[Any], *, where: Mapping[str, Any] | None = None, **filters: Any
    ) -> bool:
        """Whether any row matches."""

    @abstractmethod
    def create(self, model: type[M], data: M | Data) -> M:
        """Insert one row (a model instance, a pydantic model or a mapping) and return it."""

    @abstractmethod
    def bulk_create(self, model: type[M], rows: Iterable[M | Data]) -> builtins.list[M]:
        """Insert many rows in one flush and return them."""

    @abstractmethod
    def update(self, model: type[M], ident: Any, data: Data) -> M:
        """Change the given fields of one row (unset pydantic fields are left alone)."""

    @abstractmethod
    def delete(self, model: type[Any], ident: Any) -> bool:
        """Delete one row; False when there was none."""

    @abstractmethod
    def execute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Run raw SQL with bound parameters (``:name``); rows as dictionaries."""

    # -- async ----------------------------------------------------------------------------------

    @abstractmethod
    async def aget(self, model: type[M], ident: Any, *, load: Sequence[str] = ()) -> M | None:
        """Async twin of :meth:`get`."""

    @abstractmethod
    async def alist(
        self,
        model: type[M],
        *,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> builtins.list[M]:
        """Async twin of :meth:`list`."""

    @abstractmethod
    async def apage(
        self,
        model: type[M],
        *,
        page: int = 1,
        size: int = 20,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> Page[M]:
        """Async twin of :meth:`page`."""

    @abstractmethod
    async def acursor_page(
        self,
        model: type[M],
        *,
        after: str | None = None,
        size: int = 20,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        load: Sequence[str] = (),
        **filters: Any,
    ) -> CursorPage[M]:
        """Async twin of :meth:`cursor_page`."""

    @abstractmethod
    async def acount(
        self, model: type[Any], *, where: Mapping[str, Any] | None = None, **filters: Any
    ) -> int:
        """Async twin of :meth:`count`."""

    @abstractmethod
    async def aexists(
        self, model: type[Any], *, where: Mapping[str, Any] | None = None, **filters: Any
    ) -> bool:
        """Async twin of :meth:`exists`."""

    @abstractmethod
    async def acreate(self, model: type[M], data: M | Data) -> M:
        """Async twin of :meth:`create`."""

    @abstractmethod
    async def abulk_create(self, model: type[M], rows: Iterable[M | Data]) -> builtins.list[M]:
        """Async twin of :meth:`bulk_create`."""

    @abstractmethod
    async def aupdate(self, model: type[M], ident: Any, data: Data) -> M:
        """Async twin of :meth:`update`."""

    @abstractmethod
    async def adelete(self, model: type[Any], ident: Any) -> bool:
        """Async twin of :meth:`delete`."""

    @abstractmethod
    async def aexecute(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Async twin of :meth:`execute`."""

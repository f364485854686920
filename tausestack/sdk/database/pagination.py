"""Typed pages: offset pages (``Page``) and keyset pages behind an opaque cursor (``CursorPage``).

Both are pydantic models, so a route can return them directly; ``PageQuery`` reads the page
number and size from the query string, bounded, refusing bad values with a 422::

    @get("/")
    async def index(self, paging: PageQuery) -> Page[HeroRead]:
        return await self.heroes.apage(page=paging.page, size=paging.size)

In the OpenAPI schema ``Page[HeroRead]`` is named ``HeroReadPage`` (``CursorPage[HeroRead]``:
``HeroReadCursorPage``); the page class lives in its item's module, so two modules' ``Item``
pages are told apart as their items are.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import re
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from fastapi import Depends, Query
from pydantic import BaseModel, computed_field
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, and_, false, inspect, or_

from .errors import InvalidCursorError

T = TypeVar("T")

__all__ = ["CursorPage", "Page", "PageParams", "PageQuery", "page_query"]

#: Page sizes of :data:`PageQuery`.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: The largest page number :data:`PageQuery` accepts (offsets must fit a 64-bit integer).
MAX_PAGE_NUMBER = 2**31


class _ReadableName(BaseModel):
    """Names a parametrized page after its item: ``Page[HeroRead]`` is ``HeroReadPage``.

    OpenAPI schemas name a parametrized pydantic model after its origin (``Page_HeroRead_``);
    a subclass of it has a name of its own, so ``Page[HeroRead]`` gives one (made once).
    """

    @classmethod
    def __class_getitem__(cls, params: Any) -> Any:
        parametrized: Any = super().__class_getitem__(params)
        metadata = parametrized.__pydantic_generic_metadata__
        if metadata["parameters"] or metadata["origin"] is None:  # still generic (a TypeVar)
            return parametrized
        named = _NAMED.get(parametrized)
        if named is None:
            name = (
                "".join(_type_name(arg) for arg in metadata["args"]) + metadata["origin"].__name__
            )
            namespace = {
                "__module__": _module_of(metadata["args"], cls.__module__),
                "__qualname__": name,
                "__doc__": cls.__doc__,
            }
            named = _NAMED.setdefault(
                parametrized, type(parametrized)(name, (parametrized,), namespace)
            )
            _ORIGINS[named] = (metadata["origin"], metadata["args"])
        return named

    def __reduce__(self) -> Any:
        """Pickled as its origin and items (the named class is not a module attribute)."""
        origin = _ORIGINS.get(type(self))
        if origin is None:
            return super().__reduce__()
        return _unpickle, (*origin, self.__getstate__())


_NAMED: dict[type[Any], type[Any]] = {}
_ORIGINS: dict[type[Any], tuple[type[Any], tuple[Any, ...]]] = {}


def _module_of(arguments: tuple[Any, ...], default: str) -> str:
    """The module of the first item class that has one (not ``builtins``): a page of
    ``shop.Item`` lives with it, so FastAPI tells ``ItemPage`` of two modules apart by theirs."""
    for argument in arguments:
        module = getattr(argument, "__module__", None) if isinstance(argument, type) else None
        if module and module != "builtins":
            return str(module)
    return default


def _unpickle(origin: Any, arguments: tuple[Any, ...], state: Any) -> Any:
    """A page from what :meth:`_ReadableName.__reduce__` gave."""
    kind = origin[arguments if len(arguments) > 1 else arguments[0]]
    page = kind.__new__(kind)
    page.__setstate__(state)
    return page


def _type_name(kind: Any) -> str:
    """``HeroRead`` for a class, ``IntList`` for ``list[int]``, ``IntOrNone`` for ``int | None``."""
    origin, arguments = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        return "Or".join(_type_name(argument) for argument in arguments)
    if origin is Annotated:
        return _type_name(arguments[0])
    if origin is not None:
        return "".join(_type_name(argument) for argument in arguments) + _type_name(origin)
    if kind is None or kind is type(None):
        return "None"
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    name = re.sub(r"\W", "", name)
    return name[:1].upper() + name[1:]


class Page(_ReadableName, Generic[T]):
    """One page of results by number, with the total count."""

    items: list[T]
    total: int
    page: int
    size: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages(self) -> int:
        """How many pages there are at this size."""
        return (self.total + self.size - 1) // self.size if self.size else 0


class CursorPage(_ReadableName, Generic[T]):
    """One page of results after a cursor; pass ``next_cursor`` back to get the next page."""

    items: list[T]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True)
class PageParams:
    """A page number (from 1) and a page size, read from the query string by :func:`page_query`."""

    page: int
    size: int


def page_query(*, size: int = DEFAULT_PAGE_SIZE, max_size: int = MAX_PAGE_SIZE) -> Any:
    """A dependency reading ``?page=`` and ``?size=`` into :class:`PageParams`.

    ``page`` starts at 1; ``size`` defaults to ``size`` and goes from 1 to ``max_size``. Other
    values are refused with FastAPI's 422 validation error, and the bounds appear in the
    OpenAPI schema. :data:`PageQuery` is the same with the defaults (20, at most 100)::

        SmallPages = Annotated[PageParams, page_query(size=10, max_size=50)]

        @get("/")
        async def index(self, paging: SmallPages) -> Page[HeroRead]:
            return await self.heroes.apage(page=paging.page, size=paging.size)
    """
    if not 1 <= size <= max_size:
        raise ValueError(f"page_query needs 1 <= size <= max_size (got {size} and {max_size}).")

    def read_page(page: int = 1, size: int = size) -> PageParams:
        return PageParams(page=page, size=size)

    # Real objects, not the strings this module's annotations are: FastAPI evaluates strings
    # in the module's globals, where max_size is not.
    read_page.__annotations__ = {
        "page": Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER, description="Page number.")],
        "size": Annotated[
            int, Query(ge=1, le=max_size, description=f"Items per page, at most {max_size}.")
        ],
        "return": PageParams,
    }
    return Depends(read_page)


#: ``?page=`` (from 1) and ``?size=`` (default 20, at most 100) as :class:`PageParams`.
PageQuery = Annotated[PageParams, page_query()]


def keyset_order(model: type[Any], order_by: Sequence[str]) -> list[tuple[Any, bool]]:
    """The ordering columns with the primary key appended as a tie-breaker: (column, descending).

    NULLs sort last going up and first going down, on every database.
    """
    from ._filters import sort_keys

    order: list[tuple[Any, bool]] = list(sort_keys(model, order_by))
    keys = {column.key for column, _ in order}
    for primary in inspect(model).primary_key:
        if primary.key not in keys:
            order.append((getattr(model, primary.key), False))
    return order


def encode_cursor(model: type[Any], order: list[tuple[Any, bool]], row: Any) -> str:
    """An opaque cursor pointing just after ``row`` in ``order``."""
    values = [to_jsonable_python(getattr(row, column.key)) for column, _ in order]
    payload = {"m": model.__name__, "o": _signature(order), "v": values}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(
    model: type[Any], order: list[tuple[Any, bool]], cursor: str
) -> ColumnElement[bool]:
    """The condition selecting rows after ``cursor`` (keyset pagination, any mix of directions)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        matches = payload["m"] == model.__name__ and payload["o"] == _signature(order)
        values = [
            _restore(column, value) for (column, _), value in zip(order, payload["v"], strict=True)
        ]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidCursorError(
            f"This cursor was not made by a {model.__name__} listing ({exc}); pass the "
            "next_cursor of the previous page unchanged, or none for the first page."
        ) from None
    if not matches:
        raise InvalidCursorError(
            f"This cursor belongs to another listing (model or order differs from "
            f"{model.__name__} ordered by {_signature(order)}); start again without a cursor."
        )
    alternatives = []
    for index, ((column, descending), value) in enumerate(zip(order, values, strict=True)):
        equal_before = [_equal(order[i][0], values[i]) for i in range(index)]
        alternatives.append(and_(*equal_before, _beyond(column, descending, value)))
    return or_(*alternatives)


def sort_clauses(order: list[tuple[Any, bool]]) -> list[Any]:
    """ORDER BY for a keyset order: NULLs last going up, first going down."""
    from ._filters import sort_clause

    return [sort_clause(column, descending) for column, descending in order]


def _equal(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _beyond(column: Any, descending: bool, value: Any) -> ColumnElement[bool]:
    """Rows strictly after ``value`` in this column's order (NULLs last up, first down)."""
    if descending:
        return column.is_not(None) if value is None else column < value  # type: ignore[no-any-return]
    if value is None:
        return false()
    return or_(column > value, column.is_(None))


def _signature(order: list[tuple[Any, bool]]) -> str:
    return ",".join(("-" if descending else "") + column.key for column, descending in order)


def _restore(column: Any, value: Any) -> Any:
    """Turn a JSON value back into the column's Python type."""
    if value is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind is datetime.datetime:
        return datetime.datetime.fromisoformat(value)
    if kind is datetime.date:
        return datetime.date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is decimal.Decimal:
        return decimal.Decimal(value)
    return value

"""Typed pages: offset pages (``Page``) and keyset pages behind an opaque cursor (``CursorPage``).

Both are pydantic models, so a route can return them directly::

    @get("/")
    async def index(self, page: int = 1) -> Page[HeroRead]:
        return await self.heroes.apage(page=page, size=20)
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, computed_field
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, and_, false, inspect, or_

from .errors import InvalidCursorError

T = TypeVar("T")

__all__ = ["CursorPage", "Page"]


class Page(BaseModel, Generic[T]):
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


class CursorPage(BaseModel, Generic[T]):
    """One page of results after a cursor; pass ``next_cursor`` back to get the next page."""

    items: list[T]
    next_cursor: str | None
    has_more: bool


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

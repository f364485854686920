"""Statements and row preparation shared by the sync and async SQLAlchemy backends."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, inspect, literal, select
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import selectinload

from ..._naming import did_you_mean
from . import _filters
from .errors import DatabaseError, InvalidFilterError, InvalidPageError
from .pagination import after_cursor, keyset_order, sort_clauses

_MAPPED: weakref.WeakSet[type[Any]] = weakref.WeakSet()


def check_model(model: Any) -> None:
    """Fail clearly when ``model`` is not a mapped table class (checked once per model)."""
    if model in _MAPPED:
        return
    try:
        inspect(model)
        _MAPPED.add(model)
    except NoInspectionAvailable:
        raise DatabaseError(
            f"{getattr(model, '__name__', model)!r} is not a table model; declare it with "
            "`class Hero(SQLModel, table=True)` (or as a SQLAlchemy mapped class)."
        ) from None


def where_of(
    model: type[Any], where: Mapping[str, Any] | None, filters: Mapping[str, Any]
) -> list[Any]:
    """The WHERE conditions from ``where`` and keyword filters together."""
    return _filters.conditions(model, {**(where or {}), **filters})


def loading(model: type[Any], load: Sequence[str]) -> list[Any]:
    """Loader options for the relationships named in ``load``."""
    if not load:
        return []
    relationships = inspect(model).relationships
    options = []
    for name in load:
        if name not in relationships:
            raise InvalidFilterError(
                f"{model.__name__} has no relationship '{name}' to load."
                f"{did_you_mean(name, relationships.keys())} "
                f"Relationships: {', '.join(relationships.keys()) or 'none'}."
            )
        options.append(selectinload(getattr(model, name)))
    return options


def select_rows(
    model: type[Any],
    *,
    where: Mapping[str, Any] | None,
    filters: Mapping[str, Any],
    order_by: str | Sequence[str] | None,
    load: Sequence[str],
) -> Select[Any]:
    """SELECT model rows with filters, ordering and relationship loading."""
    check_model(model)
    statement = select(model)
    conditions = where_of(model, where, filters)
    if conditions:
        statement = statement.where(*conditions)
    if order_by:
        statement = statement.order_by(*_filters.ordering(model, order_by))
    if load:
        statement = statement.options(*loading(model, load))
    return statement


def count_rows(
    model: type[Any], where: Mapping[str, Any] | None, filters: Mapping[str, Any]
) -> Select[Any]:
    """SELECT count(*) with the filters."""
    check_model(model)
    return select(func.count()).select_from(model).where(*where_of(model, where, filters))


def any_row(
    model: type[Any], where: Mapping[str, Any] | None, filters: Mapping[str, Any]
) -> Select[Any]:
    """SELECT 1 … LIMIT 1 with the filters."""
    check_model(model)
    return select(literal(True)).select_from(model).where(*where_of(model, where, filters)).limit(1)


def primary_key_order(model: type[Any]) -> list[str]:
    """Order by primary key: the default for pages, which need a stable order."""
    return [column.key for column in inspect(model).primary_key]


#: Databases take OFFSET and LIMIT as 64-bit integers.
LARGEST_OFFSET = 2**63 - 1


def page_bounds(page: int, size: int) -> tuple[int, int]:
    """Offset and limit for page number ``page`` (from 1) of ``size`` rows."""
    if page < 1 or size < 1:
        raise InvalidPageError(f"page and size start at 1 (got page={page}, size={size}).")
    offset = (page - 1) * size
    if offset + size > LARGEST_OFFSET:
        raise InvalidPageError(
            f"page {page} of size {size} is beyond any table (the offset must fit in 64 bits); "
            "ask for a smaller page number."
        )
    return offset, size


def window_bounds(limit: int | None, offset: int) -> tuple[int | None, int]:
    """``limit`` (None: no limit) and ``offset`` of a listing, checked as databases take them."""
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidPageError(f"limit and offset start at 0 (got limit={limit}, offset={offset}).")
    if (limit or 0) > LARGEST_OFFSET or offset > LARGEST_OFFSET:
        raise InvalidPageError(
            f"limit {limit} and offset {offset}: a value beyond any table (limit and offset "
            "must fit in 64 bits); ask for fewer rows."
        )
    return limit, offset


def cursor_rows(
    model: type[Any],
    *,
    after: str | None,
    size: int,
    where: Mapping[str, Any] | None,
    filters: Mapping[str, Any],
    order_by: str | Sequence[str] | None,
    load: Sequence[str],
) -> tuple[Select[Any], list[tuple[Any, bool]]]:
    """SELECT the next ``size + 1`` rows after the cursor (one extra tells if more remain)."""
    if not 1 <= size < LARGEST_OFFSET:
        raise InvalidPageError(f"size starts at 1 (got {size}).")
    names = [order_by] if isinstance(order_by, str) else list(order_by or ())
    statement = select_rows(model, where=where, filters=filters, order_by=None, load=load)
    order = keyset_order(model, names)
    if after is not None:
        statement = statement.where(after_cursor(model, order, after))
    return statement.order_by(*sort_clauses(order)).limit(size + 1), order


def identity(row: Any) -> Any:
    """The primary key value of a mapped instance, as ``get`` takes it (loaded or not)."""
    key = inspect(type(row)).primary_key_from_instance(row)
    return key[0] if len(key) == 1 else tuple(key)


def ident_of(model: type[Any], ident: Any) -> Any:
    """Accept a primary key or an instance of the model (one that has been saved)."""
    if isinstance(ident, model):
        key = identity(ident)
        if key is None or (isinstance(key, tuple) and None in key):
            raise DatabaseError(
                f"This {model.__name__} has no primary key yet: it was never saved. Save it "
                "with create() first, or pass the primary key of a stored row."
            )
        return key
    if ident is None:
        raise DatabaseError(
            f"A primary key of {model.__name__} is needed, got None. Pass the key of a stored "
            "row (or the row itself)."
        )
    return ident

"""Filters and ordering written as keywords: ``age__gte=18``, ``name__like="A%"``, ``"-created"``.

A filter is ``field`` (equality) or ``field__operator``. Fields are the model's columns; an
unknown field or operator raises :class:`InvalidFilterError` with the valid choices, never
dropping a filter silently.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, inspect
from sqlalchemy.orm import InstrumentedAttribute

from ..._naming import did_you_mean
from .errors import InvalidFilterError

OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "in": lambda column, values: column.in_(_sequence(values, "in")),
    "not_in": lambda column, values: column.not_in(_sequence(values, "not_in")),
    "like": lambda column, pattern: column.like(pattern),
    "ilike": lambda column, pattern: column.ilike(pattern),
    "isnull": lambda column, flag: column.is_(None) if flag else column.is_not(None),
}


def _sequence(values: Any, name: str) -> Sequence[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidFilterError(f"The '{name}' filter takes a list of values, got {values!r}.")
    return list(values)


_COLUMNS: weakref.WeakKeyDictionary[type[Any], dict[str, InstrumentedAttribute[Any]]] = (
    weakref.WeakKeyDictionary()
)


def columns(model: type[Any]) -> dict[str, InstrumentedAttribute[Any]]:
    """The model's column attributes by name (read once per model)."""
    try:
        return _COLUMNS[model]
    except KeyError:
        mapper = inspect(model)
        found = {attribute.key: getattr(model, attribute.key) for attribute in mapper.column_attrs}
        _COLUMNS[model] = found
        return found


def conditions(model: type[Any], filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """Turn ``{"age__gte": 18}`` into SQL conditions on ``model``."""
    available = columns(model)
    result = []
    for key, value in filters.items():
        field, _, name = key.partition("__")
        column = available.get(field)
        if column is None:
            raise InvalidFilterError(
                f"{model.__name__} has no field '{field}' to filter on (in '{key}')."
                f"{did_you_mean(field, available)} Fields: {', '.join(sorted(available))}."
            )
        name = name or "eq"
        build = OPERATORS.get(name)
        if build is None:
            raise InvalidFilterError(
                f"Unknown filter operator '{name}' in '{key}'.{did_you_mean(name, OPERATORS)} "
                f"Operators: {', '.join(OPERATORS)}."
            )
        result.append(build(column, value))
    return result


def ordering(model: type[Any], order_by: str | Sequence[str] | None) -> list[Any]:
    """Turn ``"-created_at"`` or ``["name", "-id"]`` into ORDER BY clauses."""
    if order_by is None:
        return []
    names = [order_by] if isinstance(order_by, str) else list(order_by)
    available = columns(model)
    clauses = []
    for name in names:
        field = name.removeprefix("-")
        column = available.get(field)
        if column is None:
            raise InvalidFilterError(
                f"{model.__name__} has no field '{field}' to order by."
                f"{did_you_mean(field, available)} Fields: {', '.join(sorted(available))}."
            )
        clauses.append(column.desc() if name.startswith("-") else column.asc())
    return clauses

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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

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
    # %, _ and the escape character in the value are matched literally.
    "contains": lambda column, text: column.contains(text, autoescape=True),
    "icontains": lambda column, text: column.icontains(text, autoescape=True),
    "startswith": lambda column, text: column.startswith(text, autoescape=True),
    "endswith": lambda column, text: column.endswith(text, autoescape=True),
    "isnull": lambda column, flag: column.is_(None) if flag else column.is_not(None),
}
#: Operators that take None as a value (others would compare with NULL, which matches nothing).
TAKES_NONE = frozenset({"eq", "ne"})


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
        if name == "isnull" and not isinstance(value, bool):
            raise InvalidFilterError(f"'{key}' takes True or False, got {value!r}.")
        if value is None and name not in TAKES_NONE:
            raise InvalidFilterError(
                f"'{key}=None' compares with NULL, which matches nothing; use "
                f"{field}__isnull=True (or False) to filter on missing values."
            )
        result.append(build(column, value))
    return result


def ordering(model: type[Any], order_by: str | Sequence[str] | None) -> list[Any]:
    """Turn ``"-created_at"`` or ``["name", "-id"]`` into ORDER BY clauses.

    NULLs sort last going up and first going down, on every database (as PostgreSQL does).
    """
    return [sort_clause(column, descending) for column, descending in sort_keys(model, order_by)]


def sort_keys(
    model: type[Any], order_by: str | Sequence[str] | None
) -> list[tuple[InstrumentedAttribute[Any], bool]]:
    """``(column, descending)`` for each name of ``order_by``, checked against the model."""
    if order_by is None:
        return []
    names = [order_by] if isinstance(order_by, str) else list(order_by)
    available = columns(model)
    keys = []
    for name in names:
        if not isinstance(name, str):
            raise InvalidFilterError(f"order_by takes field names, got {name!r}.")
        field = name.removeprefix("-")
        column = available.get(field)
        if column is None:
            raise InvalidFilterError(
                f"{model.__name__} has no field '{field}' to order by."
                f"{did_you_mean(field, available)} Fields: {', '.join(sorted(available))}."
            )
        keys.append((column, name.startswith("-")))
    return keys


def sort_clause(column: Any, descending: bool) -> Any:
    """ORDER BY ``column``; a nullable column gets NULLs last going up, first going down."""
    if not _nullable(column):
        return column.desc() if descending else column.asc()
    return _NullsOrdered(column, descending)


def _nullable(column: Any) -> bool:
    expression = getattr(column, "expression", column)
    return bool(getattr(expression, "nullable", True))


class _NullsOrdered(ColumnElement[Any]):
    """``column ASC NULLS LAST`` / ``DESC NULLS FIRST``, spelled for databases without it."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("descending", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: Any, descending: bool) -> None:
        self.column = getattr(column, "expression", column)
        self.descending = descending


@compiles(_NullsOrdered)
def _nulls_ordered(element: _NullsOrdered, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.column
    clause = column.desc().nulls_first() if element.descending else column.asc().nulls_last()
    return compiler.process(clause, **kw)


@compiles(_NullsOrdered, "mysql")
@compiles(_NullsOrdered, "mariadb")
def _nulls_ordered_mysql(element: _NullsOrdered, compiler: SQLCompiler, **kw: Any) -> str:
    # MySQL has no NULLS FIRST/LAST; sorting on "IS NULL" first does the same.
    column = compiler.process(element.column, **kw)
    direction = "DESC" if element.descending else "ASC"
    return f"{column} IS NULL {direction}, {column} {direction}"

"""Unique violations: the database's error, whose message holds the values, turned into
:class:`DuplicateRecordError` naming the table, columns and constraint, never the values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Index, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from .errors import DuplicateRecordError

__all__ = ["duplicates"]


@contextmanager
def duplicates(model: type[Any]) -> Iterator[None]:
    """Turn a unique violation raised inside the block (by a flush) into
    :class:`DuplicateRecordError`; other integrity errors pass unchanged."""
    try:
        yield
    except IntegrityError as exc:
        duplicate = _duplicate(model, exc)
        if duplicate is None:
            raise
        raise duplicate from None  # the driver's message holds the values


#: PostgreSQL's ``Key (name, team)=(…) already exists``: the columns, before the values.
_KEY_COLUMNS = re.compile(r"^Key \((?P<columns>.+?)\)=\(")
_SQLITE_UNIQUE = "UNIQUE constraint failed: "
#: MySQL's and MariaDB's ER_DUP_ENTRY, ``Duplicate entry '…' for key 'name'`` (MySQL 8 writes
#: ``'table.name'``): only the key, after the last ``for key '``, is read, never the value
#: before it (which may hold that text too); the key's name may hold quotes, unescaped.
_MYSQL_DUPLICATE_ENTRY = 1062
_MYSQL_FOR_KEY = " for key '"


def _duplicate(model: type[Any], exc: IntegrityError) -> DuplicateRecordError | None:
    """The unique violation ``exc`` reports, or None for another integrity error."""
    original = exc.orig
    table = getattr(getattr(model, "__table__", None), "name", model.__name__)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state == "23505":  # PostgreSQL's unique_violation (psycopg, psycopg2, asyncpg)
        # psycopg's diagnostics, or the asyncpg error SQLAlchemy's adapter wraps
        details = getattr(original, "diag", None) or getattr(original, "__cause__", None)
        detail = _first(details, "message_detail", "detail") or ""
        match = _KEY_COLUMNS.match(detail)
        columns = [part.strip() for part in match["columns"].split(",")] if match else []
        found = _first(details, "table_name") or table
        return DuplicateRecordError(
            model.__name__, found, columns, _first(details, "constraint_name")
        )
    text = str(original)
    if text.startswith(_SQLITE_UNIQUE):  # "UNIQUE constraint failed: hero.name, hero.team"
        names = [name.strip() for name in text.removeprefix(_SQLITE_UNIQUE).split(",")]
        found = names[0].rpartition(".")[0] or table
        columns = [name.rpartition(".")[2] for name in names]
        return DuplicateRecordError(model.__name__, found, columns, None)
    return _mysql_duplicate(model, original, table)


def _mysql_duplicate(model: type[Any], original: Any, table: str) -> DuplicateRecordError | None:
    """The duplicate entry a MySQL driver reports (PyMySQL, aiomysql, mysqlclient: the error's
    arguments are its number and message), its key's columns read from the model's table."""
    arguments: tuple[Any, ...] = getattr(original, "args", ())
    if len(arguments) < 2 or arguments[0] != _MYSQL_DUPLICATE_ENTRY:
        return None
    _, found, quoted = str(arguments[1]).rpartition(_MYSQL_FOR_KEY)
    named = found and len(quoted) > 1 and quoted.endswith("'")
    key = quoted[:-1].removeprefix(f"{table}.") if named else None
    mapped = getattr(model, "__table__", None)
    columns = _key_columns(mapped, key) if isinstance(mapped, Table) and key else []
    return DuplicateRecordError(model.__name__, table, columns, key)


def _key_columns(table: Table, key: str) -> list[str]:
    """The columns of the unique key MySQL calls ``key`` on ``table``: ``PRIMARY``, a named
    constraint or index, or an unnamed unique constraint, which MySQL names after its first
    column (``name``, then ``name_2``…); none when the model does not declare it."""
    if key == "PRIMARY":
        return [column.name for column in table.primary_key.columns]
    keys: list[UniqueConstraint | Index] = [
        *(item for item in table.constraints if isinstance(item, UniqueConstraint)),
        *(index for index in table.indexes if index.unique),
    ]
    named = {str(item.name): item for item in keys if isinstance(item.name, str)}
    if key in named:
        return _columns_of(named[key])
    unnamed = [item for item in keys if not isinstance(item.name, str) and item.columns]
    first = [
        item for item in unnamed if re.fullmatch(rf"{re.escape(_columns_of(item)[0])}(_\d+)?", key)
    ]
    return _columns_of(first[0]) if len(first) == 1 else []


def _columns_of(key: UniqueConstraint | Index) -> list[str]:
    return [column.name for column in key.columns]


def _first(source: Any, *names: str) -> str | None:
    for name in names:
        value = getattr(source, name, None)
        if value:
            return str(value)
    return None

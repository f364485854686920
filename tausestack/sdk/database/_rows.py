"""Data for rows: validated before it is written, and what writing it can refuse.

``create`` and ``update`` take data that often comes straight from a request, so everything a
database would refuse with an error of its own (a 500) is refused here first, as
:class:`InvalidDataError` (a 422): a key the model does not have, a value its field's type does
not accept, an integer beyond what the column's type holds on this database. A value that
clashes with a unique column is known only when the row is written: :func:`duplicates` turns
the database's error into :class:`DuplicateRecordError` (a 409), naming the table, columns and
constraint but never the values (PostgreSQL's and MySQL's messages have them).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import (
    BigInteger,
    Enum,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.exc import IntegrityError

from ..._naming import did_you_mean
from .errors import DuplicateRecordError, InvalidDataError

__all__ = ["apply", "duplicates", "instance", "unstorable_key"]


def instance(model: type[Any], data: Any, family: str) -> Any:
    """A ``model`` instance from an instance, a pydantic model or a mapping, validated for a
    database of ``family`` (``sqlite``, ``postgresql``…).

    A pydantic model's defaults count (``HeroCreate(name=…)`` brings its default ``age``);
    relationships given in a mapping (``{"heroes": [...]}``) are set too.
    """
    if isinstance(data, model):
        row = data
    else:
        values = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        _check_fields(model, values)
        related = {name: values.pop(name) for name in _relationships(model) & values.keys()}
        validate = getattr(model, "model_validate", None)
        try:
            row = validate(values) if validate is not None else model(**values)
        except ValidationError as exc:
            raise InvalidDataError(model.__name__, exc.errors(include_url=False)) from exc
        for name, value in related.items():
            setattr(row, name, value)
    names = [*_integer_limits(model, family), *_text_lengths(model, family)]
    _check_ranges(model, {name: getattr(row, name, None) for name in names}, family)
    return row


def apply(model: type[Any], row: Any, data: Any, family: str) -> None:
    """Set the given fields on ``row``, each validated against its field's type first (a
    pydantic model's unset fields are left alone). Nothing is set unless every value is valid."""
    changes = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else dict(data)
    _check_fields(model, changes)
    related = {name: changes.pop(name) for name in _relationships(model) & changes.keys()}
    changes = _validated(model, changes)
    _check_ranges(model, changes, family)
    for name, value in {**changes, **related}.items():
        setattr(row, name, value)


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


_ADAPTERS: weakref.WeakKeyDictionary[type[Any], dict[str, TypeAdapter[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _validated(model: type[Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` with each value validated (and coerced) by its pydantic field.

    Raises ``InvalidDataError`` naming the model, one entry per bad field.
    """
    fields = getattr(model, "model_fields", None)
    if not fields or not changes:
        return changes
    adapters = _ADAPTERS.get(model)
    if adapters is None:
        adapters = _ADAPTERS[model] = {}
    checked: dict[str, Any] = {}
    errors: list[Any] = []
    for name, value in changes.items():
        field = fields.get(name)
        if field is None:  # a column the pydantic model does not declare
            checked[name] = value
            continue
        adapter = adapters.get(name)
        if adapter is None:
            annotated: Any = Annotated[field.annotation, field]
            adapter = adapters[name] = TypeAdapter(annotated)
        try:
            checked[name] = adapter.validate_python(value)
        except ValidationError as exc:
            errors += [
                {**error, "loc": (name, *error["loc"])} for error in exc.errors(include_url=False)
            ]
    if errors:
        raise InvalidDataError(model.__name__, errors)
    return checked


_ATTRIBUTES: weakref.WeakKeyDictionary[type[Any], tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _attributes(model: type[Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The mapped attribute names of ``model`` and, among them, its relationships."""
    found = _ATTRIBUTES.get(model)
    if found is None:
        mapper = inspect(model)
        known = frozenset(attribute.key for attribute in mapper.attrs)
        found = _ATTRIBUTES[model] = (known, frozenset(mapper.relationships.keys()))
    return found


def _relationships(model: type[Any]) -> frozenset[str]:
    return _attributes(model)[1]


def _check_fields(model: type[Any], values: Mapping[str, Any]) -> None:
    """Refuse keys the model does not have, as pydantic refuses extra fields."""
    known = _attributes(model)[0]
    unknown = sorted(set(values) - known)
    if unknown:
        errors = [
            {
                "type": "extra_forbidden",
                "loc": (name,),
                "msg": f"Extra inputs are not permitted.{did_you_mean(name, known)}",
            }
            for name in unknown
        ]
        raise InvalidDataError(model.__name__, errors)


# -- integer ranges -------------------------------------------------------------------------------

#: Bits of each integer type, on databases other than SQLite (whose INTEGER has 64).
_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))

_LIMITS: weakref.WeakKeyDictionary[type[Any], dict[str, dict[str, tuple[int, int]]]] = (
    weakref.WeakKeyDictionary()
)


def _integer_limits(model: type[Any], family: str) -> dict[str, tuple[int, int]]:
    """The lowest and highest value of each integer column of ``model`` on ``family``."""
    by_family = _LIMITS.setdefault(model, {})
    limits = by_family.get(family)
    if limits is None:
        limits = by_family[family] = {}
        for attribute in inspect(model).column_attrs:
            kind = attribute.columns[0].type
            kind = getattr(kind, "impl_instance", kind)
            bits = next((bits for base, bits in _BITS if isinstance(kind, base)), None)
            if bits is not None:
                bits = 64 if family == "sqlite" else bits
                limits[attribute.key] = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return limits


_LENGTHS: weakref.WeakKeyDictionary[type[Any], dict[str, dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)


def _text_lengths(model: type[Any], family: str) -> dict[str, int]:
    """The most characters each string column of ``model`` holds on ``family`` (SQLite keeps
    any length): its declared length, or MySQL's VARCHAR(255) for SQLModel's length-less str."""
    by_family = _LENGTHS.setdefault(model, {})
    lengths = by_family.get(family)
    if lengths is None:
        lengths = by_family[family] = {}
        for attribute in inspect(model).column_attrs:
            declared = attribute.columns[0].type
            kind = getattr(declared, "impl_instance", declared)
            if family == "sqlite" or not isinstance(kind, String) or isinstance(kind, Enum):
                continue  # an Enum's length is its names', and a value is checked as a member
            length = kind.length
            if length is None and family in ("mysql", "mariadb"):
                length = getattr(declared, "mysql_default_length", None)  # SQLModel's AutoString
            if isinstance(length, int):
                lengths[attribute.key] = length
    return lengths


def _check_ranges(model: type[Any], values: Mapping[str, Any], family: str) -> None:
    """Refuse integers and text the columns cannot hold (the database would fail with a 500)."""
    limits = _integer_limits(model, family)
    lengths = _text_lengths(model, family)
    errors = []
    for name, value in values.items():
        if name in lengths and isinstance(value, str) and len(value) > lengths[name]:
            errors.append(_too_long(name, value, lengths[name]))
            continue
        if name not in limits or not isinstance(value, int) or isinstance(value, bool):
            continue
        low, high = limits[name]
        if not low <= value <= high:
            errors.append(_beyond(name, value, low, high))
    if errors:
        raise InvalidDataError(model.__name__, errors)


def unstorable_key(model: type[Any], ident: Any, family: str) -> bool:
    """Whether the primary key ``ident`` (a value, a tuple or a mapping of the key's parts)
    holds an integer its column cannot hold on ``family``: no row has it, and the database
    would fail on it (a 500) rather than find nothing."""
    limits = _integer_limits(model, family)
    mapper = inspect(model)
    names = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    if isinstance(ident, Mapping):
        values = [ident.get(name) for name in names]
    else:
        values = list(ident) if isinstance(ident, tuple) else [ident]
    for name, value in zip(names, values, strict=False):
        if name in limits and isinstance(value, int) and not isinstance(value, bool):
            low, high = limits[name]
            if not low <= value <= high:
                return True
    return False


def _too_long(name: str, value: str, length: int) -> dict[str, Any]:
    """Pydantic's error for a string longer than its column holds."""
    message = f"String should have at most {length} characters (the column's length)"
    ctx = {"max_length": length}
    return {"type": "string_too_long", "loc": (name,), "msg": message, "input": value, "ctx": ctx}


def _beyond(name: str, value: int, low: int, high: int) -> dict[str, Any]:
    """Pydantic's error for a value out of bounds, for one of them."""
    kind, words, key, limit = (
        ("less_than_equal", "less than or equal to", "le", high)
        if value > high
        else ("greater_than_equal", "greater than or equal to", "ge", low)
    )
    message = f"Input should be {words} {limit} (the column's integer type)"
    return {"type": kind, "loc": (name,), "msg": message, "input": value, "ctx": {key: limit}}


# -- unique violations ----------------------------------------------------------------------------

#: PostgreSQL's ``Key (name, team)=(…) already exists``: the columns, before the values.
_KEY_COLUMNS = re.compile(r"^Key \((?P<columns>.+?)\)=\(")
_SQLITE_UNIQUE = "UNIQUE constraint failed: "
#: MySQL's and MariaDB's ER_DUP_ENTRY, ``Duplicate entry '…' for key 'name'`` (MySQL 8 writes
#: ``'table.name'``): only the key, at the end, is read, never the value before it.
_MYSQL_DUPLICATE_ENTRY = 1062
_MYSQL_KEY = re.compile(r" for key '(?P<key>[^']+)'$")


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
    match = _MYSQL_KEY.search(str(arguments[1]))
    key = match["key"].removeprefix(f"{table}.") if match else None
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

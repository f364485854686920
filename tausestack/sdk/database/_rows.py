"""Data for rows: validated before it is written, and what writing it can refuse.

``create`` and ``update`` take data that often comes straight from a request, so everything a
database would refuse with an error of its own (a 500) is refused here first, as
:class:`InvalidDataError` (a 422): a key the model does not have, a value its field's type does
not accept, an integer or text beyond what the column's type holds on this database, a NUL
character in text on PostgreSQL. A value that clashes with a unique column is known only when
the row is written: :func:`duplicates` turns the database's error into
:class:`DuplicateRecordError` (a 409), naming the table, columns and constraint but never the
values (PostgreSQL's and MySQL's messages have them).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import BigInteger, Enum, Integer, SmallInteger, String, Text, inspect
from sqlalchemy.dialects import mysql

from ..._naming import did_you_mean
from ._duplicates import duplicates
from .errors import InvalidDataError

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
    names = [*_integer_limits(model, family), *_texts(model, family)]
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


class _Text(NamedTuple):
    """What a string column holds on a database: at most ``characters`` characters, at most
    ``utf8_bytes`` bytes of UTF-8 (MySQL's length-less TEXT types, named ``kind``), and NUL
    characters or not (PostgreSQL's text cannot)."""

    characters: int | None
    utf8_bytes: int | None
    kind: str
    nul: bool


#: The bytes each of MySQL's (and MariaDB's) length-less TEXT types holds, whatever the
#: characters: the first type a column's is an instance of counts.
_MYSQL_TEXTS = (
    (mysql.TINYTEXT, "TINYTEXT", 2**8 - 1),
    (mysql.MEDIUMTEXT, "MEDIUMTEXT", 2**24 - 1),
    (mysql.LONGTEXT, "LONGTEXT", 2**32 - 1),
    (Text, "TEXT", 2**16 - 1),
)

_TEXTS: weakref.WeakKeyDictionary[type[Any], dict[str, dict[str, _Text]]] = (
    weakref.WeakKeyDictionary()
)


def _texts(model: type[Any], family: str) -> dict[str, _Text]:
    """What each string column of ``model`` holds on ``family`` (SQLite keeps any text): its
    declared length in characters, or MySQL's VARCHAR(255) for SQLModel's length-less str, or
    the bytes of MySQL's TEXT types; and no NUL on PostgreSQL."""
    by_family = _TEXTS.setdefault(model, {})
    texts = by_family.get(family)
    if texts is None:
        texts = by_family[family] = {}
        for attribute in inspect(model).column_attrs:
            declared = attribute.columns[0].type
            variants = getattr(declared, "_variant_mapping", None) or {}
            declared = variants.get(family, declared)  # Text().with_variant(LONGTEXT, "mysql")
            kind = getattr(declared, "impl_instance", declared)
            if family == "sqlite" or not isinstance(kind, String) or isinstance(kind, Enum):
                continue  # an Enum's length is its names', and a value is checked as a member
            length, utf8_bytes, type_name = kind.length, None, ""
            if length is None and family in ("mysql", "mariadb"):
                length = getattr(declared, "mysql_default_length", None)  # SQLModel's AutoString
                for base, text_type, most in _MYSQL_TEXTS:
                    if isinstance(kind, base):
                        utf8_bytes, type_name = most, text_type
                        break
            characters = length if isinstance(length, int) else None
            nul = family != "postgresql"
            if characters is not None or utf8_bytes is not None or not nul:
                texts[attribute.key] = _Text(characters, utf8_bytes, type_name, nul)
    return texts


def _check_ranges(model: type[Any], values: Mapping[str, Any], family: str) -> None:
    """Refuse integers and text the columns cannot hold (the database would fail with a 500)."""
    limits = _integer_limits(model, family)
    texts = _texts(model, family)
    errors = []
    for name, value in values.items():
        if name in texts and isinstance(value, str):
            error = _unstorable_text(name, value, texts[name])
            if error is not None:
                errors.append(error)
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


def _unstorable_text(name: str, value: str, text: _Text) -> dict[str, Any] | None:
    """Pydantic's error for a string its column cannot hold, if it cannot."""
    if text.characters is not None and len(value) > text.characters:
        message = f"String should have at most {text.characters} characters (the column's length)"
        ctx: dict[str, Any] = {"max_length": text.characters}
        return _string_error("string_too_long", name, value, message, ctx)
    most = text.utf8_bytes
    if most is not None and len(value) > most // 4 and _utf8_size(value) > most:
        message = (
            f"String should have at most {most:,} bytes in UTF-8 (the column's {text.kind}"
            " type; a character takes 1 to 4)"
        )
        return _string_error("string_too_long", name, value, message, {"max_bytes": most})
    if not text.nul and "\x00" in value:
        message = "String should not contain a NUL character (\\x00): the database cannot store it"
        return _string_error("string_nul_character", name, value, message, {})
    return None


def _utf8_size(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))  # a lone surrogate counts, no error


def _string_error(
    kind: str, name: str, value: str, message: str, ctx: dict[str, Any]
) -> dict[str, Any]:
    error = {"type": kind, "loc": (name,), "msg": message, "input": value}
    return {**error, "ctx": ctx} if ctx else error


def _beyond(name: str, value: int, low: int, high: int) -> dict[str, Any]:
    """Pydantic's error for a value out of bounds, for one of them."""
    kind, words, key, limit = (
        ("less_than_equal", "less than or equal to", "le", high)
        if value > high
        else ("greater_than_equal", "greater than or equal to", "ge", low)
    )
    message = f"Input should be {words} {limit} (the column's integer type)"
    return {"type": kind, "loc": (name,), "msg": message, "input": value, "ctx": {key: limit}}

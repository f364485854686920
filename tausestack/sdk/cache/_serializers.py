"""How values become bytes: JSON (orjson) by default, pickle only when the settings ask for it.

orjson rather than the standard ``json``: it is several times faster on both sides and knows
datetimes, UUIDs, enums and dataclasses natively; anything else goes through pydantic's
``to_jsonable_python`` (models, sets, ``Decimal``, ``Path``, ``timedelta``…), so a value is
stored if pydantic could put it in a JSON response. JSON gives back JSON types (a model comes
back as a dict); a ``TypeAdapter`` rebuilds the declared type on demand.

NaN and the infinities are refused (``ValueError``): orjson would write them as ``null``.

Integers are written as ASCII digits by both serializers, so ``incr`` (Redis ``INCRBY``) and
``get`` agree on them.
"""

from __future__ import annotations

import functools
import pickle
import types
import typing
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from pydantic import PydanticSchemaGenerationError, TypeAdapter
from pydantic_core import to_jsonable_python

from ..._json_numbers import hidden_non_finite

__all__ = ["JsonSerializer", "PickleSerializer", "Serializer", "adapter", "decoder_for"]

_PICKLE_MARK = b"\x80"  # the first byte of every pickle of protocol 2 or later
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS
# Types a JSON round trip gives back unchanged (no pydantic needed), and what a value of each
# is once decoded (an int stored by a ``-> float`` function stays an int; () checks nothing).
_JSON_SCALARS: dict[Any, tuple[type, ...]] = {
    Any: (),
    object: (),
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
    type(None): (type(None),),
    dict: (dict,),
    list: (list,),
}


class Serializer(Protocol):
    """Turns values into bytes and back."""

    name: str

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``; raises TypeError or ValueError when it cannot."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value stored as ``data``; raises ValueError (or a pickle error) when it cannot."""
        ...


class JsonSerializer:
    """JSON through orjson; safe to read whatever another process wrote."""

    name = "json"

    def dumps(self, value: Any) -> bytes:
        data = orjson.dumps(value, default=to_jsonable_python, option=_JSON_OPTIONS)
        where = hidden_non_finite(value, data)
        if where is not None:
            raise ValueError(
                f"{where} is NaN or infinite, which JSON cannot hold (it would come back as "
                "None); store None or a string instead"
            )
        return data

    def loads(self, data: bytes) -> Any:
        return orjson.loads(data)


class PickleSerializer:
    """Any picklable object; reading a pickle runs code, so only for caches you alone write to."""

    name = "pickle"

    def dumps(self, value: Any) -> bytes:
        if type(value) is int:
            return str(value).encode("ascii")
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        if data[:1] == _PICKLE_MARK:
            return pickle.loads(data)  # only with cache.serializer: pickle (trusted caches)
        return int(data)


SERIALIZERS: dict[str, Callable[[], Serializer]] = {
    "json": JsonSerializer,
    "pickle": PickleSerializer,
}


def adapter(kind: Any) -> TypeAdapter[Any]:
    """A ``TypeAdapter`` for ``kind``, built once per type."""
    try:
        return _cached_adapter(kind)
    except TypeError:  # an unhashable annotation (Annotated with a dict inside, say)
        return TypeAdapter(kind)


@functools.lru_cache(maxsize=512)
def _cached_adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decoder_for(serializer: Serializer, kind: Any) -> Callable[[bytes], Any]:
    """The fastest function that turns stored bytes into a value of type ``kind``.

    ``kind`` None means "as stored" (JSON types, or the pickled object). A value that is not a
    ``kind`` raises (ValueError or pydantic's ValidationError).

    Raises:
        TypeError: JSON cannot give a ``kind`` back (pydantic has no schema for it).
    """
    if isinstance(serializer, PickleSerializer):
        if kind is None:
            return serializer.loads
        try:
            validate = adapter(kind).validate_python
        except PydanticSchemaGenerationError:
            # Pickle rebuilds any class itself; pydantic can only check what it knows.
            classes = _outer_types(kind)
            if not classes:
                return serializer.loads
            return functools.partial(_checked_loads, serializer.loads, classes, kind)
        loads = serializer.loads
        return lambda data: validate(loads(data))
    if kind is None:
        return serializer.loads
    expected = _json_types(kind)
    if expected is None:
        try:
            return adapter(kind).validate_json
        except PydanticSchemaGenerationError as exc:
            raise TypeError(str(exc).partition("\n")[0]) from None
    if not expected:
        return serializer.loads
    return functools.partial(_checked_loads, serializer.loads, expected, kind)


def _outer_types(kind: Any) -> tuple[type, ...]:
    """The classes a value of ``kind`` is an instance of (``list`` for ``list[Plain]``);
    ``()`` when that cannot be told (no check)."""
    if kind is None or kind is type(None):
        return (type(None),)
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        parts = [_outer_types(argument) for argument in typing.get_args(kind)]
        return () if any(not part for part in parts) else tuple(t for p in parts for t in p)
    if origin is typing.Annotated:
        return _outer_types(typing.get_args(kind)[0])
    candidate = origin if origin is not None else kind
    return (candidate,) if isinstance(candidate, type) else ()


def _checked_loads(
    loads: Callable[[bytes], Any], expected: tuple[type, ...], kind: Any, data: bytes
) -> Any:
    value = loads(data)
    if isinstance(value, expected):
        return value
    shown = kind.__qualname__ if isinstance(kind, type) else repr(kind)
    raise ValueError(f"a stored {type(value).__name__} is not a {shown}")


def _json_types(kind: Any) -> tuple[type, ...] | None:
    """What a value of ``kind`` is after a JSON round trip when that gives ``kind`` back
    unchanged — scalars, lists, ``dict[str, ...]`` and unions of them (``list[str]``,
    ``dict[str, Any]``, ``int | None``) — so ``orjson.loads`` plus an ``isinstance`` check
    rebuilds it; ``()`` for ``Any`` (no check). None for tuples, sets, dates, models… which
    JSON changes, so pydantic must rebuild them."""
    try:
        if kind in _JSON_SCALARS:
            return _JSON_SCALARS[kind]
    except TypeError:  # an unhashable annotation
        return None
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin is list and all(_json_types(argument) is not None for argument in arguments):
        return (list,)
    if origin is dict and arguments[0] is str and _json_types(arguments[1]) is not None:
        return (dict,)
    if origin in (typing.Union, types.UnionType):
        parts = [_json_types(argument) for argument in arguments]
        if any(part is None for part in parts):
            return None
        if any(part == () for part in parts):
            return ()
        return tuple(kind for part in parts if part is not None for kind in part)
    return None

"""The text of a call's arguments in a ``@cached`` key: JSON, stable and unambiguous.

The common case is one ``orjson.dumps`` with sorted keys. Two things plain JSON cannot tell
apart take a slower, exact path: non-finite floats (orjson writes ``NaN`` and ``inf`` as
``null``, like ``None``) and dict keys that are not strings (``{1: x}`` would read like
``{"1": x}``). On that path a non-finite float is written ``NaN``/``Infinity``/``-Infinity``
and a dict with other keys is written with its keys' own JSON (``{1:"x"}``); neither form is
ever produced by the common path, so the two paths never meet. Sets are sorted and models are
dumped field by field (``model_dump``, nested sets still sets), so ordering by hash never shows.
Characters that are not printable are escaped (``\\u200b``) so the key stays a valid key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

__all__ = ["arguments_text"]

_OPTIONS = orjson.OPT_SORT_KEYS
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_NON_FINITE = {"nan": b"NaN", "inf": b"Infinity", "-inf": b"-Infinity"}


def arguments_text(values: Any) -> str:
    """The JSON of ``values``; raises TypeError when one has no JSON form."""
    try:
        text = orjson.dumps(values, _stable_json, _OPTIONS).decode()
    except TypeError:  # a dict key that is not a str (or no JSON form: raised again below)
        text = "null"
    if "null" in text:  # None, or a NaN that orjson wrote as null? (str's `in` is the fast one)
        text = orjson.dumps(_exact(values), _stable_json, _OPTIONS).decode()
    return text if text.isprintable() else _UNPRINTABLE.sub(_escape, text)


def _stable_json(value: Any) -> Any:
    """JSON form of what orjson does not know, with sets sorted so the key never varies."""
    if isinstance(value, set | frozenset):
        items = (orjson.dumps(item, _stable_json, _OPTIONS) for item in value)
        return sorted(item.decode() for item in items)
    if isinstance(value, BaseModel):  # python mode keeps nested sets as sets: sorted above
        return value.model_dump(mode="python")
    return to_jsonable_python(value)


def _exact(value: Any) -> Any:
    """``value`` with non-finite floats and non-str dict keys made distinct (orjson Fragments)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else orjson.Fragment(_NON_FINITE[repr(value)])
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    if isinstance(value, dict):
        if all(type(key) is str for key in value):
            return {key: _exact(item) for key, item in value.items()}
        pairs = sorted((_key_json(key), _dumps(item)) for key, item in value.items())
        return orjson.Fragment(b"{" + b",".join(key + b":" + item for key, item in pairs) + b"}")
    if isinstance(value, set | frozenset):
        return sorted(_dumps(item).decode() for item in value)
    if isinstance(value, BaseModel):
        return _exact(value.model_dump(mode="python"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return _exact({field.name: getattr(value, field.name) for field in fields})
    return value


def _dumps(value: Any) -> bytes:
    return orjson.dumps(_exact(value), _stable_json, _OPTIONS)


def _key_json(key: Any) -> bytes:
    """A dict key's JSON; one that reads as a string but is not a str carries its type."""
    data = _dumps(key)
    if data[:1] == b'"' and not isinstance(key, str):
        return type(key).__qualname__.encode() + data
    return data


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character.isprintable():
        return character
    code = ord(character)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes the others as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

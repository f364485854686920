"""NaN and the infinities, which JSON has no numbers for: orjson writes them as ``null``, so a
stored ``inf`` would come back as ``None``. Storage and the cache refuse them instead.

The check runs only when the JSON holds a ``null`` (:func:`hidden_non_finite`), so values
without one cost nothing more; one with a ``null`` is serialized once more by pydantic-core
(in Rust, which writes NaN and the infinities as ``NaN`` and ``Infinity``), and walked in Python
only when that text holds one of those words, to say where it is.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from pydantic_core import to_json, to_jsonable_python

__all__ = ["hidden_non_finite"]

_LEAVES = (str, bytes, int, type(None))
#: How pydantic-core writes them: as values, and as mapping keys.
_NON_FINITE = (b"NaN", b"Infinity", b'"nan"', b'"inf"', b'"-inf"')


def hidden_non_finite(value: Any, data: bytes) -> str | None:
    """Where ``value`` holds a NaN or an infinity that its JSON ``data`` wrote as ``null``
    (``"['price']['amount']"``, ``"the value"``), or None."""
    if b"null" not in data:
        return None
    try:
        constants = to_json(value, inf_nan_mode="constants", serialize_unknown=True)
    except Exception:  # a value pydantic-core cannot write (orjson could): walk it
        return _find(value, "")
    if not any(word in constants for word in _NON_FINITE):
        return None
    return _find(value, "")


def _find(value: Any, where: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else where or "the value"
    if isinstance(value, _LEAVES):
        return None
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, float) and not math.isfinite(key):
                return f"{where} (a key: {key!r})" if where else f"a key ({key!r})"
        return _first((_find(item, f"{where}[{key!r}]") for key, item in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return _first(_find(item, f"{where}[{index}]") for index, item in enumerate(value))
    if isinstance(value, enum.Enum):
        return _find(value.value, where)
    try:  # models, dataclasses…: the form pydantic gives them, floats kept as they are
        converted = to_jsonable_python(value)
    except Exception:  # not ours to judge: the serializer already took the value
        return None
    return None if converted is value else _find(converted, where)


def _first(found: Any) -> str | None:
    return next((where for where in found if where is not None), None)

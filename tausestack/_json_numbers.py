"""NaN and the infinities, which JSON has no numbers for: orjson writes them as ``null``, so a
stored ``inf`` would come back as ``None``. Storage and the cache refuse them instead.

The check runs only when the JSON holds a ``null`` (:func:`hidden_non_finite`), so values
without one cost nothing more.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["hidden_non_finite"]

_LEAVES = (str, bytes, int, type(None))


def hidden_non_finite(value: Any, data: bytes) -> str | None:
    """Where ``value`` holds a NaN or an infinity that its JSON ``data`` wrote as ``null``
    (``"['price']['amount']"``, ``"the value"``), or None."""
    if b"null" not in data:
        return None
    return _find(value, "")


def _find(value: Any, where: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else where or "the value"
    if isinstance(value, _LEAVES):
        return None
    if isinstance(value, dict):
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

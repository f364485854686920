"""How TauseStack names things in its messages: types, callables and near matches."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

_TYPING_PREFIX = re.compile(r"\btyping(_extensions)?\.")


def describe_type(annotation: Any) -> str:
    """Return a short, readable name for a type or annotation (``int``, ``list[str]``)."""
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__qualname__.rpartition("<locals>.")[2]
    return _TYPING_PREFIX.sub("", repr(annotation)).replace("NoneType", "None")


def describe_callable(target: Callable[..., Any] | type) -> str:
    """Return ``module.QualName`` for a class or function, as used in every error message."""
    module = getattr(target, "__module__", None) or "?"
    name = getattr(target, "__qualname__", None) or repr(target)
    return f"{module}.{name}"


def near_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to ``limit`` candidates that look like ``word`` (case-insensitive)."""
    pool = sorted(set(candidates))
    lowered = {candidate.lower(): candidate for candidate in pool}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[match] for match in matches]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x' or 'y'?"`` or an empty string when nothing is close."""
    matches = near_matches(word, candidates)
    if not matches:
        return ""
    quoted = [f"'{match}'" for match in matches]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {listed}?"


def snake_case(name: str) -> str:
    """Turn ``UserController`` into ``user_controller``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()

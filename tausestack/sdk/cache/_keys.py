"""Cache keys: which ones are valid, and the stable keys ``@cached`` builds from arguments.

A key built from arguments must be the same in every process and on every run, so it is made
of the arguments' JSON (orjson, keys sorted), never of ``hash()`` (randomized per process for
strings) or ``repr()`` (which shows memory addresses). Arguments that have no JSON form are
refused with a message that says to pass ``key=``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import orjson
from pydantic_core import to_jsonable_python

from .errors import InvalidCacheKeyError

__all__ = ["MAX_KEY_LENGTH", "CallKey", "key_problem"]

#: The longest key accepted, in characters, not counting ``cache.key_prefix`` (memcached's
#: limit; longer keys ``@cached`` builds are replaced by a hash).
MAX_KEY_LENGTH = 250

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_SIMPLE_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def key_problem(key: object) -> str | None:
    """What is wrong with ``key``, or None when it is a valid key."""
    if not isinstance(key, str):
        return f"a cache key must be a str, not {type(key).__name__}"
    if not key:
        return "a cache key cannot be empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"a cache key is at most {MAX_KEY_LENGTH} characters; this one has {len(key)}"
    if not key.isprintable():
        return "a cache key cannot contain control characters (newlines, tabs, NUL…)"
    return None


def invalid_key(key: object, where: str) -> InvalidCacheKeyError:
    """The error for a key :func:`key_problem` refused."""
    shown = repr(key) if len(repr(key)) <= 80 else repr(key)[:77] + "..."
    return InvalidCacheKeyError(
        f"Invalid key {shown} for the {where}: {key_problem(key)}. Use a short printable "
        "string such as 'user:42'."
    )


class CallKey:
    """Builds the key of one call of a ``@cached`` function.

    Args:
        function: the decorated function.
        namespace: what every key of the function starts with (``module.qualname`` by default).
        key: None (the key is the arguments' JSON), a ``str.format`` template of the parameter
            names (``"user:{user_id}"``), or a callable taking the function's arguments.
        skip_first: leave the first parameter (``self``/``cls``) out of the key.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        namespace: str | None,
        key: str | Callable[..., str] | None,
        skip_first: bool,
    ) -> None:
        self.label = f"{function.__module__}.{function.__qualname__}"
        signature = inspect.signature(function)
        parameters = list(signature.parameters.values())[1 if skip_first else 0 :]
        self.signature = signature.replace(parameters=parameters)
        self.custom = key
        # A call passing every parameter positionally needs no binding (the common fast path).
        self.positional = (
            len(parameters) if all(p.kind in _SIMPLE_KINDS for p in parameters) else -1
        )
        if key is None:
            self.namespace: str | None = namespace if namespace is not None else self.label
            self.base = self.namespace + ":"
        else:
            self.namespace = namespace
            self.base = f"{namespace}:" if namespace else ""

        self.build: Callable[[tuple[Any, ...], dict[str, Any]], str] = (
            self._arguments_key() if key is None else self._custom
        )

    def _arguments_key(self) -> Callable[[tuple[Any, ...], dict[str, Any]], str]:
        """``build`` for the default key: the namespace and the arguments' JSON.

        A closure over locals, because every call of the decorated function runs it.
        """
        base, positional, bound, dumps, fail = (
            self.base,
            self.positional,
            self._bound,
            orjson.dumps,
            self._unkeyable,
        )
        room = MAX_KEY_LENGTH - len(base)

        def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            values = args if not kwargs and len(args) == positional else bound(args, kwargs)
            try:
                text = dumps(values, _stable_json, _OPTIONS).decode()
            except TypeError as exc:
                raise fail(exc) from None
            if len(text) > room:
                text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            return base + text

        return build

    def _unkeyable(self, exc: Exception) -> InvalidCacheKeyError:
        return InvalidCacheKeyError(
            f"The arguments of {self.label} cannot be part of a cache key ({exc}); only "
            "values with a JSON form can (str, numbers, dates, UUIDs, models, dataclasses…). "
            "Pass key= to @cached to build the key yourself."
        )

    def _bound(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return list(bound.arguments.values())

    def _custom(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        custom = self.custom
        if isinstance(custom, str):
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            text = custom.format_map(bound.arguments)
        else:
            assert custom is not None
            text = custom(*args, **kwargs)
        problem = key_problem(text)
        if problem is not None:
            raise InvalidCacheKeyError(
                f"The key={custom!r} of @cached on {self.label} gave {text!r}: {problem}."
            )
        return self.base + text


def _stable_json(value: Any) -> Any:
    """JSON form of what orjson does not know, with sets sorted so the key never varies."""
    if isinstance(value, set | frozenset):
        items = (orjson.dumps(item, default=_stable_json, option=_OPTIONS) for item in value)
        return sorted(item.decode() for item in items)
    return to_jsonable_python(value)

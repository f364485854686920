"""Cache keys: which ones are valid, and the stable keys ``@cached`` builds from arguments.

A key built from arguments must be the same in every process and on every run, so it is made
of the arguments' JSON (orjson, keys sorted), never of ``hash()`` (randomized per process for
strings) or ``repr()`` (which shows memory addresses). Arguments that have no JSON form are
refused with a message that says to pass ``key=``. What JSON cannot tell apart is written so
that it stays apart (:mod:`._arguments`).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import string
from collections.abc import Callable
from typing import Any

from ._arguments import arguments_text
from .errors import CacheConfigurationError, InvalidCacheKeyError

__all__ = ["MAX_KEY_LENGTH", "MAX_NAMESPACE_LENGTH", "CallKey", "key_problem"]

#: The longest key accepted, in characters, not counting ``cache.key_prefix`` (memcached's
#: limit; longer keys ``@cached`` builds are replaced by a hash).
MAX_KEY_LENGTH = 250
_HASHED = len("sha256:") + 64
#: The longest ``namespace``: what is left once a hashed key has its room.
MAX_NAMESPACE_LENGTH = MAX_KEY_LENGTH - 1 - _HASHED
_SIMPLE_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

Build = Callable[[tuple[Any, ...], dict[str, Any]], str]


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
    problem = key_problem(key)
    return InvalidCacheKeyError(
        f"Invalid key {shown} for the {where}: {problem}. Use a short printable "
        "string such as 'user:42'.",
        # A key that is not a str is the code's fault (no request makes one): no 400 for it.
        problem=problem if isinstance(key, str) else None,
    )


class CallKey:
    """Builds the key of one call of a ``@cached`` function.

    A function defined in a class body (its ``__qualname__`` names a class, not
    ``<locals>``) is a method: when the first argument of a call is the instance or class it
    was reached through, that argument is the receiver. An instance is left out of the
    default key (every instance shares the entries); a class (a class method) is part of it
    when it is a subclass of the defining class, so subclasses do not share the parent's
    entries. ``key=`` callables and templates receive every argument, the receiver included.

    Args:
        function: the decorated function.
        namespace: what every key of the function starts with (``module.qualname`` by default).
        key: None (the key is the arguments' JSON), a ``str.format`` template of the parameter
            names (``"user:{user_id}"``, ``"{self.tenant}:{user_id}"``), or a callable taking
            the function's arguments.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        namespace: str | None,
        key: str | Callable[..., str] | None,
    ) -> None:
        self.label = f"{function.__module__}.{function.__qualname__}"
        self.function = function
        parts = function.__qualname__.split(".")
        signature = inspect.signature(function)
        parameters = list(signature.parameters.values())
        in_class = len(parts) > 1 and parts[-2] != "<locals>"
        #: The attribute name to look for on a receiver's class; None for a plain function.
        self.method_name = parts[-1] if in_class and parameters else None
        self.signature = signature
        self.custom = key
        self._receivers: dict[tuple[type, bool], str | None] = {}
        self.namespace = self._namespace(namespace, key, parts)
        self.base = f"{self.namespace}:" if self.namespace else ""
        if isinstance(key, str):
            self._check_template(key, parameters)
        plain = self._arguments_key(signature.replace(parameters=parameters))
        method = self._arguments_key(signature.replace(parameters=parameters[1:]))
        self._plain_build, self._method_build = plain, method
        #: The key (without the prefix) of a call with these arguments.
        self.build: Build = (
            self._custom if key is not None else self._method_key if self.method_name else plain
        )

    # -- namespace ------------------------------------------------------------------------------

    def _namespace(self, namespace: str | None, key: object, parts: list[str]) -> str | None:
        if namespace is not None:
            if not (isinstance(namespace, str) and namespace.isprintable() and namespace):
                raise CacheConfigurationError(
                    f"@cached on {self.label}: namespace={namespace!r} is not a non-empty "
                    "string of printable characters (no newline, tab or NUL)."
                )
            if len(namespace) > MAX_NAMESPACE_LENGTH:
                raise CacheConfigurationError(
                    f"@cached on {self.label}: namespace={namespace[:40]!r}... has "
                    f"{len(namespace)} characters; at most {MAX_NAMESPACE_LENGTH} leave room "
                    f"for the arguments within the {MAX_KEY_LENGTH}-character key limit."
                )
            return namespace
        if key is not None:
            return None
        if "<lambda>" in parts or "<locals>" in parts:
            what = "a lambda" if parts[-1] == "<lambda>" else "a function defined in a function"
            raise CacheConfigurationError(
                f"@cached on {self.label}: it is {what}, and its name is not unique — every "
                f"such function of the module gets the namespace {self.label!r} — so their "
                "entries would mix. Pass namespace='...' (different for each) or key=."
            )
        if len(self.label) <= MAX_NAMESPACE_LENGTH:
            return self.label
        digest = hashlib.sha256(self.label.encode()).hexdigest()[:16]
        return f"{self.label[: MAX_NAMESPACE_LENGTH - 17]}~{digest}"

    def _check_template(self, template: str, parameters: list[inspect.Parameter]) -> None:
        names = [parameter.name for parameter in parameters]
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(template)]
        except ValueError as exc:
            raise CacheConfigurationError(
                f"@cached on {self.label}: key={template!r} is not a valid template ({exc})."
            ) from None
        roots = [re.split(r"[.\[]", field, maxsplit=1)[0] for field in fields if field is not None]
        unknown = sorted({root for root in roots if root and not root.isdigit()} - set(names))
        if any(not root or root.isdigit() for root in roots):
            problem = "has a positional field ({} or {0})"
        elif unknown:
            problem = f"names {', '.join(map(repr, unknown))}, not a parameter of the function"
        else:
            return
        raise CacheConfigurationError(
            f"@cached on {self.label}: key={template!r} {problem}. Name parameters in it: "
            f"{', '.join('{' + name + '}' for name in names) or '(it has none)'}."
        )

    # -- building -------------------------------------------------------------------------------

    def _arguments_key(self, signature: inspect.Signature) -> Build:
        """``build`` for the default key: the namespace and the arguments' JSON.

        A closure over locals, because every call of the decorated function runs it.
        """
        parameters = list(signature.parameters.values())
        positional = len(parameters) if all(p.kind in _SIMPLE_KINDS for p in parameters) else -1
        base, text_of, fail = self.base, arguments_text, self._unkeyable
        room = MAX_KEY_LENGTH - len(base)

        def bound(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
            arguments = signature.bind(*args, **kwargs)
            arguments.apply_defaults()
            return list(arguments.arguments.values())

        def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            values = args if not kwargs and len(args) == positional else bound(args, kwargs)
            try:
                text = text_of(values)
            except TypeError as exc:
                raise fail(exc) from None
            if len(text) > room:
                text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            return base + text

        return build

    def _method_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        segment = self.receiver(args[0]) if args else None
        if segment is None:
            if self._is_static():
                return self._plain_build(args, kwargs)
            # invalidate()/cache_key() through an instance: the arguments without self
            return self._method_build(args, kwargs)
        key = self._method_build(args[1:], kwargs)
        if segment:  # a subclass calling an inherited class method: its own entries
            base = self.base
            rest = key[len(base) :]
            key = base + segment + rest
            if len(key) > MAX_KEY_LENGTH:
                key = base + "sha256:" + hashlib.sha256((segment + rest).encode()).hexdigest()
        return key

    def _is_static(self) -> bool:
        """Whether the method is a static method of its class (found from its qualname in
        its module, once the class exists; a class defined in a function is assumed not)."""
        static = self._static
        if static is None:
            owner: Any = self.function.__globals__ if hasattr(self.function, "__globals__") else {}
            parts = self.function.__qualname__.split(".")
            owner = owner.get(parts[0])
            for part in parts[1:-1]:
                owner = getattr(owner, part, None)
            attribute = vars(owner).get(parts[-1]) if isinstance(owner, type) else None
            static = self._static = isinstance(attribute, staticmethod)
        return static

    _static: bool | None = None

    def receiver(self, first: object) -> str | None:
        """None when ``first`` is not the receiver of a method call, else what the key adds
        for it: ``""``, or ``"module.Class:"`` for a subclass calling a class method."""
        is_class = isinstance(first, type)
        owner: type = first if is_class else type(first)  # type: ignore[assignment]
        try:
            return self._receivers[(owner, is_class)]
        except KeyError:
            pass
        if len(self._receivers) > 512:  # a static method called with many classes' objects
            self._receivers.clear()
        segment = self._receivers[(owner, is_class)] = self._find_receiver(owner, is_class)
        return segment

    def _find_receiver(self, owner: type, is_class: bool) -> str | None:
        name, wrapper = self.method_name, self.wrapper
        for klass in owner.__mro__:
            attribute = vars(klass).get(name)  # type: ignore[arg-type]
            if attribute is None:
                continue
            if is_class and isinstance(attribute, classmethod):
                attribute = attribute.__func__
            elif is_class or isinstance(attribute, staticmethod | classmethod):
                continue
            if _unwraps_to(attribute, wrapper):
                if not is_class or klass is owner:
                    return ""
                return f"{owner.__module__}.{owner.__qualname__}:"
        return None

    #: The decorated function as installed in the class (set by ``@cached``).
    wrapper: Any = None

    def _unkeyable(self, exc: Exception) -> InvalidCacheKeyError:
        return InvalidCacheKeyError(
            f"The arguments of {self.label} cannot be part of a cache key ({exc}); only "
            "values with a JSON form can (str, numbers, dates, UUIDs, models, dataclasses…). "
            "Pass key= to @cached to build the key yourself."
        )

    def _custom(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        custom = self.custom
        try:
            if isinstance(custom, str):
                arguments = self.signature.bind(*args, **kwargs)
                arguments.apply_defaults()
                text = custom.format_map(arguments.arguments)
            else:
                assert custom is not None
                text = custom(*args, **kwargs)
        except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
            hint = (
                " For a method, key= receives self (or cls) too: pass it first to "
                "invalidate() and cache_key(), as in obj.method.invalidate(obj, ...)."
                if self.method_name
                else ""
            )
            raise InvalidCacheKeyError(
                f"The key={custom!r} of @cached on {self.label} failed for these arguments "
                f"({type(exc).__name__}: {exc}).{hint}"
            ) from None
        full = self.base + text if isinstance(text, str) else text
        problem = key_problem(full)
        if problem is not None:
            raise InvalidCacheKeyError(
                f"The key={custom!r} of @cached on {self.label} gave {full!r}: {problem}.",
                problem=problem,
            )
        return full


def _unwraps_to(candidate: object, wrapper: object) -> bool:
    """Whether ``candidate`` is ``wrapper``, or a decorator's wrapper around it."""
    for _ in range(10):
        if candidate is wrapper:
            return True
        candidate = getattr(candidate, "__wrapped__", None)
        if candidate is None:
            return False
    return False

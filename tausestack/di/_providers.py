"""Providers: a class, function or instance turned into something the container can call.

All signature inspection happens here, once, when a container is built. The result — the
parameters to inject and how to call the factory — is what the container uses per resolution.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from .._naming import describe_callable, describe_type
from ..errors import ProviderDefinitionError
from ._keys import DependencyKey, Scope, split_annotation
from ._markers import ComponentSpec, component_spec


class ProviderKind(enum.Enum):
    """Where a provider's object comes from."""

    CLASS = "class"  # the container calls the class with injected arguments
    FUNCTION = "function"  # the container calls a provider function
    INSTANCE = "instance"  # a ready-made object (settings, test replacements)
    CONTEXT = "context"  # read from the current request (Request, WebSocket…)


class CallStyle(enum.Enum):
    """How the factory is called and whether it has cleanup to run."""

    SYNC = "sync"
    ASYNC = "async"
    GENERATOR = "generator"
    ASYNC_GENERATOR = "async generator"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One parameter of a factory and the key it is resolved by."""

    name: str
    key: DependencyKey
    positional_only: bool
    has_default: bool
    default: Any = None

    def describe(self, owner: Provider) -> str:
        """Return ``parameter 'repo' of apps.users.services.UserService``."""
        return f"parameter '{self.name}' of {owner.label}"


@dataclass(eq=False, slots=True)
class Provider:
    """A normalized provider; compared by identity."""

    factory: Any
    kind: ProviderKind
    spec: ComponentSpec
    keys: tuple[DependencyKey, ...]
    dependencies: tuple[Dependency, ...] = ()
    style: CallStyle = CallStyle.SYNC
    label: str = ""
    app: str | None = None
    hooks: tuple[str | None, str | None] = (None, None)  # names of the start and stop methods

    @property
    def scope(self) -> Scope:
        """The provider's declared scope."""
        return self.spec.scope

    @property
    def provided_type(self) -> Any:
        """The main type this provider is registered under."""
        return self.keys[0].type

    def __repr__(self) -> str:
        return f"<Provider {self.label} ({self.scope.value})>"


def provider_for(
    target: Any, *, app: str | None = None, spec: ComponentSpec | None = None
) -> Provider:
    """Build a provider from a marked class or function (``spec`` overrides the marker)."""
    spec = spec or component_spec(target)
    if spec is None:
        raise ProviderDefinitionError(
            f"{describe_callable(target)} is not a component. Mark it with @Service, "
            "@Repository, @Controller or @provider."
        )
    if isinstance(target, type):
        return class_provider(target, spec, app=app)
    if inspect.isfunction(target):
        return function_provider(target, spec, app=app)
    raise ProviderDefinitionError(
        f"{target!r} cannot be registered: components are classes or provider functions."
    )


def class_provider(cls: type, spec: ComponentSpec, *, app: str | None = None) -> Provider:
    """Build a provider that constructs ``cls`` with injected constructor arguments."""
    label = describe_callable(cls)
    init = cls.__dict__.get("__init__") or _inherited_init(cls)
    if init is object.__init__:
        dependencies: tuple[Dependency, ...] = ()
    else:
        dependencies = _dependencies(init, f"{label}.__init__", skip_first=True)
    keys = tuple(DependencyKey(kind, spec.qualifier) for kind in (cls, *spec.provides))
    hooks = (_hook(cls, "start", label), _hook(cls, "stop", label))
    return Provider(
        cls, ProviderKind.CLASS, spec, keys, dependencies, CallStyle.SYNC, label, app, hooks
    )


def function_provider(
    function: typing.Callable[..., Any], spec: ComponentSpec, *, app: str | None = None
) -> Provider:
    """Build a provider that calls ``function``; its return annotation is the provided type."""
    label = describe_callable(function)
    style = _call_style(function)
    hints = _type_hints(function, label)
    returned = hints.get("return", inspect.Signature.empty)
    if returned is inspect.Signature.empty or returned is None or returned is type(None):
        raise ProviderDefinitionError(
            f"Provider {label} has no return type annotation, so nothing knows what it "
            "provides. Annotate it, e.g. `-> Engine` (or `-> Iterator[Engine]` for a generator)."
        )
    provided = _yielded_type(returned, style, label)
    base, annotation_qualifier, _ = split_annotation(provided)
    qualifier = spec.qualifier or annotation_qualifier
    keys = tuple(DependencyKey(kind, qualifier) for kind in (base, *spec.provides))
    dependencies = _dependencies(function, label, skip_first=False, hints=hints)
    return Provider(function, ProviderKind.FUNCTION, spec, keys, dependencies, style, label, app)


def _inherited_init(cls: type) -> Any:
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__:
            return klass.__dict__["__init__"]
    return object.__init__  # pragma: no cover - object defines __init__


def instance_provider(
    instance: Any, keys: tuple[DependencyKey, ...], label: str, scope: Scope = Scope.SINGLETON
) -> Provider:
    """Build a provider that always returns ``instance``."""
    spec = ComponentSpec(kind="component", scope=scope)
    return Provider(instance, ProviderKind.INSTANCE, spec, keys, label=label)


def context_provider(getter: typing.Callable[[Any], Any], key: DependencyKey) -> Provider:
    """Build a request-scoped provider whose value is read from the current request scope."""
    spec = ComponentSpec(kind="component", scope=Scope.REQUEST)
    label = f"the current {describe_type(key.type)}"
    return Provider(getter, ProviderKind.CONTEXT, spec, (key,), label=label)


# -- inspection helpers -------------------------------------------------------------------------


def _type_hints(function: Any, label: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        raise ProviderDefinitionError(
            f"Cannot read the type hints of {label}: {exc}. Import that name at module level "
            "(not under `if TYPE_CHECKING:`) so the container can resolve it."
        ) from None
    except Exception as exc:  # a malformed annotation raises almost anything
        raise ProviderDefinitionError(f"Cannot read the type hints of {label}: {exc}") from None


def _dependencies(
    function: Any, label: str, *, skip_first: bool, hints: dict[str, Any] | None = None
) -> tuple[Dependency, ...]:
    hints = _type_hints(function, label) if hints is None else hints
    parameters = list(inspect.signature(function).parameters.values())
    if skip_first:
        parameters = parameters[1:]
    dependencies = []
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        has_default = parameter.default is not parameter.empty
        annotation = hints.get(parameter.name, parameter.empty)
        if annotation is parameter.empty:
            if has_default:
                continue
            raise ProviderDefinitionError(
                f"Parameter '{parameter.name}' of {label} has no type hint, so the container "
                "cannot inject it. Add a type hint or a default value."
            )
        base, qualifier, _ = split_annotation(annotation)
        base, optional = _strip_none(base)
        dependencies.append(
            Dependency(
                name=parameter.name,
                key=DependencyKey(base, qualifier),
                positional_only=parameter.kind is parameter.POSITIONAL_ONLY,
                has_default=has_default or optional,
                default=parameter.default if has_default else None,
            )
        )
    return tuple(dependencies)


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    """``T | None`` becomes ``(T, True)``: an optional dependency that is None when missing."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _call_style(function: Any) -> CallStyle:
    if inspect.isasyncgenfunction(function):
        return CallStyle.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(function):
        return CallStyle.GENERATOR
    if inspect.iscoroutinefunction(function):
        return CallStyle.ASYNC
    return CallStyle.SYNC


_GENERATOR_ORIGINS = {
    CallStyle.GENERATOR: (
        collections.abc.Iterator,
        collections.abc.Generator,
        collections.abc.Iterable,
    ),
    CallStyle.ASYNC_GENERATOR: (
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.AsyncIterable,
    ),
}


def _yielded_type(returned: Any, style: CallStyle, label: str) -> Any:
    origins = _GENERATOR_ORIGINS.get(style)
    if origins is None:
        return returned
    if get_origin(returned) in origins and get_args(returned):
        return get_args(returned)[0]
    expected = "Iterator[T]" if style is CallStyle.GENERATOR else "AsyncIterator[T]"
    raise ProviderDefinitionError(
        f"Provider {label} is a generator, so its return annotation must be {expected} "
        f"(it says {describe_type(returned)})."
    )


def _hook(cls: type, name: str, label: str) -> str | None:
    method = getattr(cls, name, None)
    if method is None or not callable(method):
        return None
    required = [
        parameter
        for parameter in list(inspect.signature(method).parameters.values())[1:]
        if parameter.default is parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    if required:
        moment = "startup" if name == "start" else "shutdown"
        raise ProviderDefinitionError(
            f"{label}.{name}() takes required arguments, but `{name}` is the lifecycle hook the "
            f"container calls with none at application {moment}. Give the arguments defaults or "
            "rename the method."
        )
    return name

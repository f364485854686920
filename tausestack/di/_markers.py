"""Decorators that mark classes and functions as components; nothing is registered globally.

A decorator only attaches a :class:`ComponentSpec` to the class (or function). Discovery collects
marked objects from installed apps and ``create_app()`` builds a fresh container from them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from .._naming import describe_callable
from ..errors import ProviderDefinitionError
from ._keys import Scope

__all__ = [
    "ComponentDecorator",
    "ComponentSpec",
    "Repository",
    "Service",
    "component_spec",
    "provider",
]

SPEC_ATTRIBUTE = "__tausestack_component__"

ComponentKind = Literal["service", "repository", "controller", "provider", "component"]
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ComponentSpec:
    """How a marked class or provider function is registered in a container."""

    kind: ComponentKind
    scope: Scope = Scope.SINGLETON
    provides: tuple[Any, ...] = ()
    qualifier: str | None = None
    primary: bool = False
    profiles: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def active_in(self, profile: str) -> bool:
        """Whether the component is registered when ``profile`` is the active profile.

        ``profiles=["dev", "test"]`` registers in those profiles only; ``profiles=["!prod"]``
        registers everywhere but ``prod``.
        """
        if not self.profiles:
            return True
        excluded = {name[1:] for name in self.profiles if name.startswith("!")}
        included = {name for name in self.profiles if not name.startswith("!")}
        if profile in excluded:
            return False
        return not included or profile in included


def component_spec(target: object) -> ComponentSpec | None:
    """Return the spec attached to ``target`` itself (never one inherited from a base class)."""
    if isinstance(target, type):
        spec = target.__dict__.get(SPEC_ATTRIBUTE)
    else:
        spec = getattr(target, SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, ComponentSpec) else None


def make_spec(
    owner: object,
    kind: ComponentKind,
    *,
    scope: Scope | str,
    provides: Any,
    qualifier: str | None,
    primary: bool,
    profiles: str | Iterable[str] | None,
    extra: dict[str, Any] | None = None,
) -> ComponentSpec:
    """Validate decorator arguments and build the spec, naming ``owner`` in every error."""
    name = describe_callable(owner)  # type: ignore[arg-type]
    if provides is None:
        provided: tuple[Any, ...] = ()
    elif isinstance(provides, tuple | list):
        provided = tuple(provides)
    else:
        provided = (provides,)
    if qualifier is not None and (not isinstance(qualifier, str) or not qualifier):
        raise ProviderDefinitionError(f"{name}: qualifier must be a non-empty string.")
    if isinstance(profiles, str):
        profile_names: tuple[str, ...] = (profiles,)
    else:
        profile_names = tuple(profiles or ())
    for profile in profile_names:
        if not isinstance(profile, str) or not profile.lstrip("!"):
            raise ProviderDefinitionError(
                f"{name}: profiles must be profile names such as 'dev' or '!prod', got {profile!r}."
            )
    if isinstance(owner, type):
        for interface in provided:
            # A Protocol is satisfied structurally: nothing to check at decoration time.
            if getattr(interface, "_is_protocol", False) or not isinstance(interface, type):
                continue
            if not issubclass(owner, interface):
                raise ProviderDefinitionError(
                    f"{name} says provides={interface.__qualname__}, but it is not a subclass "
                    f"of {interface.__qualname__}. Inherit from it."
                )
    return ComponentSpec(
        kind=kind,
        scope=Scope.parse(scope, name),
        provides=provided,
        qualifier=qualifier,
        primary=primary,
        profiles=profile_names,
        extra=extra or {},
    )


class ComponentDecorator:
    """A class decorator usable bare (``@Service``) or with options (``@Service(scope=...)``)."""

    def __init__(self, kind: ComponentKind, doc: str) -> None:
        self.kind = kind
        self.__doc__ = doc

    def __repr__(self) -> str:
        return f"tausestack.{self.kind.title()}"

    @overload
    def __call__(self, cls: type[T], /) -> type[T]: ...

    @overload
    def __call__(
        self,
        cls: None = None,
        /,
        *,
        scope: Scope | str = ...,
        provides: Any = ...,
        qualifier: str | None = ...,
        primary: bool = ...,
        profiles: str | Iterable[str] | None = ...,
    ) -> Callable[[type[T]], type[T]]: ...

    def __call__(
        self,
        cls: type[T] | None = None,
        /,
        *,
        scope: Scope | str = Scope.SINGLETON,
        provides: Any = None,
        qualifier: str | None = None,
        primary: bool = False,
        profiles: str | Iterable[str] | None = None,
    ) -> type[T] | Callable[[type[T]], type[T]]:
        def mark(target: type[T]) -> type[T]:
            if not isinstance(target, type):
                raise ProviderDefinitionError(
                    f"@{self.kind.title()} decorates classes; {target!r} is not one. "
                    "Use @provider for factory functions."
                )
            spec = make_spec(
                target,
                self.kind,
                scope=scope,
                provides=provides,
                qualifier=qualifier,
                primary=primary,
                profiles=profiles,
            )
            setattr(target, SPEC_ATTRIBUTE, spec)
            return target

        return mark(cls) if cls is not None else mark


Service = ComponentDecorator(
    "service",
    """Mark a class as a service that the container constructs and injects by type.

    Usable bare (``@Service``) or with options::

        @Service(scope="request", provides=Notifier, qualifier="email", primary=False,
                 profiles=["!test"])
        class EmailNotifier(Notifier):
            def __init__(self, settings: MailSettings) -> None: ...

    Constructor parameters are injected by their type hints (``Annotated[T, Qualifier("x")]``
    picks among several providers); a parameter with a default is optional. Methods named
    ``start`` and ``stop`` (sync or async) run at application startup and shutdown, in
    dependency order.
    """,
)

Repository = ComponentDecorator(
    "repository",
    """Mark a class as a repository; it is registered exactly like a :func:`Service`.""",
)


@overload
def provider(function: F, /) -> F: ...


@overload
def provider(
    *,
    scope: Scope | str = ...,
    provides: Any = ...,
    qualifier: str | None = ...,
    primary: bool = ...,
    profiles: str | Iterable[str] | None = ...,
) -> Callable[[F], F]: ...


def provider(
    function: F | None = None,
    /,
    *,
    scope: Scope | str = Scope.SINGLETON,
    provides: Any = None,
    qualifier: str | None = None,
    primary: bool = False,
    profiles: str | Iterable[str] | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as the provider of its return type.

    The function may be sync or async, and may be a generator (sync or async) that yields the
    object and cleans up after the ``yield`` when its scope ends::

        @provider(scope="request")
        async def session(engine: Engine) -> AsyncIterator[Session]:
            async with Session(engine) as session:
                yield session

    Its parameters are injected like constructor parameters.
    """

    def mark(target: F) -> F:
        if not inspect.isfunction(target):
            raise ProviderDefinitionError(
                f"@provider decorates functions; {target!r} is not one. Use @Service for classes."
            )
        spec = make_spec(
            target,
            "provider",
            scope=scope,
            provides=provides,
            qualifier=qualifier,
            primary=primary,
            profiles=profiles,
        )
        setattr(target, SPEC_ATTRIBUTE, spec)
        return target

    return mark(function) if function is not None else mark

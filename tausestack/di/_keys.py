"""What a dependency is looked up by: a type plus an optional qualifier."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from .._naming import describe_type
from ..errors import ProviderDefinitionError


class Scope(enum.StrEnum):
    """How long a provided object lives.

    * ``SINGLETON`` (the default): one instance for the application.
    * ``REQUEST``: one instance per HTTP request or websocket connection, released at its end.
    * ``TRANSIENT``: a new instance for every consumer.
    """

    SINGLETON = "singleton"
    REQUEST = "request"
    TRANSIENT = "transient"

    @classmethod
    def parse(cls, value: Scope | str, owner: str) -> Scope:
        """Accept a ``Scope`` or its name, with an error naming the component otherwise."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(scope.value) for scope in cls)
            raise ProviderDefinitionError(
                f"{owner} has scope={value!r}; use one of {choices} (or tausestack.Scope)."
            ) from None


@dataclass(frozen=True, slots=True)
class Qualifier:
    """Tells apart several providers of one type.

    Used on the provider (``@Service(provides=Notifier, qualifier="email")``) and on the consumer
    (``notifier: Annotated[Notifier, Qualifier("email")]``).
    """

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ProviderDefinitionError(
                f"Qualifier names must be non-empty strings, got {self.name!r}."
            )


@dataclass(frozen=True, slots=True)
class DependencyKey:
    """The type a consumer asks for and, optionally, the qualifier that picks one provider."""

    type: Any
    qualifier: str | None = None

    def __str__(self) -> str:
        name = describe_type(self.type)
        return f"{name} (qualifier {self.qualifier!r})" if self.qualifier else name


def split_annotation(annotation: Any) -> tuple[Any, str | None, tuple[Any, ...]]:
    """Split ``Annotated[T, Qualifier("x"), ...]`` into ``(T, "x", other metadata)``.

    Nested ``Annotated`` forms are flattened by Python already; an ``Inject[T]`` marker is an
    ``Annotated`` whose metadata holds a FastAPI ``Depends`` and is treated the same way.
    """
    if get_origin(annotation) is not Annotated:
        return annotation, None, ()
    base, *metadata = get_args(annotation)
    qualifiers = [item.name for item in metadata if isinstance(item, Qualifier)]
    qualifiers += [
        item.key.qualifier
        for item in (getattr(meta, "dependency", None) for meta in metadata)
        if isinstance(item, InjectTarget) and item.key.qualifier
    ]
    if len(set(qualifiers)) > 1:
        raise ProviderDefinitionError(
            f"{describe_type(annotation)} carries several qualifiers {qualifiers}; keep one."
        )
    others = tuple(item for item in metadata if not isinstance(item, Qualifier))
    return base, (qualifiers[0] if qualifiers else None), others


class InjectTarget:
    """Marks a FastAPI ``Depends`` callable as resolving ``key`` from the container.

    The web layer subclasses this to make it callable by FastAPI; the container only needs the
    key, so constructor parameters written as ``Inject[T]`` are understood too.
    """

    __slots__ = ("key",)

    def __init__(self, key: DependencyKey) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.key == self.key  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self), self.key))

    def __repr__(self) -> str:
        return f"Inject[{self.key}]"

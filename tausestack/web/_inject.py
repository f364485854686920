"""``Inject[T]``: a container-managed object as a parameter of any FastAPI route or dependency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args, get_origin

from fastapi import Depends, params
from starlette.requests import HTTPConnection

from ..di._keys import DependencyKey, InjectTarget, Scope, split_annotation
from ..di._scope import ASGI_SCOPE_KEY, RequestScope
from ..errors import ResolutionError

if TYPE_CHECKING:
    from ..di._container import Container

__all__ = ["Inject", "InjectDependency", "container_of", "inject_key", "request_scope_for"]

T = TypeVar("T")


class InjectDependency(InjectTarget):
    """The FastAPI dependency behind ``Inject[T]``: resolves ``T`` from the app's container."""

    __slots__ = ()

    async def __call__(self, connection: HTTPConnection) -> Any:
        container = container_of(connection)
        node = container.node_for(self.key)
        if node.provider.scope is Scope.SINGLETON:
            return container.singleton(node)
        return await container.resolve_node(node, request_scope_for(connection, container))


if TYPE_CHECKING:
    Inject = Annotated[T, "tausestack.Inject"]
else:

    class Inject:
        """``Inject[T]`` resolves ``T`` from the container in a FastAPI route or dependency.

        Type checkers see ``Inject[T]`` as ``T``. Pick a qualified provider with
        ``Inject[Annotated[Notifier, Qualifier("email")]]``::

            @router.get("/users/{user_id}")
            async def read_user(user_id: int, users: Inject[UserService]) -> UserRead:
                return await users.get(user_id)
        """

        __slots__ = ()

        def __class_getitem__(cls, item: Any) -> Any:
            base, qualifier, _ = split_annotation(item)
            return Annotated[base, Depends(InjectDependency(DependencyKey(base, qualifier)))]

        def __init__(self) -> None:
            raise TypeError("Inject is used as a type annotation: Inject[UserService].")


def inject_key(annotation: Any) -> DependencyKey | None:
    """Return the key of an ``Inject[T]`` annotation, or None for anything else."""
    if get_origin(annotation) is not Annotated:
        return None
    for metadata in get_args(annotation)[1:]:
        dependency: object = getattr(metadata, "dependency", None)
        if isinstance(metadata, params.Depends) and isinstance(dependency, InjectTarget):
            return dependency.key
    return None


def container_of(connection: HTTPConnection) -> Container:
    """Return the container of the TauseStack app serving ``connection``."""
    container = getattr(connection.app, "container", None)
    if container is None:
        raise ResolutionError(
            "Inject[...] was used in an app that create_app() did not build, so there is no "
            "container to resolve it from. Build the app with tausestack.create_app()."
        )
    return container  # type: ignore[no-any-return]


def request_scope_for(connection: HTTPConnection, container: Container) -> RequestScope:
    """Return the request scope of ``connection``, opening it on first use."""
    asgi_scope = connection.scope
    scope: RequestScope | None = asgi_scope.get(ASGI_SCOPE_KEY)
    if scope is None:
        scope = RequestScope(container, connection)
        asgi_scope[ASGI_SCOPE_KEY] = scope
    elif type(scope.connection) is HTTPConnection and type(connection) is not HTTPConnection:
        scope.connection = connection  # opened by a singleton first; keep the richer object
    return scope

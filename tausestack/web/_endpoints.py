"""Endpoints for controller methods: the bound method itself whenever possible.

A singleton controller's method without ``Inject[...]`` parameters is mounted as the bound method,
so FastAPI calls it directly. Otherwise a small wrapper with the method's public signature
resolves the injected parameters (and, for request-scoped controllers, the controller) from the
container, without a FastAPI ``Depends`` per request.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import HTTPConnection

from ..di._keys import DependencyKey, Scope
from ..di._providers import CallStyle
from ..di._scope import ASGI_SCOPE_KEY
from ..errors import AppNotStartedError, ControllerDefinitionError
from ._inject import inject_key, request_scope_for
from ._routes import RouteSpec

if TYPE_CHECKING:
    from ..di._container import Container
    from ..di._graph import Node
    from ..di._providers import Provider

CONNECTION_PARAMETER = "tausestack_connection"


@dataclass
class MethodShape:
    """What FastAPI sees of a controller method, and what the container fills in."""

    function: Callable[..., Any]
    label: str
    signature: inspect.Signature  # without self and injected parameters
    injected: dict[str, DependencyKey] = field(default_factory=dict)
    connection_parameter: str | None = None  # the user's own HTTPConnection parameter


def method_shape(function: Callable[..., Any], label: str, spec: RouteSpec) -> MethodShape:
    """Read a route method's signature once, separating ``Inject[...]`` parameters."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise ControllerDefinitionError(
            f"Cannot read the type hints of route method {label}: {exc}. Import the names it "
            "uses at module level (not under `if TYPE_CHECKING:`)."
        ) from None
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise ControllerDefinitionError(
            f"Route method {label} must take `self` first: controllers mount bound methods."
        )
    public: list[inspect.Parameter] = []
    injected: dict[str, DependencyKey] = {}
    connection_parameter = None
    for parameter in parameters[1:]:
        annotation = hints.get(parameter.name, parameter.annotation)
        key = inject_key(annotation)
        if key is not None:
            injected[parameter.name] = key
            continue
        if annotation is HTTPConnection:
            connection_parameter = parameter.name
        public.append(parameter.replace(annotation=annotation))
    returned = hints.get("return", signature.return_annotation)
    return MethodShape(
        function,
        label,
        inspect.Signature(public, return_annotation=returned),
        injected,
        connection_parameter,
    )


def placeholder(shape: MethodShape, provider: Provider, waiting: Node) -> Callable[..., Any]:
    """An endpoint for a route whose controller or injected objects exist once the app starts."""
    origin = lifespan_origin(waiting)
    because = (
        "it is async or has cleanup"
        if origin is waiting
        else f"it depends on {origin.provider.label}, which is async or has cleanup"
    )
    message = (
        f"{shape.label} cannot answer yet: it needs {waiting.provider.label}, which is created "
        f"when the application starts because {because}. Start the lifespan (`with "
        "TestClient(app)` or tausestack.testing.TestClient) before sending requests."
    )

    def not_started(**kwargs: Any) -> Any:
        raise AppNotStartedError(message)

    async def not_started_async(**kwargs: Any) -> Any:
        raise AppNotStartedError(message)

    async def not_started_stream(**kwargs: Any) -> AsyncIterator[Any]:
        nothing: tuple[Any, ...] = ()
        for item in nothing:  # an async generator, like the real endpoint
            yield item
        raise AppNotStartedError(message)

    def not_started_sync_stream(**kwargs: Any) -> Iterator[Any]:
        yield from ()  # a generator, like the real endpoint
        raise AppNotStartedError(message)

    # Same kind of callable as the real endpoint: FastAPI decides how to call it once.
    function = shape.function
    wrapped = uses_wrapper(shape, provider.scope)
    if inspect.isasyncgenfunction(function) or (wrapped and inspect.isgeneratorfunction(function)):
        chosen: Callable[..., Any] = not_started_stream
    elif inspect.isgeneratorfunction(function):
        chosen = not_started_sync_stream
    elif wrapped or inspect.iscoroutinefunction(function):
        chosen = not_started_async
    else:
        chosen = not_started
    return _dress(chosen, shape, with_connection=adds_connection(shape, provider.scope))


def lifespan_origin(node: Node) -> Node:
    """The provider that makes ``node`` wait for startup: async, or a generator with cleanup."""
    if node.provider.style is not CallStyle.SYNC:
        return node
    for _, target in node.edges:
        if target is not None and (target.lifespan_bound or target.asynchronous):
            return lifespan_origin(target)
    return node


def uses_wrapper(shape: MethodShape, controller_scope: Scope) -> bool:
    """Whether the method needs a wrapper (else the bound method is mounted as it is)."""
    return bool(shape.injected) or controller_scope is not Scope.SINGLETON


def adds_connection(shape: MethodShape, controller_scope: Scope) -> bool:
    """Whether the endpoint gets a hidden HTTPConnection parameter to reach the request scope."""
    return uses_wrapper(shape, controller_scope) and shape.connection_parameter is None


def wrapper(
    shape: MethodShape,
    container: Container,
    controller: Node,
    injected: dict[str, Node],
) -> Callable[..., Any]:
    """An endpoint that resolves the controller and injected parameters, then calls the method."""
    function = shape.function
    singleton = controller.provider.scope is Scope.SINGLETON
    instance = container.singleton(controller) if singleton else None
    constants = {
        name: container.singleton(node)
        for name, node in injected.items()
        if node.provider.scope is Scope.SINGLETON
    }
    # Request nodes go straight to the scope; transients through the container.
    scoped = [
        (name, node, node.provider.scope is Scope.REQUEST)
        for name, node in injected.items()
        if node.provider.scope is not Scope.SINGLETON
    ]
    needs_scope = bool(scoped) or not singleton
    connection_name = shape.connection_parameter or CONNECTION_PARAMETER
    # Decided from the method alone, so the signature FastAPI saw stays right after overrides.
    hidden = adds_connection(shape, controller.provider.scope)

    async def prepare(kwargs: dict[str, Any]) -> Any:
        connection = kwargs.pop(CONNECTION_PARAMETER) if hidden else None
        kwargs.update(constants)
        if not needs_scope:
            return instance
        if connection is None:
            connection = kwargs[connection_name]
        scope = connection.scope.get(ASGI_SCOPE_KEY) or request_scope_for(connection, container)
        for name, node, per_request in scoped:
            if per_request:
                kwargs[name] = await scope.resolve(node)
            else:
                kwargs[name] = await container.resolve_node(node, scope)
        return instance if singleton else await scope.resolve(controller)

    if inspect.isasyncgenfunction(function):

        async def stream(**kwargs: Any) -> AsyncIterator[Any]:
            target = await prepare(kwargs)
            async for item in function(target, **kwargs):
                yield item

        return _dress(stream, shape, with_connection=hidden)
    if inspect.isgeneratorfunction(function):

        async def stream_sync(**kwargs: Any) -> AsyncIterator[Any]:
            target = await prepare(kwargs)
            async for item in iterate_in_threadpool(function(target, **kwargs)):
                yield item

        return _dress(stream_sync, shape, with_connection=hidden)
    if inspect.iscoroutinefunction(function):

        async def endpoint(**kwargs: Any) -> Any:
            target = await prepare(kwargs)
            return await function(target, **kwargs)

        return _dress(endpoint, shape, with_connection=hidden)

    async def endpoint_sync(**kwargs: Any) -> Any:
        target = await prepare(kwargs)
        return await run_in_threadpool(function, target, **kwargs)

    return _dress(endpoint_sync, shape, with_connection=hidden)


def _dress(
    endpoint: Callable[..., Any], shape: MethodShape, *, with_connection: bool
) -> Callable[..., Any]:
    """Give ``endpoint`` the method's name, docs and public signature (no ``__wrapped__``)."""
    signature = shape.signature
    if with_connection:
        hidden = inspect.Parameter(
            CONNECTION_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=HTTPConnection
        )
        signature = signature.replace(parameters=[*signature.parameters.values(), hidden])
    function = shape.function
    endpoint.__name__ = function.__name__
    endpoint.__qualname__ = function.__qualname__
    endpoint.__module__ = function.__module__
    endpoint.__doc__ = function.__doc__
    endpoint.__signature__ = signature  # type: ignore[attr-defined]
    return endpoint

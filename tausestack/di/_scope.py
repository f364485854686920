"""The request scope: one instance per request-scoped provider, released when the request ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import anyio

from ..errors import ResolutionError
from ._keys import DependencyKey, Scope

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from ._container import Container
    from ._graph import Node

T = TypeVar("T")

#: Key under which the web layer keeps the open scope in the ASGI scope dictionary.
ASGI_SCOPE_KEY = "tausestack.request_scope"
#: Set in the ASGI scope once the request has ended.
CLOSED_KEY = "tausestack.request_closed"
#: The asyncio task handling the request (integrations keep per-request state to that task).
REQUEST_TASK_KEY = "tausestack.task"

#: The container and ASGI scope of the request being handled (set by RequestScopeMiddleware),
#: so singletons such as the database can reach the current request's scope.
current_request: ContextVar[tuple[Container, dict[str, Any]] | None] = ContextVar(
    "tausestack_current_request", default=None
)


def current_request_scope(container: Container) -> RequestScope | None:
    """The request scope of the request being handled by ``container``'s app, if any."""
    current = current_request.get()
    if current is None or current[0] is not container or current[1].get(CLOSED_KEY):
        return None
    asgi_scope = current[1]
    scope: RequestScope | None = asgi_scope.get(ASGI_SCOPE_KEY)
    if scope is None:
        from starlette.requests import HTTPConnection

        scope = RequestScope(container, HTTPConnection(asgi_scope))
        asgi_scope[ASGI_SCOPE_KEY] = scope
    return scope


class RequestScope:
    """Holds the request-scoped objects of one request (or websocket connection, or job).

    The web layer opens one lazily the first time a request needs it and closes it after the
    response is sent, running generator cleanups in reverse order. Outside HTTP, open one
    yourself::

        async with container.request_scope() as scope:
            session = await scope.aget(Session)
    """

    __slots__ = (
        "_endpoint_hooks",
        "_instances",
        "_response_hooks",
        "_stack",
        "connection",
        "container",
        "exception",
        "values",
    )

    def __init__(self, container: Container, connection: HTTPConnection | None = None) -> None:
        self.container = container
        self.connection = connection
        self.exception: BaseException | None = None
        #: Per-request state of integrations (the database keeps its sessions here).
        self.values: dict[object, Any] = {}
        self._instances: dict[Node, Any] = {}
        self._stack: AsyncExitStack | None = None
        self._response_hooks: list[Callable[[], Awaitable[None]]] | None = None
        self._endpoint_hooks: list[Callable[[bool], None]] | None = None

    @overload
    async def aget(self, kind: type[T], qualifier: str | None = None) -> T: ...
    @overload
    async def aget(self, kind: Any, qualifier: str | None = None) -> Any: ...

    async def aget(self, kind: Any, qualifier: str | None = None) -> Any:
        """Resolve ``kind`` in this scope: request-scoped objects are created once and reused."""
        node = self.container.node_for(DependencyKey(kind, qualifier))
        return await self.container.resolve_node(node, self)

    async def resolve(self, node: Node) -> Any:
        """Return this scope's instance of a request-scoped node, creating it on first use.

        Concurrent first uses in one scope (``asyncio.gather``) share one creation.
        """
        value = self._instances.get(node, _MISSING)
        if value is not _MISSING:
            return await value.wait() if type(value) is _Pending else value
        fast = self.container.fast_factory(node)
        if fast is not None:  # no await between the check and the store: no race possible
            value = self._instances[node] = fast()
            return value
        pending = self._instances[node] = _Pending()
        try:
            value = await self.container.build_node(node, self)
        except BaseException as exc:
            del self._instances[node]
            pending.fail(exc)
            raise
        self._instances[node] = value
        pending.succeed(value)
        return value

    @property
    def stack(self) -> AsyncExitStack:
        """Where cleanups of objects created in this scope are registered."""
        if self._stack is None:
            self._stack = AsyncExitStack()
        return self._stack

    def before_response(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` just before the response starts (database commits go here).

        A hook that raises turns the response into a 500, as no byte has been sent yet.
        Websocket connections have no response; their hooks never run.
        """
        if self._response_hooks is None:
            self._response_hooks = []
        self._response_hooks.append(hook)

    async def run_response_hooks(self) -> None:
        """Run and forget the hooks registered with :meth:`before_response`."""
        hooks, self._response_hooks = self._response_hooks, None
        for hook in hooks or ():
            await hook()

    @property
    def has_response_hooks(self) -> bool:
        """Whether :meth:`run_response_hooks` has anything to do."""
        return bool(self._response_hooks)

    def after_sync_endpoint(self, hook: Callable[[bool], None]) -> None:
        """Run ``hook(succeeded)`` in a sync endpoint's thread as the endpoint returns or raises.

        The database ends a sync transaction there, so its pooled connection is free before
        FastAPI asks the thread pool for another thread (to serialize the response); async
        endpoints never run these hooks.
        """
        if self._endpoint_hooks is None:
            self._endpoint_hooks = []
        self._endpoint_hooks.append(hook)

    def run_endpoint_hooks(self, succeeded: bool) -> None:
        """Run and forget the hooks registered with :meth:`after_sync_endpoint`."""
        hooks, self._endpoint_hooks = self._endpoint_hooks, None
        for hook in hooks or ():
            hook(succeeded)

    def record_exception(self, exception: BaseException) -> None:
        """Remember that the request failed; generator providers see it at cleanup."""
        if self.exception is None:
            self.exception = exception

    async def aclose(self) -> None:
        """Run cleanups in reverse creation order; generators see the request's exception."""
        stack, self._stack = self._stack, None
        self._instances.clear()
        self._response_hooks = None
        self._endpoint_hooks = None
        if stack is None:
            return
        exception = self.exception
        if exception is None:
            await stack.aclose()
            return
        suppressed = await stack.__aexit__(type(exception), exception, exception.__traceback__)
        del suppressed  # the request's own error is handled (or re-raised) by the web layer

    async def __aenter__(self) -> RequestScope:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.record_exception(exc)
        await self.aclose()


_MISSING = object()


class _Pending:
    """A request-scoped object being created; later askers wait for it."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def succeed(self, value: Any) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    async def wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


def require_scope(scope: RequestScope | None, node: Node) -> RequestScope:
    """Return ``scope`` or explain that ``node`` only exists inside a request."""
    if scope is not None:
        return scope
    label = node.provider.label
    what = "is request-scoped" if node.provider.scope is Scope.REQUEST else "needs request objects"
    raise ResolutionError(
        f"{label} {what}, so it only exists inside a request. Take it as an "
        f"Inject[...] parameter of a route, or open a scope: `async with container."
        f"request_scope() as scope: await scope.aget(...)`."
    )

"""The container: builds objects from a validated graph and manages their lifetimes.

Every ``create_app()`` builds its own container; nothing here is global. The graph is compiled
once; resolving a singleton afterwards is a dictionary lookup, and request-scoped objects whose
dependencies are all singletons are created by a pre-bound ``functools.partial``.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any, TypeVar, overload

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket

from .._naming import describe_type, did_you_mean
from ..errors import AppNotStartedError, MissingProviderError, ResolutionError
from ._graph import Graph, Node, build_graph
from ._keys import DependencyKey, Scope, split_annotation
from ._override import Override, replacement_provider
from ._providers import CallStyle, Provider, ProviderKind, context_provider, instance_provider
from ._scope import RequestScope, require_scope

T = TypeVar("T")
Listener = Callable[[], None]

#: Containers whose lifespan is running, for SDK functions called without DI.
_RUNNING: weakref.WeakSet[Container] = weakref.WeakSet()


def running_containers() -> list[Container]:
    """The containers started and not yet stopped in this process."""
    return list(_RUNNING) if _RUNNING else []


class Container:
    """Holds the providers of one application and the objects built from them.

    Args:
        providers: the providers to register (``create_app()`` passes the discovered ones).
        overrides: replacements keyed by type (or ``Annotated[T, Qualifier("x")]``); a value
            is used as the instance, except a class, which is constructed with injection.
    """

    def __init__(
        self, providers: Iterable[Provider], *, overrides: Mapping[Any, Any] | None = None
    ) -> None:
        self._providers: list[Provider] = [*providers, *self._builtins()]
        self._overrides: dict[DependencyKey, Provider] = {}
        for target, replacement in (overrides or {}).items():
            key = _key_of(target)
            self._overrides[key] = replacement_provider(key, replacement, self._providers)
        self._graph: Graph = build_graph(self._providers, self._overrides)
        self._singletons: dict[Provider, Any] = {}
        self._fast: dict[Node, Callable[[], Any]] = {}
        self._lifespan: AsyncExitStack | None = None
        self._lifespan_built: list[Provider] = []
        self._listeners: list[Listener] = []
        self._override_frames: list[Override] = []

    def _builtins(self) -> list[Provider]:
        return [
            instance_provider(self, (DependencyKey(Container),), "the application's Container"),
            context_provider(lambda scope: scope, DependencyKey(RequestScope)),
            context_provider(lambda scope: scope.connection, DependencyKey(HTTPConnection)),
            context_provider(_connection_of(Request), DependencyKey(Request)),
            context_provider(_connection_of(WebSocket), DependencyKey(WebSocket)),
        ]

    # -- introspection --------------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The validated dependency graph (read-only use: tooling, ``tausestack inspect``)."""
        return self._graph

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran and :meth:`stop` has not yet."""
        return self._lifespan is not None

    def node_for(self, key: DependencyKey) -> Node:
        """Return the node that serves ``key`` or raise MissingProviderError."""
        node = self._graph.lookup(key)
        if node is None:
            names = self._graph.registry.type_names()
            raise MissingProviderError(
                f"No provider for {key}.{did_you_mean(describe_type(key.type), names)} Register "
                "one with @Service, @Repository, @Controller or @provider."
            )
        return node

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` whenever singleton instances change (startup, shutdown, overrides)."""
        self._listeners.append(listener)

    def singleton(self, node: Node) -> Any:
        """Return a built singleton, or explain why it does not exist yet."""
        try:
            return self._singletons[node.provider]
        except KeyError:
            pass
        if node.lifespan_bound:
            raise AppNotStartedError(
                f"{node.provider.label} is created when the application starts, because it (or "
                "something it needs) is async or has cleanup. Start the lifespan first: `with "
                "TestClient(app)`, tausestack.testing.TestClient, or `await container.start()`."
            )
        instance = self._build_sync(node)
        self._singletons[node.provider] = instance
        return instance

    def instance_of(self, provider: Provider) -> Any | None:
        """The singleton built from ``provider``, or None when it does not exist (yet)."""
        return self._singletons.get(provider)

    def fast_factory(self, node: Node) -> Callable[[], Any] | None:
        """A pre-bound factory for a non-singleton node whose dependencies are all singletons."""
        return self._fast.get(node)

    # -- resolution -----------------------------------------------------------------------------

    @overload
    def get(self, kind: type[T], qualifier: str | None = None) -> T: ...
    @overload
    def get(self, kind: Any, qualifier: str | None = None) -> Any: ...

    def get(self, kind: Any, qualifier: str | None = None) -> Any:
        """Resolve ``kind`` synchronously (singletons and sync transients).

        Request-scoped objects need a request: use ``Inject[...]`` or :meth:`request_scope`.
        """
        node = self.node_for(_key_of(kind, qualifier))
        scope = node.provider.scope
        if scope is Scope.SINGLETON:
            return self.singleton(node)
        if scope is Scope.REQUEST or node.lifetime < 2:
            require_scope(None, node)
        if node.asynchronous:
            raise ResolutionError(
                f"{node.provider.label} is built asynchronously; use `await container.aget(...)`."
            )
        return self._build_sync(node)

    @overload
    async def aget(self, kind: type[T], qualifier: str | None = None) -> T: ...
    @overload
    async def aget(self, kind: Any, qualifier: str | None = None) -> Any: ...

    async def aget(self, kind: Any, qualifier: str | None = None) -> Any:
        """Resolve ``kind``; transients with cleanup are released when the app stops."""
        node = self.node_for(_key_of(kind, qualifier))
        if node.provider.scope is Scope.TRANSIENT:
            return await self.build_node(node, None, self._lifespan)
        return await self.resolve_node(node, None)

    def request_scope(self, connection: HTTPConnection | None = None) -> RequestScope:
        """Open a request scope by hand (for jobs, scripts and tests)."""
        return RequestScope(self, connection)

    async def resolve_node(self, node: Node, scope: RequestScope | None) -> Any:
        """Resolve one node: singletons from the store, request objects from ``scope``."""
        provider_scope = node.provider.scope
        if provider_scope is Scope.SINGLETON:
            return self.singleton(node)
        if provider_scope is Scope.REQUEST:
            return await require_scope(scope, node).resolve(node)
        fast = self._fast.get(node)
        if fast is not None:
            return fast()
        stack = scope.stack if scope is not None else None
        return await self.build_node(node, scope, stack)

    async def build_node(
        self, node: Node, scope: RequestScope | None, stack: AsyncExitStack | None = None
    ) -> Any:
        """Create a new instance of ``node``; cleanups go on ``stack`` (the scope's by default)."""
        fast = self._fast.get(node)
        if fast is not None:
            return fast()
        provider = node.provider
        if provider.kind is ProviderKind.INSTANCE:
            return provider.factory
        if provider.kind is ProviderKind.CONTEXT:
            return provider.factory(require_scope(scope, node))
        if stack is None and scope is not None:
            stack = scope.stack
        args, kwargs = [], {}
        for dependency, target in node.edges:
            if target is None:
                value = dependency.default
            elif target.provider.scope is Scope.TRANSIENT:
                value = await self.build_node(target, scope, stack)
            else:
                value = await self.resolve_node(target, scope)
            if dependency.positional_only:
                args.append(value)
            else:
                kwargs[dependency.name] = value
        return await _call(provider, args, kwargs, stack)

    def _build_sync(self, node: Node) -> Any:
        provider = node.provider
        if provider.kind is ProviderKind.INSTANCE:
            return provider.factory
        if node.asynchronous or node.lifespan_bound or provider.kind is ProviderKind.CONTEXT:
            raise ResolutionError(  # pragma: no cover - callers check these first
                f"{provider.label} cannot be built synchronously."
            )
        args, kwargs = [], {}
        for dependency, target in node.edges:
            if target is None:
                value = dependency.default
            elif target.provider.scope is Scope.SINGLETON:
                value = self.singleton(target)
            else:
                value = self._build_sync(target)
            if dependency.positional_only:
                args.append(value)
            else:
                kwargs[dependency.name] = value
        return _with_note(provider, provider.factory, args, kwargs)

    # -- lifecycle ------------------------------------------------------------------------------

    def build(self) -> None:
        """Construct every singleton that needs no event loop, in dependency order."""
        for node in self._graph.order:
            provider = node.provider
            if (
                provider.scope is Scope.SINGLETON
                and not node.lifespan_bound
                and provider not in self._singletons
            ):
                self._singletons[provider] = self._build_sync(node)
        self._changed()

    async def start(self) -> None:
        """Build lifespan singletons and run ``start()`` hooks in dependency order."""
        if self._lifespan is not None:
            raise ResolutionError("The container is already started; stop() it first.")
        self.build()
        stack = AsyncExitStack()
        built: list[Provider] = []
        try:
            await self.activate(self._graph.order, stack, built)
        except BaseException:
            for provider in built:
                self._singletons.pop(provider, None)
            await stack.aclose()
            self._changed()
            raise
        self._lifespan = stack
        self._lifespan_built = built
        _RUNNING.add(self)
        self._changed()

    async def stop(self) -> None:
        """Run ``stop()`` hooks and cleanups in reverse order; the container can start again."""
        stack, self._lifespan = self._lifespan, None
        if stack is None:
            return
        _RUNNING.discard(self)
        try:
            await stack.aclose()
        finally:
            for provider in self._lifespan_built:
                self._singletons.pop(provider, None)
            self._changed()

    async def activate(
        self, nodes: Iterable[Node], stack: AsyncExitStack, built: list[Provider]
    ) -> None:
        """Build the missing lifespan singletons among ``nodes`` and start every singleton.

        One pass in dependency order: each object is created and started before anything that
        depends on it, so unwinding ``stack`` stops and cleans up in exactly the reverse order.
        """
        for node in nodes:
            provider = node.provider
            if provider.scope is not Scope.SINGLETON:
                continue
            if provider not in self._singletons:
                self._singletons[provider] = await self.build_node(node, None, stack)
                built.append(provider)
            start_name, stop_name = provider.hooks
            instance = self._singletons[provider]
            if start_name is not None:
                await run_hook(provider, getattr(instance, start_name))
            if stop_name is not None:
                stack.push_async_callback(run_hook, provider, getattr(instance, stop_name))

    def _changed(self) -> None:
        self._fast = _fast_factories(self._graph, self._singletons)
        for listener in self._listeners:
            listener()

    # -- overrides ------------------------------------------------------------------------------

    def override(self, kind: Any, replacement: Any, *, qualifier: str | None = None) -> Override:
        """Replace what consumers of ``kind`` get, for the duration of a ``with`` block.

        Singletons that depend on ``kind`` (directly or not) are rebuilt for the block, and
        controller routes are re-pointed at the rebuilt controllers; everything is restored on
        exit. Use ``async with`` when the rebuilt objects are async or have async hooks::

            with app.state.container.override(UserRepository, FakeUserRepository()):
                client.get("/users/1")
        """
        return Override(self, _key_of(kind, qualifier), replacement)


def _key_of(kind: Any, qualifier: str | None = None) -> DependencyKey:
    if isinstance(kind, DependencyKey):
        return kind
    base, annotated_qualifier, _ = split_annotation(kind)
    return DependencyKey(base, qualifier or annotated_qualifier)


def _connection_of(kind: type[HTTPConnection]) -> Callable[[RequestScope], HTTPConnection]:
    def read(scope: RequestScope) -> HTTPConnection:
        connection = scope.connection
        if not isinstance(connection, kind):
            found = type(connection).__name__ if connection is not None else "no connection"
            raise ResolutionError(
                f"A {kind.__name__} was asked for, but this scope has {found}. Depend on "
                "HTTPConnection to accept both requests and websockets."
            )
        return connection

    return read


async def _call(
    provider: Provider, args: list[Any], kwargs: dict[str, Any], stack: AsyncExitStack | None
) -> Any:
    """Call a factory from async code; sync provider *functions* run in the thread pool.

    Constructors run inline (keep them free of I/O); a sync provider function or generator may
    block, so it runs in a worker thread, as FastAPI does with sync dependencies.
    """
    factory = provider.factory
    style = provider.style
    if style is CallStyle.SYNC:
        if provider.kind is ProviderKind.CLASS:
            return _with_note(provider, factory, args, kwargs)
        call = functools.partial(_with_note, provider, factory, args, kwargs)
        return await run_in_threadpool(call)
    if style is CallStyle.ASYNC:
        return await _with_note(provider, factory, args, kwargs)
    if stack is None:
        raise AppNotStartedError(
            f"{provider.label} has cleanup tied to the application lifespan when used outside "
            "a request; start the container first (`await container.start()` or `with "
            "TestClient(app)`)."
        )
    if style is CallStyle.GENERATOR:
        manager = contextmanager(factory)(*args, **kwargs)
        enter = functools.partial(_with_note, provider, manager.__enter__, [], {})
        value = await run_in_threadpool(enter)

        async def exit_in_thread(*exc_info: Any) -> bool | None:
            return await run_in_threadpool(manager.__exit__, *exc_info)

        stack.push_async_exit(exit_in_thread)
        return value
    async_manager = asynccontextmanager(factory)(*args, **kwargs)
    return await _with_note(provider, stack.enter_async_context, [async_manager], {})


def _with_note(provider: Provider, function: Any, args: Sequence[Any], kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        exc.add_note(f"(raised while TauseStack was creating {provider.label})")
        raise


async def run_hook(provider: Provider, hook: Callable[[], Any]) -> None:
    """Call a sync or async lifecycle hook, noting its owner on failure."""
    try:
        result = hook()
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        exc.add_note(f"(raised by a lifecycle hook of {provider.label})")
        raise


def _fast_factories(
    graph: Graph, singletons: Mapping[Provider, Any]
) -> dict[Node, Callable[[], Any]]:
    """Pre-bind request and transient nodes that only need sync construction and singletons."""
    fast: dict[Node, Callable[[], Any]] = {}
    for node in graph.order:
        provider = node.provider
        if provider.scope is Scope.SINGLETON or provider.style is not CallStyle.SYNC:
            continue
        if provider.kind is not ProviderKind.CLASS:  # sync functions run in the thread pool
            continue
        args, kwargs = [], {}
        for dependency, target in node.edges:
            if target is None:
                value = dependency.default
            elif target.provider.scope is Scope.SINGLETON and target.provider in singletons:
                value = singletons[target.provider]
            else:
                break
            if dependency.positional_only:
                args.append(value)
            else:
                kwargs[dependency.name] = value
        else:
            fast[node] = functools.partial(provider.factory, *args, **kwargs)
    return fast

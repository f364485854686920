"""``container.override(T, replacement)``: swap a provider for a block, rebuilding its consumers."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._naming import describe_type, did_you_mean
from ..errors import MissingProviderError, ResolutionError
from ._graph import Graph, Node, Registry, build_graph
from ._keys import DependencyKey, Scope
from ._markers import ComponentSpec, component_spec
from ._providers import Provider, class_provider, instance_provider

if TYPE_CHECKING:
    from ._container import Container


def replacement_provider(
    key: DependencyKey, replacement: Any, providers: Sequence[Provider]
) -> Provider:
    """Turn an override value into a provider bound to exactly ``key``.

    A class is constructed by the container (with injection) in the scope of the provider it
    replaces; anything else is used as the instance.
    """
    registry = Registry(providers)
    candidates = registry.candidates(key)
    if not candidates:
        hint = did_you_mean(describe_type(key.type), registry.type_names())
        known = registry.qualifiers_for(key.type)
        if key.qualifier and known:
            hint = f" Known qualifiers for {describe_type(key.type)}: {known}."
        raise MissingProviderError(
            f"Cannot override {key}: nothing provides it, so nothing would use the "
            f"replacement.{hint} Register the real provider, or add the replacement as a "
            "component."
        )
    # Replacing several providers at once (an unqualified key) keeps the shortest lifetime.
    scope = min((provider.scope for provider in candidates), key=_LIFETIME_ORDER.index)
    if isinstance(replacement, type):
        spec = component_spec(replacement) or ComponentSpec(kind="component", scope=scope)
        provider = class_provider(replacement, spec)
        return dataclasses.replace(provider, keys=(key,))
    label = f"the override of {key} ({type(replacement).__name__} instance)"
    return instance_provider(replacement, (key,), label)


_LIFETIME_ORDER = [Scope.TRANSIENT, Scope.REQUEST, Scope.SINGLETON]


@dataclass
class _Saved:
    graph: Graph
    overrides: dict[DependencyKey, Provider]
    singletons: dict[Provider, Any]


class Override:
    """Context manager returned by :meth:`Container.override` (``with`` or ``async with``)."""

    def __init__(self, container: Container, key: DependencyKey, replacement: Any) -> None:
        self._container = container
        self.key = key
        self.replacement = replacement
        self._saved: _Saved | None = None
        self._rebuilt: list[Node] = []
        self._stack: ExitStack | AsyncExitStack | None = None

    # -- sync -----------------------------------------------------------------------------------

    def __enter__(self) -> Override:
        affected = self._swap()
        try:
            if self._container.started:
                blocking = [
                    node.provider.label
                    for node in affected
                    if node.lifespan_bound or _has_async_hooks(node.provider)
                ]
                if blocking:
                    raise ResolutionError(
                        f"Overriding {self.key} rebuilds {', '.join(blocking)}, which need an "
                        "event loop (async creation, cleanup or hooks). Use `async with "
                        "container.override(...)`."
                    )
            self._build_eager(affected)
            stack = ExitStack()
            if self._container.started:
                _run_sync_hooks(self._rebuilt, self._container._singletons, stack)
            self._stack = stack
        except BaseException:
            self._restore()
            raise
        self._container._changed()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._check_order()
        try:
            stack = self._stack
            if isinstance(stack, ExitStack):
                stack.close()
        finally:
            self._restore()

    # -- async ----------------------------------------------------------------------------------

    async def __aenter__(self) -> Override:
        container = self._container
        affected = self._swap()
        stack = AsyncExitStack()
        try:
            self._build_eager(affected)
            if container.started:
                built: list[Provider] = []
                await container.activate(affected, stack, built)
                self._rebuilt = affected
        except BaseException:
            await stack.aclose()
            self._restore()
            raise
        self._stack = stack
        container._changed()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._check_order()
        try:
            stack = self._stack
            if isinstance(stack, AsyncExitStack):
                await stack.aclose()
            elif isinstance(stack, ExitStack):
                stack.close()
        finally:
            self._restore()

    # -- shared ---------------------------------------------------------------------------------

    def _swap(self) -> list[Node]:
        """Install the new graph; return the singletons that must be rebuilt, in order."""
        container = self._container
        if self._saved is not None:
            raise ResolutionError(f"This override of {self.key} is already active.")
        provider = replacement_provider(self.key, self.replacement, container._providers)
        overrides = {**container._overrides, self.key: provider}
        graph = build_graph(container._providers, overrides)
        previous = set(container._graph.nodes)
        changed: set[Node] = set()
        for node in graph.order:
            if node.provider not in previous or any(
                target in changed for _, target in node.edges if target is not None
            ):
                changed.add(node)
        affected = [
            node
            for node in graph.order
            if node in changed and node.provider.scope is Scope.SINGLETON
        ]
        self._saved = _Saved(container._graph, container._overrides, container._singletons)
        container._graph = graph
        container._overrides = overrides
        container._singletons = {
            provider: instance
            for provider, instance in container._singletons.items()
            if provider in graph.nodes and graph.nodes[provider] not in changed
        }
        container._override_frames.append(self)
        return affected

    def _build_eager(self, affected: list[Node]) -> None:
        container = self._container
        for node in affected:
            if not node.lifespan_bound:
                container._singletons[node.provider] = container._build_sync(node)
                self._rebuilt.append(node)

    def _check_order(self) -> None:
        frames = self._container._override_frames
        if frames and frames[-1] is not self:
            raise ResolutionError(
                "Overrides must be exited in the reverse order they were entered; "
                f"{frames[-1].key} is still active inside the override of {self.key}."
            )

    def _restore(self) -> None:
        container, saved = self._container, self._saved
        if saved is None:
            return
        container._graph = saved.graph
        container._overrides = saved.overrides
        container._singletons = saved.singletons
        if self in container._override_frames:
            container._override_frames.remove(self)
        self._saved, self._stack, self._rebuilt = None, None, []
        container._changed()


def _has_async_hooks(provider: Provider) -> bool:
    return any(
        name is not None and inspect.iscoroutinefunction(getattr(provider.factory, name, None))
        for name in provider.hooks
    )


def _run_sync_hooks(nodes: list[Node], instances: dict[Provider, Any], stack: ExitStack) -> None:
    for node in nodes:
        start_name, stop_name = node.provider.hooks
        instance = instances[node.provider]
        if start_name is not None:
            getattr(instance, start_name)()
        if stop_name is not None:
            stack.callback(getattr(instance, stop_name))

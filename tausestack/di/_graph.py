"""The dependency graph: which provider serves each parameter, validated once at startup.

``build_graph`` matches every dependency of every provider to a provider, then checks the whole
graph: missing providers (with near matches), ambiguous bindings, cycles (the whole chain) and
scopes (a singleton may not hold a request-scoped object). Every problem is collected so one run
reports them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._naming import describe_type, near_matches
from ..errors import (
    AmbiguousProviderError,
    CircularDependencyError,
    ContainerValidationError,
    DependencyError,
    MissingProviderError,
    ScopeMismatchError,
)
from ._keys import DependencyKey, Scope
from ._providers import CallStyle, Dependency, Provider, ProviderKind

_LIFETIME = {Scope.SINGLETON: 2, Scope.REQUEST: 1}


@dataclass(eq=False)
class Node:
    """A provider with each of its dependencies matched to a node (None: use the default)."""

    provider: Provider
    edges: list[tuple[Dependency, Node | None]] = field(default_factory=list)
    lifetime: int = 2  # 2: app-long, 1: request-long; a transient takes its shortest dependency
    lifespan_bound: bool = False  # a singleton that can only be built in the app lifespan
    asynchronous: bool = False  # building it needs an await somewhere in its subtree

    def __repr__(self) -> str:
        return f"<Node {self.provider.label}>"


class Registry:
    """Providers indexed by the types they are registered under."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers = list(providers)
        self._by_type: dict[Any, list[tuple[str | None, Provider]]] = {}
        for provider in self.providers:
            for key in provider.keys:
                entries = self._by_type.setdefault(key.type, [])
                if all(existing is not provider for _, existing in entries):
                    entries.append((key.qualifier, provider))

    def find(self, key: DependencyKey) -> Provider | None:
        """Return the provider that serves ``key``; None when there is none.

        Raises AmbiguousProviderError when several match and no qualifier or primary decides.
        """
        candidates = self._by_type.get(key.type, [])
        if key.qualifier is not None:
            matches = [provider for qualifier, provider in candidates if qualifier == key.qualifier]
        else:
            matches = [provider for _, provider in candidates]
        if len(matches) <= 1:
            return matches[0] if matches else None
        primaries = [provider for provider in matches if provider.spec.primary]
        if len(primaries) == 1:
            return primaries[0]
        unqualified = [provider for qualifier, provider in candidates if qualifier is None]
        if key.qualifier is None and len(unqualified) == 1 and not primaries:
            return unqualified[0]
        raise AmbiguousProviderError(_ambiguity_message(key, candidates, primaries))

    def candidates(self, key: DependencyKey) -> list[Provider]:
        """Every provider registered for ``key.type`` (with ``key.qualifier`` when it has one)."""
        return [
            provider
            for qualifier, provider in self._by_type.get(key.type, [])
            if key.qualifier is None or qualifier == key.qualifier
        ]

    def qualifiers_for(self, kind: Any) -> list[str]:
        """Every qualifier registered for ``kind``."""
        return [qualifier for qualifier, _ in self._by_type.get(kind, []) if qualifier]

    def type_names(self) -> dict[str, Any]:
        """Readable names of every registered type, for near-match suggestions."""
        return {describe_type(kind): kind for kind in self._by_type}


def _ambiguity_message(
    key: DependencyKey, candidates: Sequence[tuple[str | None, Provider]], primaries: list[Provider]
) -> str:
    listed = ", ".join(
        provider.label + (f" (qualifier {qualifier!r})" if qualifier else "")
        for qualifier, provider in candidates
        if key.qualifier is None or qualifier == key.qualifier
    )
    if len(primaries) > 1:
        fix = "Only one of them may be primary=True."
    else:
        fix = (
            f'Ask for one with Annotated[{describe_type(key.type)}, Qualifier("...")], or mark '
            "one of them primary=True."
        )
    return f"Several providers match {key}: {listed}. {fix}"


@dataclass
class Graph:
    """The validated graph: a node per provider, in dependency order."""

    registry: Registry
    nodes: dict[Provider, Node]
    order: list[Node]  # dependencies before their consumers
    overrides: Mapping[DependencyKey, Provider]
    _lookups: dict[DependencyKey, Node | None] = field(default_factory=dict)

    def require(self, key: DependencyKey, consumer: str) -> Node:
        """Return the node serving ``key`` or raise an error that names ``consumer``."""
        try:
            node = self.lookup(key)
        except AmbiguousProviderError as exc:
            raise AmbiguousProviderError(f"{consumer}: {exc}") from None
        if node is None:
            raise missing_provider(self.registry, key, consumer)
        return node

    def lookup(self, key: DependencyKey) -> Node | None:
        """Return the node serving ``key`` (overrides first), or None."""
        try:
            return self._lookups[key]
        except KeyError:
            provider = _find(self.registry, self.overrides, key)
            node = self.nodes.get(provider) if provider is not None else None
            self._lookups[key] = node
            return node


def _find(
    registry: Registry, overrides: Mapping[DependencyKey, Provider], key: DependencyKey
) -> Provider | None:
    replacement = overrides.get(key) or overrides.get(DependencyKey(key.type))
    return replacement if replacement is not None else registry.find(key)


def build_graph(
    providers: Sequence[Provider], overrides: Mapping[DependencyKey, Provider] | None = None
) -> Graph:
    """Match, validate and order ``providers``; raise every problem found at once."""
    overrides = dict(overrides or {})
    registry = Registry(providers)
    everything = [*providers, *[p for p in overrides.values() if p not in providers]]
    nodes = {provider: Node(provider) for provider in everything}
    problems: list[DependencyError] = []
    for node in nodes.values():
        for dependency in node.provider.dependencies:
            try:
                target = _find(registry, overrides, dependency.key)
            except AmbiguousProviderError as exc:
                problems.append(
                    AmbiguousProviderError(f"{dependency.describe(node.provider)}: {exc}")
                )
                continue
            if target is None:
                if not dependency.has_default:
                    consumer = dependency.describe(node.provider)
                    problems.append(missing_provider(registry, dependency.key, consumer))
                node.edges.append((dependency, None))
            else:
                node.edges.append((dependency, nodes[target]))
    cycles = _cycles(nodes.values())
    problems.extend(cycles)
    order = [] if cycles else _topological(nodes.values())
    problems.extend(_annotate(order))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ContainerValidationError(problems)
    return Graph(registry, nodes, order, overrides)


def missing_provider(
    registry: Registry, wanted: DependencyKey, consumer: str
) -> MissingProviderError:
    """The error for a dependency nothing provides, with every hint that applies."""
    names = registry.type_names()
    hints = []
    if wanted.qualifier and wanted.type in registry._by_type:
        known = registry.qualifiers_for(wanted.type)
        hints.append(f"Known qualifiers for {describe_type(wanted.type)}: {known or 'none'}.")
    if isinstance(wanted.type, type) and not _is_protocol(wanted.type):
        subclasses = [
            provider.label
            for provider in registry.providers
            if isinstance(provider.factory, type)
            and provider.kind is ProviderKind.CLASS
            and issubclass(provider.factory, wanted.type)
            and provider.factory is not wanted.type
        ]
        if subclasses:
            hints.append(
                f"{', '.join(subclasses)} subclasses it but does not provide it: add "
                f"provides={describe_type(wanted.type)} to its decorator."
            )
        spec_owner = getattr(wanted.type, "__module__", "")
        if not subclasses and getattr(wanted.type, "__tausestack_component__", None) is not None:
            hints.append(
                f"{describe_type(wanted.type)} is marked as a component, but its module "
                f"{spec_owner} was not discovered: add its app to installed_apps or its module "
                "name to discovery.modules."
            )
    similar = near_matches(describe_type(wanted.type), names)
    if similar:
        hints.append(f"Similar registered types: {', '.join(similar)}.")
    if not hints:
        hints.append(
            f"Register a class with @Service (or @Repository) or a function with @provider "
            f"that returns {describe_type(wanted.type)}, or give the parameter a default."
        )
    return MissingProviderError(
        f"No provider for {wanted}, needed by {consumer}. " + " ".join(hints)
    )


def _is_protocol(kind: type) -> bool:
    return bool(getattr(kind, "_is_protocol", False))


def _cycles(nodes: Iterable[Node]) -> list[CircularDependencyError]:
    problems: list[CircularDependencyError] = []
    state: dict[Node, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[Node]] = set()

    def visit(node: Node, path: list[tuple[Node, str]]) -> None:
        state[node] = 1
        for dependency, target in node.edges:
            if target is None:
                continue
            if state.get(target) == 1:
                walked = [*path, (node, dependency.name)]
                start = next(i for i, (member, _) in enumerate(walked) if member is target)
                cycle = walked[start:]
                members = frozenset(member for member, _ in cycle)
                if members not in reported:
                    reported.add(members)
                    problems.append(_cycle_error(cycle))
            elif target not in state:
                visit(target, [*path, (node, dependency.name)])
        state[node] = 2

    for node in nodes:
        if node not in state:
            visit(node, [])
    return problems


def _cycle_error(cycle: list[tuple[Node, str]]) -> CircularDependencyError:
    """``cycle`` lists each member with the parameter that leads to the next one."""
    steps = [cycle[0][0].provider.label]
    for index, (_, parameter) in enumerate(cycle):
        following = cycle[(index + 1) % len(cycle)][0]
        steps.append(f"--{parameter}--> {following.provider.label}")
    return CircularDependencyError(
        "Circular dependency: "
        + " ".join(steps)
        + ". Break the cycle: move the shared part into its own service, or resolve one side "
        "lazily from the Container."
    )


def _topological(nodes: Iterable[Node]) -> list[Node]:
    order: list[Node] = []
    seen: set[Node] = set()

    def visit(node: Node) -> None:
        seen.add(node)
        for _, target in node.edges:
            if target is not None and target not in seen:
                visit(target)
        order.append(node)

    for node in nodes:
        if node not in seen:
            visit(node)
    return order


def _annotate(order: list[Node]) -> list[ScopeMismatchError]:
    """Compute lifetimes and build modes in dependency order, and check scopes."""
    problems = []
    for node in order:
        provider = node.provider
        own_async = provider.style is not CallStyle.SYNC
        targets = [target for _, target in node.edges if target is not None]
        if provider.scope is Scope.TRANSIENT:
            node.lifetime = min((target.lifetime for target in targets), default=2)
        else:
            node.lifetime = _LIFETIME[provider.scope]
        # Singletons are read from the store; everything else is built on the spot.
        node.asynchronous = own_async or any(
            target.asynchronous
            for target in targets
            if target.provider.scope is not Scope.SINGLETON
        )
        if provider.scope is Scope.SINGLETON:
            node.lifespan_bound = own_async or any(
                target.lifespan_bound
                or (target.provider.scope is Scope.TRANSIENT and target.asynchronous)
                for target in targets
            )
        elif provider.scope is Scope.TRANSIENT:
            node.lifespan_bound = any(target.lifespan_bound for target in targets)
        for dependency, target in node.edges:
            if target is not None and target.lifetime < node.lifetime:
                problems.append(_scope_error(node, dependency, target))
    return problems


def _scope_error(node: Node, dependency: Dependency, target: Node) -> ScopeMismatchError:
    consumer = node.provider
    what = f"{consumer.scope.value.capitalize()} {consumer.label}"
    if target.provider.scope is Scope.REQUEST:
        why = f"request-scoped {target.provider.label}"
    else:
        why = f"transient {target.provider.label}, which needs a request-scoped object"
    return ScopeMismatchError(
        f"{what} cannot depend on {why} ({dependency.describe(consumer)}): it outlives the "
        f"request and would keep the first request's object. Make {consumer.label} "
        'request-scoped (scope="request"), or take the object as an Inject[...] parameter of '
        "the route method instead."
    )

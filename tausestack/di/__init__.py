"""Dependency injection: components marked by decorators, wired by type hints.

``create_app()`` builds one :class:`Container` per application from the components discovery
found; nothing is registered globally. See ``docs/di.md``.
"""

from __future__ import annotations

from ._container import Container
from ._graph import Graph, Node
from ._keys import DependencyKey, Qualifier, Scope
from ._markers import ComponentSpec, Repository, Service, component_spec, provider
from ._override import Override
from ._providers import CallStyle, Dependency, Provider, ProviderKind, provider_for
from ._scope import RequestScope

__all__ = [
    "CallStyle",
    "ComponentSpec",
    "Container",
    "Dependency",
    "DependencyKey",
    "Graph",
    "Node",
    "Override",
    "Provider",
    "ProviderKind",
    "Qualifier",
    "Repository",
    "RequestScope",
    "Scope",
    "Service",
    "component_spec",
    "provider",
    "provider_for",
]

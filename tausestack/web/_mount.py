"""Mounting controllers and plain routers on the application, in installed-apps order.

Controller routes are added to the application's own router (an included ``APIRouter`` costs an
extra routing step per request). Each route keeps a :class:`RouteBinding`; when the container's
singletons change (startup, shutdown, a test override) the binding points the route at the
current controller instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from .._naming import describe_callable, snake_case
from ..di._container import Container
from ..di._keys import DependencyKey, InjectTarget, Scope
from ..di._providers import Provider
from ..errors import (
    ContainerValidationError,
    DependencyError,
    OperationIdConflictError,
    RouteError,
)
from ._auth import document_auth
from ._checks import check_routes, describe_handler
from ._controller import ControllerOptions, controller_routes
from ._endpoints import MethodShape, method_shape, placeholder, uses_wrapper, wrapper
from ._json_body import refuse_lone_surrogates
from ._middleware import settle_sync_endpoints
from ._openapi import document_request_errors
from ._routes import RouteSpec


@dataclass
class AppRoutes:
    """The controllers and plain routers one installed app contributes."""

    label: str
    controllers: list[Provider] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)


@dataclass(eq=False)
class RouteBinding:
    """One controller route and how to produce its endpoint from the container."""

    provider: Provider
    attribute: str
    shape: MethodShape
    spec: RouteSpec
    route: APIRoute | APIWebSocketRoute | None = None

    def endpoint(self, container: Container) -> Callable[..., Any]:
        """The endpoint for the container's current state (bound method, wrapper, placeholder)."""
        node = container.graph.nodes[self.provider]
        injected = {name: container.node_for(key) for name, key in self.shape.injected.items()}
        waiting = [
            target
            for target in (node, *injected.values())
            if target.provider.scope is Scope.SINGLETON
            and target.lifespan_bound
            and container.instance_of(target.provider) is None
        ]
        if waiting:
            return placeholder(self.shape, self.provider, waiting[0])
        if self.provider.scope is Scope.SINGLETON and not uses_wrapper(self.shape, Scope.SINGLETON):
            bound: Callable[..., Any] = getattr(container.singleton(node), self.attribute)
            return bound
        return wrapper(self.shape, container, node, injected)

    def refresh(self, container: Container) -> None:
        """Point the mounted route at the current endpoint."""
        if self.route is None:
            return
        endpoint = self.endpoint(container)
        # FastAPI reads the signature once; the handler calls dependant.call per request.
        self.route.endpoint = endpoint
        self.route.dependant.call = endpoint


@dataclass
class RoutePlan:
    """Every controller route, read once from the classes before the container exists."""

    apps: Sequence[AppRoutes]
    controllers: list[tuple[AppRoutes, list[tuple[RouteBinding, dict[str, Any]]]]]

    def injected_types(self) -> set[Any]:
        """The types asked for with ``Inject[...]`` in controllers and plain routers."""
        wanted = {
            key.type
            for _, routes in self.controllers
            for binding, _ in routes
            for key in binding.shape.injected.values()
        }
        for entry in self.apps:
            for router in entry.routers:
                for context in iter_route_contexts(router.routes):
                    dependant = getattr(context, "dependant", None)
                    if dependant is not None:
                        wanted.update(key.type for _, key in _injected_keys(dependant))
        return wanted


def plan_routes(apps: Sequence[AppRoutes]) -> RoutePlan:
    """Read every controller's route methods (signatures, options) once."""
    controllers = [
        (entry, _plan_controller(provider)) for entry in apps for provider in entry.controllers
    ]
    return RoutePlan(apps, controllers)


def mount(
    app: FastAPI, container: Container, plan: RoutePlan, *, settle_sync: bool = False
) -> list[RouteBinding]:
    """Add every controller route and plain router to ``app``; check the finished table.

    Every ``Inject[...]`` — in controller methods and in plain routes and their dependencies —
    is matched to a provider here, so a missing one fails at startup, not at the first request.
    With ``settle_sync``, sync endpoints run the request scope's endpoint hooks as they return
    (see :func:`settle_sync_endpoints`).
    """
    apps, planned = plan.apps, plan.controllers
    for _, routes in planned:
        for binding, _ in routes:
            for name, key in binding.shape.injected.items():
                where = f"parameter '{name}' of route method {binding.shape.label}"
                container.graph.require(key, where)
    taken = _router_operation_ids(apps)
    _assign_operation_ids(planned, taken)
    bindings: list[RouteBinding] = []
    for entry in apps:
        for owner, routes in planned:
            if owner is not entry:
                continue
            for binding, options in routes:
                _add(app, binding, options, container)
                bindings.append(binding)
        for router in entry.routers:
            refuse_lone_surrogates(router)
            app.include_router(router)

    def refresh_all() -> None:
        for binding in bindings:
            binding.refresh(container)
        if settle_sync:
            settle_sync_endpoints(app)

    container.add_listener(refresh_all)
    if settle_sync:
        settle_sync_endpoints(app)
    check_routes(app)
    check_injections(app, container)
    check_websocket_parameters(app)
    document_auth(app)
    document_request_errors(app)
    return bindings


def _plan_controller(provider: Provider) -> list[tuple[RouteBinding, dict[str, Any]]]:
    cls = provider.factory
    controller: ControllerOptions = provider.spec.extra["controller"]
    planned = []
    for attribute, function, spec in controller_routes(cls):
        label = f"{provider.label}.{attribute}"
        shape = method_shape(function, label, spec)
        binding = RouteBinding(provider, attribute, shape, spec)
        planned.append((binding, _merge_options(controller, spec)))
    return planned


def check_injections(app: FastAPI, container: Container) -> None:
    """Match every ``Inject[...]`` in the app's routes and their dependencies to a provider."""
    problems: list[DependencyError] = []
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is None:
            continue
        handler = describe_handler(context.endpoint, context.path)
        for name, key in _injected_keys(dependant):
            try:
                container.graph.require(key, f"parameter '{name}' of {handler}")
            except DependencyError as exc:
                problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ContainerValidationError(problems)


def check_websocket_parameters(app: FastAPI) -> None:
    """Fail at startup, not at every handshake, when a websocket or one of its dependencies
    asks for a ``Request``: a websocket has none (FastAPI would call it without one)."""
    problems = []
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        if not isinstance(context.original_route, APIWebSocketRoute) or dependant is None:
            continue
        for call, name in _request_parameters(dependant):
            problems.append(
                f"The websocket {context.path} ({describe_handler(context.endpoint)}) uses "
                f"{describe_callable(call)}, whose parameter '{name}' is a Request."
            )
    if problems:
        raise RouteError(
            "\n".join(problems)
            + "\nA websocket has no Request: type the parameter HTTPConnection (requests and "
            "websockets alike) or WebSocket."
        )


def _request_parameters(dependant: Dependant) -> Iterator[tuple[Any, str]]:
    if dependant.request_param_name is not None:
        yield dependant.call, dependant.request_param_name
    for sub_dependant in dependant.dependencies:
        yield from _request_parameters(sub_dependant)


def _injected_keys(dependant: Dependant) -> Iterator[tuple[str, DependencyKey]]:
    for sub_dependant in dependant.dependencies:
        call: object = sub_dependant.call
        if isinstance(call, InjectTarget):
            yield sub_dependant.name or "?", call.key
        yield from _injected_keys(sub_dependant)


def _merge_options(controller: ControllerOptions, spec: RouteSpec) -> dict[str, Any]:
    options = dict(spec.options)
    options["path"] = (controller.prefix + spec.path) or "/"
    dependencies = [*controller.dependencies, *(options.get("dependencies") or ())]
    if dependencies:
        options["dependencies"] = dependencies
    if spec.is_websocket:
        return options
    options["tags"] = [*controller.tags, *(options.get("tags") or ())]
    options["responses"] = {**controller.responses, **(options.get("responses") or {})}
    if options.get("deprecated") is None and controller.deprecated is not None:
        options["deprecated"] = controller.deprecated
    options["include_in_schema"] = controller.include_in_schema and options.get(
        "include_in_schema", True
    )
    return options


def _router_operation_ids(apps: Sequence[AppRoutes]) -> set[str]:
    taken = set()
    for entry in apps:
        for router in entry.routers:
            for context in iter_route_contexts(router.routes):
                route = context.original_route
                if isinstance(route, APIRoute):
                    taken.add(route.operation_id or route.unique_id)
    return taken


def _assign_operation_ids(
    planned: list[tuple[AppRoutes, list[tuple[RouteBinding, dict[str, Any]]]]], taken: set[str]
) -> None:
    """Keep explicit ids; generate readable unique ones (``user_read``) for the rest.

    The route name defaults to the id; the summary, which FastAPI would make from that name
    (``User Read``), is made from the method's name instead (``Read``), as FastAPI makes a
    function's."""
    explicit: dict[str, str] = {}
    for _, routes in planned:
        for binding, options in routes:
            operation_id = options.get("operation_id")
            if operation_id is None or binding.spec.is_websocket:
                continue
            if operation_id in explicit or operation_id in taken:
                first = explicit.get(operation_id, "a route of a plain APIRouter")
                raise OperationIdConflictError(
                    f"The OpenAPI operation id {operation_id!r} is given to both {first} and "
                    f"{binding.shape.label}; pass a different operation_id= to one of them."
                )
            explicit[operation_id] = binding.shape.label
    used = taken | set(explicit)
    for entry, routes in planned:
        seen_methods: set[str] = set()
        for binding, options in routes:
            if binding.spec.is_websocket:
                options.setdefault("name", _base_id(binding))
                continue
            if options.get("summary") is None:
                name = options.get("name") or binding.attribute
                options["summary"] = name.replace("_", " ").title()  # FastAPI's rule
            if options.get("operation_id") is None:
                base = _base_id(binding)
                if binding.attribute in seen_methods:
                    base = f"{base}_{binding.spec.method.lower()}"
                options["operation_id"] = _unique(base, entry.label, used)
                used.add(options["operation_id"])
            seen_methods.add(binding.attribute)
            options.setdefault("name", options["operation_id"])


def _base_id(binding: RouteBinding) -> str:
    controller = snake_case(binding.provider.factory.__name__.removesuffix("Controller"))
    return f"{controller}_{binding.attribute}" if controller else binding.attribute


def _unique(base: str, app_label: str, used: set[str]) -> str:
    if base not in used:
        return base
    qualified = f"{app_label}_{base}"
    if qualified not in used:
        return qualified
    counter = 2
    while f"{qualified}_{counter}" in used:
        counter += 1
    return f"{qualified}_{counter}"


def _add(
    app: FastAPI, binding: RouteBinding, options: dict[str, Any], container: Container
) -> None:
    endpoint = binding.endpoint(container)
    path = options.pop("path")
    if binding.spec.is_websocket:
        app.router.add_api_websocket_route(path, endpoint, **options)
    else:
        app.router.add_api_route(path, endpoint, methods=[binding.spec.method], **options)
    route = app.router.routes[-1]
    assert isinstance(route, APIRoute | APIWebSocketRoute)
    binding.route = route

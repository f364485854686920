"""Controllers, route decorators and ``Inject[T]`` on FastAPI; see ``docs/controllers.md``."""

from __future__ import annotations

from ._controller import Controller, ControllerOptions, controller_routes
from ._inject import Inject
from ._middleware import RequestScopeMiddleware
from ._routes import (
    RouteOptions,
    RouteSpec,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    websocket,
)

__all__ = [
    "Controller",
    "ControllerOptions",
    "Inject",
    "RequestScopeMiddleware",
    "RouteOptions",
    "RouteSpec",
    "controller_routes",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "websocket",
]

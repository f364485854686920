"""Controllers, route decorators and ``Inject[T]`` on FastAPI; see ``docs/controllers.md``.

Names are imported on first use (PEP 562): the settings import ``web.middleware.settings``, and
reading settings (``tausestack new-app``, ``generate``) must not import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
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

_MODULES = {
    "._controller": ("Controller", "ControllerOptions", "controller_routes"),
    "._inject": ("Inject",),
    "._middleware": ("RequestScopeMiddleware",),
    "._routes": (
        "RouteOptions",
        "RouteSpec",
        "delete",
        "get",
        "head",
        "options",
        "patch",
        "post",
        "put",
        "websocket",
    ),
}

# Hidden from type checkers, which read the imports above (and would take a typo for Any).
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(__name__, _MODULES)

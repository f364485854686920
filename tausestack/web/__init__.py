"""Controllers, route decorators and ``Inject[T]`` on FastAPI; see ``docs/controllers.md``.

Names are imported on first use (PEP 562): the settings import ``web.middleware.settings``, and
reading settings (``tausestack new-app``, ``generate``) must not import FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
_LOCATIONS = {name: module for module, names in _MODULES.items() for name in names}


# Hidden from type checkers, which would otherwise accept any name (a typo) as Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name not in _LOCATIONS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(_LOCATIONS[name], __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

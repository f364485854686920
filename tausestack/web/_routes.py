"""Route decorators for controller methods: ``@get``, ``@post`` … ``@websocket``.

They only attach a :class:`RouteSpec` to the function; the controller is mounted by
``create_app()``. Every keyword FastAPI's ``add_api_route`` accepts is accepted here, and an
unknown keyword fails at import time with a suggestion.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypedDict, TypeVar, Unpack

from fastapi import APIRouter, params
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import BaseRoute

from .._naming import describe_callable, did_you_mean
from ..errors import ControllerDefinitionError
from ._auth import AUTH_KEYWORDS, auth_dependencies

__all__ = [
    "RouteOptions",
    "RouteSpec",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "route_specs",
    "websocket",
]

F = TypeVar("F", bound=Callable[..., Any])
ROUTES_ATTRIBUTE = "__tausestack_routes__"

#: Keywords FastAPI accepts for an HTTP route, read from the installed FastAPI.
HTTP_ROUTE_KEYWORDS = (
    frozenset(inspect.signature(APIRouter.add_api_route).parameters)
    - {
        "self",
        "path",
        "endpoint",
        "methods",
    }
    | AUTH_KEYWORDS
)
WEBSOCKET_ROUTE_KEYWORDS = frozenset({"name", "dependencies"}) | AUTH_KEYWORDS


class RouteOptions(TypedDict, total=False):
    """The keyword arguments of FastAPI's ``add_api_route``, all optional."""

    response_model: Any
    status_code: int | None
    tags: list[str | Enum] | None
    dependencies: Sequence[params.Depends] | None
    summary: str | None
    description: str | None
    response_description: str
    responses: dict[int | str, dict[str, Any]] | None
    deprecated: bool | None
    operation_id: str | None
    response_model_include: Any
    response_model_exclude: Any
    response_model_by_alias: bool
    response_model_exclude_unset: bool
    response_model_exclude_defaults: bool
    response_model_exclude_none: bool
    include_in_schema: bool
    response_class: type[Response]
    name: str | None
    route_class_override: type[APIRoute] | None
    callbacks: list[BaseRoute] | None
    openapi_extra: dict[str, Any] | None
    generate_unique_id_function: Callable[[APIRoute], str]
    strict_content_type: bool
    max_body_size: int | None
    #: TauseStack's: a valid bearer token is needed (401 otherwise); see docs/auth.md.
    auth_required: bool
    #: TauseStack's: the user needs every one of these roles (403 otherwise); implies auth.
    roles: Sequence[str]


@dataclass(frozen=True)
class RouteSpec:
    """One route declared on a controller method."""

    method: str  # an HTTP method, or "WEBSOCKET"
    path: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_websocket(self) -> bool:
        """Whether this is a websocket route."""
        return self.method == "WEBSOCKET"


def route_specs(function: Any) -> list[RouteSpec]:
    """Return the routes declared on ``function``, top decorator first."""
    return list(reversed(getattr(function, ROUTES_ATTRIBUTE, ())))


def _declare(method: str, path: str, options: dict[str, Any]) -> Callable[[F], F]:
    allowed = WEBSOCKET_ROUTE_KEYWORDS if method == "WEBSOCKET" else HTTP_ROUTE_KEYWORDS
    decorator_name = method.lower()

    def mark(function: F) -> F:
        owner = describe_callable(function) if callable(function) else repr(function)
        if not inspect.isfunction(function):
            raise ControllerDefinitionError(
                f"@{decorator_name} decorates methods of a controller class; {owner} is not a "
                "function. Put @staticmethod/@classmethod-free methods under the decorator."
            )
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise ControllerDefinitionError(
                f"@{decorator_name}({path!r}) on {owner}: a route path must start with '/' "
                "(or be empty to use the controller prefix alone)."
            )
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ControllerDefinitionError(
                f"@{decorator_name}(...) on {owner} got unknown keyword argument(s) "
                f"{', '.join(unknown)}.{did_you_mean(unknown[0], allowed)}"
            )
        declared = dict(options)
        if AUTH_KEYWORDS & set(declared):
            guards = auth_dependencies(
                declared.pop("auth_required", False), declared.pop("roles", None), owner
            )
            declared["dependencies"] = [*guards, *(declared.get("dependencies") or ())]
        specs = [*getattr(function, ROUTES_ATTRIBUTE, ()), RouteSpec(method, path, declared)]
        setattr(function, ROUTES_ATTRIBUTE, tuple(specs))
        return function

    return mark


def get(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``GET`` route on a controller method (FastAPI's keywords accepted)."""
    return _declare("GET", path, dict(options))


def post(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``POST`` route on a controller method."""
    return _declare("POST", path, dict(options))


def put(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``PUT`` route on a controller method."""
    return _declare("PUT", path, dict(options))


def patch(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``PATCH`` route on a controller method."""
    return _declare("PATCH", path, dict(options))


def delete(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``DELETE`` route on a controller method."""
    return _declare("DELETE", path, dict(options))


def head(path: str = "", /, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare a ``HEAD`` route on a controller method."""
    return _declare("HEAD", path, dict(options))


def options(path: str = "", /, **route_options: Unpack[RouteOptions]) -> Callable[[F], F]:
    """Declare an ``OPTIONS`` route on a controller method."""
    return _declare("OPTIONS", path, dict(route_options))


def websocket(
    path: str = "",
    /,
    *,
    name: str | None = None,
    dependencies: Sequence[params.Depends] | None = None,
    auth_required: bool = False,
    roles: Sequence[str] | None = None,
) -> Callable[[F], F]:
    """Declare a websocket route on a controller method; request-scoped objects live as long
    as the connection. ``auth_required`` and ``roles`` are checked at the handshake, as for
    HTTP routes (a refusal is a 403 denial response; docs/auth.md)."""
    declared: dict[str, Any] = {}
    if name is not None:
        declared["name"] = name
    if dependencies is not None:
        declared["dependencies"] = dependencies
    if auth_required is not False:  # validated with roles, as for HTTP routes
        declared["auth_required"] = auth_required
    if roles is not None:
        declared["roles"] = roles
    return _declare("WEBSOCKET", path, declared)

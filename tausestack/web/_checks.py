"""Startup checks over the finished route table: one handler per method and path, unique ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, RouteContext, iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from .._naming import describe_callable
from ..errors import OperationIdConflictError, RouteConflictError

_PARAMETER = re.compile(r"\{[^}:]+(:[^}]+)?\}")


def normalized_path(path: str) -> str:
    """``/users/{user_id}`` and ``/users/{id}`` match the same requests: both give ``/users/{}``."""
    return _PARAMETER.sub(lambda match: "{" + (match.group(1) or "") + "}", path)


def describe_handler(endpoint: Any, path: str | None = None) -> str:
    """Name the function behind a route, as used in conflict messages."""
    function = getattr(endpoint, "__func__", endpoint)
    module = getattr(function, "__module__", "") or ""
    if module.startswith("fastapi.") and path is not None:
        return f"FastAPI's built-in page {path} (see the app.docs_url/openapi_url settings)"
    return describe_callable(function)


def iter_endpoints(app: FastAPI) -> Iterator[tuple[str, str, RouteContext]]:
    """Yield ``(method, path, route)`` for every HTTP method and websocket the app serves."""
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if isinstance(route, Mount):
            continue
        path = context.path_format or context.path
        if path is None:
            continue
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            yield "WEBSOCKET", path, context
            continue
        for method in sorted(context.methods or ()):
            yield method, path, context


def check_routes(app: FastAPI) -> None:
    """Fail when two handlers answer the same method and path, or share an operation id."""
    handlers: dict[tuple[str, str], tuple[str, Any]] = {}
    conflicts: list[str] = []
    for method, path, context in iter_endpoints(app):
        key = (method, normalized_path(path))
        handler = describe_handler(context.endpoint, path)
        if key in handlers:
            first_path, first = handlers[key]
            as_path = f" (as {first_path})" if first_path != path else ""
            conflicts.append(f"{method} {path} is handled by both {first}{as_path} and {handler}.")
            continue
        handlers[key] = (path, handler)
    if conflicts:
        raise RouteConflictError(
            "Two routes answer the same request:\n"
            + "\n".join(f"  - {conflict}" for conflict in conflicts)
            + "\nChange the path or the method of one of them, or remove one."
        )
    _check_operation_ids(app)


def _check_operation_ids(app: FastAPI) -> None:
    owners: dict[str, str] = {}
    for context in iter_route_contexts(app.router.routes):
        if not getattr(context, "include_in_schema", False):
            continue
        operation_id = getattr(context, "operation_id", None) or getattr(context, "unique_id", None)
        if operation_id is None:
            continue
        handler = describe_handler(context.endpoint, context.path)
        if operation_id in owners and owners[operation_id] != handler:
            raise OperationIdConflictError(
                f"The OpenAPI operation id {operation_id!r} is used by both "
                f"{owners[operation_id]} and {handler}; client generators need unique ids. "
                "Pass a different operation_id= to one of the routes."
            )
        owners[operation_id] = handler

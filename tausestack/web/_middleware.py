"""Pure ASGI middleware that closes each request's scope once the response has been sent."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..di._container import Container
from ..di._scope import (
    ASGI_SCOPE_KEY,
    CLOSED_KEY,
    REQUEST_TASK_KEY,
    RequestScope,
    current_request,
)

RECORDING_MARK = "__tausestack_records_exceptions__"
SETTLING_MARK = "__tausestack_runs_endpoint_hooks__"


class RequestScopeMiddleware:
    """Release request-scoped objects at the end of each request or websocket connection.

    The scope itself is opened lazily by whatever first needs a request-scoped object, so a
    request that uses none costs one dictionary lookup here. Generator providers see the
    request's exception at cleanup, whether it escaped the app or was turned into a response
    by an exception handler (see :func:`recording_handler`).
    """

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_after_hooks(message: Message) -> None:
            # Hooks (database commits) run before the first byte, so their failure is a 500.
            if message["type"] == "http.response.start":
                request_scope: RequestScope | None = scope.get(ASGI_SCOPE_KEY)
                if request_scope is not None and request_scope.has_response_hooks:
                    await request_scope.run_response_hooks()
            await send(message)

        scope[REQUEST_TASK_KEY] = asyncio.current_task()
        token = current_request.set((self.container, scope))  # type: ignore[arg-type]
        try:
            await self.app(scope, receive, send_after_hooks)
        except BaseException as exc:
            request_scope = scope.get(ASGI_SCOPE_KEY)
            if request_scope is not None:
                request_scope.record_exception(exc)
            raise
        finally:
            current_request.reset(token)
            scope[CLOSED_KEY] = True  # tasks that outlive the request get no scope from it
            request_scope = scope.pop(ASGI_SCOPE_KEY, None)
            if request_scope is not None:
                await request_scope.aclose()


def recording_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an exception handler so the request scope learns that the request failed.

    The wrapper is always async; a sync handler still runs in the thread pool, as Starlette
    would run it.
    """
    if getattr(handler, RECORDING_MARK, False):
        return handler
    handler_is_async = _is_async_callable(handler)

    async def record_and_handle(connection: HTTPConnection, exc: BaseException) -> Any:
        request_scope: RequestScope | None = connection.scope.get(ASGI_SCOPE_KEY)
        if request_scope is not None:
            request_scope.record_exception(exc)
        if handler_is_async:
            return await handler(connection, exc)
        return await run_in_threadpool(handler, connection, exc)

    setattr(record_and_handle, RECORDING_MARK, True)
    return record_and_handle


def settling_endpoint(call: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync endpoint so the request scope's endpoint hooks run in its thread as it
    returns (see :meth:`RequestScope.after_sync_endpoint`); async endpoints are returned as
    they are."""
    if getattr(call, SETTLING_MARK, False) or _is_async_callable(inspect.unwrap(call)):
        return call

    @functools.wraps(call)
    def endpoint(*args: Any, **kwargs: Any) -> Any:
        try:
            result = call(*args, **kwargs)
        except BaseException:
            _run_endpoint_hooks(succeeded=False)
            raise
        _run_endpoint_hooks(succeeded=True)
        return result

    setattr(endpoint, SETTLING_MARK, True)
    return endpoint


def settle_sync_endpoints(app: Any) -> None:
    """Wrap every sync HTTP endpoint of ``app`` (included routers' too) with
    :func:`settling_endpoint`; safe to call again for routes added later."""
    from fastapi.routing import APIRoute, iter_route_contexts

    for context in iter_route_contexts(app.router.routes):
        dependant: Any = getattr(context, "dependant", None)
        call = getattr(dependant, "call", None)
        if isinstance(context.original_route, APIRoute) and call is not None:
            dependant.call = settling_endpoint(call)


def _run_endpoint_hooks(*, succeeded: bool) -> None:
    current = current_request.get()
    if current is None:
        return
    request_scope: RequestScope | None = current[1].get(ASGI_SCOPE_KEY)
    if request_scope is not None:
        request_scope.run_endpoint_hooks(succeeded)


def _is_async_callable(target: Any) -> bool:
    while isinstance(target, functools.partial):
        target = target.func
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an object with an async __call__
    )

"""Pure ASGI middleware that closes each request's scope once the response has been sent."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..di._container import Container
from ..di._scope import ASGI_SCOPE_KEY, RequestScope, current_request

RECORDING_MARK = "__tausestack_records_exceptions__"


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


def _is_async_callable(target: Any) -> bool:
    while isinstance(target, functools.partial):
        target = target.func
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an object with an async __call__
    )

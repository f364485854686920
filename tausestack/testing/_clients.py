"""Test apps and the async test client (imported on first use by ``tausestack.testing``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import anyio
import httpx2
from fastapi import APIRouter
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from ..app import TauseStackApp, create_app
from ..settings import Settings

__all__ = ["TEST_PROFILE", "AsyncTestClient", "TestClient", "create_test_app", "with_test_profile"]

TEST_PROFILE = "test"


def with_test_profile(setting_values: dict[str, Any]) -> dict[str, Any]:
    """``setting_values`` with the profile set to ``test`` unless given or in the environment."""
    if "profile" not in setting_values and "TAUSESTACK_PROFILE" not in os.environ:
        return {**setting_values, "profile": TEST_PROFILE}
    return setting_values


def create_test_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    components: Sequence[Any] = (),
    routers: Sequence[APIRouter] = (),
    **setting_values: Any,
) -> TauseStackApp:
    """Build an app for a test, with its own container.

    ``setting_values`` become keyword arguments of :class:`~tausestack.Settings` (the highest
    priority source); the profile defaults to ``test`` unless given or set in
    ``TAUSESTACK_PROFILE``. ``overrides`` replace providers by type, as in ``create_app``.
    """
    if settings is None:
        settings = Settings(**with_test_profile(setting_values))
    elif setting_values:
        raise TypeError(
            "Pass either a Settings object or setting values as keyword arguments, not both."
        )
    return create_app(settings, overrides=overrides, components=components, routers=routers)


class AsyncTestClient(httpx2.AsyncClient):
    """An async HTTP client that runs the app's lifespan while it is open.

    ``async with AsyncTestClient(app) as client`` starts the application (container start
    hooks, the user's lifespan), sends requests in-process, and shuts it down on exit. State
    yielded by a lifespan reaches ``request.state`` as it does under a server.
    """

    def __init__(self, app: Any, base_url: str = "http://testserver", **kwargs: Any) -> None:
        self._app = app
        self._lifespan_state: dict[str, Any] = {}
        self._stack = AsyncExitStack()
        transport = httpx2.ASGITransport(app=self._with_state)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    async def _with_state(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "state": dict(self._lifespan_state)}
        await self._app(scope, receive, send)

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        try:
            await self._stack.enter_async_context(_Lifespan(self._app, self._lifespan_state))
        except BaseException:
            await super().__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            await self._stack.aclose()
        finally:
            await super().__aexit__(exc_type, exc, traceback)


class _Lifespan:
    """Drive an ASGI app's lifespan protocol: startup on enter, shutdown on exit."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._send_to_app, self._app_receives = anyio.create_memory_object_stream[Message](2)
        self._app_sends, self._receive_from_app = anyio.create_memory_object_stream[Message](2)
        self._task_group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> None:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._run)
        await self._send_to_app.send({"type": "lifespan.startup"})
        await self._expect("lifespan.startup")

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._task_group is not None
        try:
            await self._send_to_app.send({"type": "lifespan.shutdown"})
            await self._expect("lifespan.shutdown")
        finally:
            await self._task_group.__aexit__(None, None, None)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self._state}
        try:
            await self._app(scope, self._app_receives.receive, self._app_sends.send)
        except BaseException as exc:
            await self._app_sends.send({"type": "tausestack.crashed", "error": exc})

    async def _expect(self, phase: str) -> None:
        message = await self._receive_from_app.receive()
        if message["type"] == f"{phase}.complete":
            return
        if message["type"] == f"{phase}.failed":
            # Starlette reports the failure, then re-raises; prefer the original exception.
            with anyio.move_on_after(1):
                message = await self._receive_from_app.receive()
        if message["type"] == "tausestack.crashed":
            raise message["error"]
        raise RuntimeError(f"Application {phase} failed: {message.get('message', message)}")

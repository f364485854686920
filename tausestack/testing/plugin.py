"""pytest fixtures for TauseStack projects, registered through the ``pytest11`` entry point.

Override ``tausestack_settings`` or ``tausestack_overrides`` in a ``conftest.py`` to shape the
app every test gets::

    @pytest.fixture
    def tausestack_settings() -> dict[str, object]:
        return {"installed_apps": ["apps.users"]}

    @pytest.fixture
    def tausestack_overrides() -> dict[object, object]:
        return {UserRepository: InMemoryUserRepository()}

    def test_read(tausestack_client: TestClient) -> None:
        assert tausestack_client.get("/users/1").status_code == 200

Each test gets a fresh app and container, so tests never share state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ..app import TauseStackApp
from . import AsyncTestClient, TestClient, create_test_app


@pytest.fixture
def tausestack_settings() -> dict[str, Any]:
    """Setting values (keyword arguments of Settings) for the test app; empty by default."""
    return {}


@pytest.fixture
def tausestack_overrides() -> dict[Any, Any]:
    """Provider overrides for the test app, keyed by type; empty by default."""
    return {}


@pytest.fixture
def tausestack_app(
    tausestack_settings: dict[str, Any], tausestack_overrides: dict[Any, Any]
) -> TauseStackApp:
    """A fresh app built from the project's settings (profile ``test``) and the overrides."""
    return create_test_app(overrides=tausestack_overrides, **tausestack_settings)


@pytest.fixture
def tausestack_client(tausestack_app: TauseStackApp) -> Iterator[TestClient]:
    """A started test client: the lifespan runs for the duration of the test."""
    with TestClient(tausestack_app) as client:
        yield client


@pytest.fixture
async def tausestack_async_client(
    tausestack_app: TauseStackApp, anyio_backend: Any
) -> AsyncIterator[AsyncTestClient]:
    """An async, started test client (use in tests marked ``@pytest.mark.anyio``)."""
    async with AsyncTestClient(tausestack_app) as client:
        yield client

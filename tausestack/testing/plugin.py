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

Each test gets a fresh app and container, so tests never share state. A test that uses
``tausestack_database`` (directly, or through an autouse fixture in ``conftest.py``) gets that
app on a temporary database with the installed apps' tables, inside a transaction rolled back
at the end of the test; see :class:`tausestack.testing.TestDatabase`.

pytest loads this module in every project where TauseStack is installed, so it imports nothing
heavy: each fixture imports FastAPI, SQLAlchemy and the rest when a test first uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..app import TauseStackApp
    from ._clients import AsyncTestClient, TestClient
    from ._database import TestDatabase
    from ._temporary import TemporaryDatabases

DATABASE_FIXTURE = "tausestack_database"


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
    request: pytest.FixtureRequest,
    tausestack_settings: dict[str, Any],
    tausestack_overrides: dict[Any, Any],
) -> TauseStackApp:
    """A fresh app built from the project's settings (profile ``test``) and the overrides; on
    the test database when the test uses ``tausestack_database``."""
    if DATABASE_FIXTURE in request.fixturenames:
        database: TestDatabase = request.getfixturevalue(DATABASE_FIXTURE)
        return database.create_app(overrides=tausestack_overrides, **tausestack_settings)
    from ._clients import create_test_app

    return create_test_app(overrides=tausestack_overrides, **tausestack_settings)


@pytest.fixture
def tausestack_client(tausestack_app: TauseStackApp) -> Iterator[TestClient]:
    """A started test client: the lifespan runs for the duration of the test."""
    from ._clients import TestClient

    with TestClient(tausestack_app) as client:
        yield client


@pytest.fixture
async def tausestack_async_client(
    tausestack_app: TauseStackApp, anyio_backend: Any
) -> AsyncIterator[AsyncTestClient]:
    """An async, started test client (use in tests marked ``@pytest.mark.anyio``)."""
    from ._clients import AsyncTestClient

    async with AsyncTestClient(tausestack_app) as client:
        yield client


@pytest.fixture(scope="session")
def tausestack_database_url() -> str | None:
    """Where test databases are made; ``None`` (the default): next to each app's
    ``database.url``. Override it (any scope) to name a PostgreSQL server, ``sqlite://`` for
    in-memory SQLite, or ``sqlite:///any.db`` for a temporary file."""
    return None


@pytest.fixture(scope="session")
def _tausestack_temporary_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TemporaryDatabases]:
    """The session's temporary databases, made on first use and dropped at the end."""
    from ._temporary import TemporaryDatabases

    databases = TemporaryDatabases(tmp_path_factory.mktemp("tausestack-databases"))
    yield databases
    databases.close()


@pytest.fixture
def tausestack_database(
    tausestack_database_url: str | None,
    _tausestack_temporary_databases: TemporaryDatabases,
) -> Iterator[TestDatabase]:
    """The test database: apps made through it (``tausestack_app`` among them) run on a
    temporary database with their tables, and everything they write is rolled back at the
    end of the test."""
    from ._database import TestDatabase

    database = TestDatabase(_tausestack_temporary_databases, tausestack_database_url)
    yield database
    database.close()

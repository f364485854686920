"""The database contract suite runs every test against SQLite, a real PostgreSQL server and a
real MariaDB server."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from tausestack import Settings, TauseStackApp, create_app
from tausestack.sdk.database import Database
from tests.contract.models import TABLES, HeroRepository, PowerRepository, SquadRepository

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("postgres-asyncpg", id="postgres-asyncpg", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mysql),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings of a fresh, empty database: a SQLite file, or a new database on the test
    PostgreSQL server (async sessions through psycopg, or through asyncpg), or on the test
    MariaDB server (sync sessions through PyMySQL, async ones through aiomysql)."""
    if request.param == "sqlite":
        return {"url": f"sqlite:///{tmp_path / 'contract.db'}"}
    if request.param == "mariadb":
        return {"url": request.getfixturevalue("mariadb_url")}
    url: str = request.getfixturevalue("postgres_url")
    if request.param == "postgres-asyncpg":
        return {"url": url, "async_url": request.getfixturevalue("postgres_async_url")}
    return {"url": url}


def build(
    database: dict[str, Any] | str, tmp_path: Path, *components: Any, **app_options: Any
) -> TauseStackApp:
    """An app on ``database`` with the contract repositories and ``components``, tables made."""
    options = {"url": database} if isinstance(database, str) else database
    settings = Settings(config_dir=tmp_path, database=options)
    app = create_app(
        settings,
        components=[HeroRepository, SquadRepository, PowerRepository, *components],
        **app_options,
    )
    SQLModel.metadata.create_all(app.container.get(Database).engine, tables=TABLES)
    return app


@pytest.fixture
def app(
    database_url: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[TauseStackApp]:
    if "anyio_backend" in request.fixturenames:  # set up first, so it ends after this one
        closing: list[Database] = request.getfixturevalue("_async_engines_closed")
    application = build(database_url, tmp_path)
    if "anyio_backend" in request.fixturenames:
        closing.append(application.container.get(Database))
    yield application
    application.container.get(Database).engine.dispose()


@pytest.fixture
async def _async_engines_closed() -> AsyncIterator[list[Database]]:
    """Databases whose async engine to dispose in the test's event loop, while it runs: their
    pooled connections belong to it (aiomysql's cannot close once it has ended)."""
    databases: list[Database] = []
    yield databases
    for database in databases:
        await database.stop()

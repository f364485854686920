"""The database contract suite runs every test against SQLite and a real PostgreSQL server."""

from collections.abc import Iterator
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
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings of a fresh, empty database: a SQLite file, or a new database on the test
    PostgreSQL server (async sessions through psycopg, or through asyncpg)."""
    if request.param == "sqlite":
        return {"url": f"sqlite:///{tmp_path / 'contract.db'}"}
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
def app(database_url: dict[str, str], tmp_path: Path) -> Iterator[TauseStackApp]:
    application = build(database_url, tmp_path)
    yield application
    application.container.get(Database).engine.dispose()

"""The real-service helpers: the skip-or-fail rule, PostgresServer and the PostgreSQL fixtures."""

import os
import socket
import stat
from pathlib import Path

import pytest

from tests.processes import free_port, port_closed
from tests.services import (
    REQUIRE_REAL_SERVICES,
    PostgresServer,
    postgres_bin_dirs,
    require_binary,
    require_module,
)

MISSING = "tausestack-no-such-server"
HINT = "apt-get install -y tausestack-no-such-server"


# The rule: skip outside CI, fail when REQUIRE_REAL_SERVICES=1.


@pytest.mark.parametrize("value", [None, "", "0", "yes"])
def test_a_missing_binary_skips_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(REQUIRE_REAL_SERVICES, raising=False)
    else:
        monkeypatch.setenv(REQUIRE_REAL_SERVICES, value)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} not found.*; {HINT}$"):
        require_binary(MISSING, HINT)


def test_a_missing_binary_fails_when_real_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_REAL_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING} not found.*; {HINT}") as failure:
        require_binary(MISSING, HINT)
    assert not failure.value.pytrace
    assert f"{REQUIRE_REAL_SERVICES}=1" in failure.value.msg


def test_a_missing_module_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_REAL_SERVICES, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_driver is not installed.*; pip it"):
        require_module("no_such_driver", "pip it")
    monkeypatch.setenv(REQUIRE_REAL_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match="no_such_driver is not installed.*; pip it"):
        require_module("no_such_driver", "pip it")
    assert require_module("socket", "stdlib") is socket


def test_binaries_are_looked_up_in_the_given_folders_first(tmp_path: Path) -> None:
    shadow = tmp_path / "sh"
    shadow.write_text("#!/bin/sh\n")
    shadow.chmod(shadow.stat().st_mode | stat.S_IXUSR)
    assert require_binary("sh", HINT, [tmp_path / "nothing", tmp_path]) == str(shadow)
    found = require_binary("sh", HINT, [tmp_path / "nothing"])
    assert Path(found).name == "sh"
    assert os.access(found, os.X_OK)


def test_postgres_binaries_come_from_the_highest_version_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ["9.6", "15", "13", "16"]:
        (tmp_path / version / "bin").mkdir(parents=True)
    monkeypatch.setattr("tests.services.POSTGRES_BIN_GLOB", f"{tmp_path}/*/bin")
    assert [folder.parent.name for folder in postgres_bin_dirs()] == ["16", "15", "13", "9.6"]


# A PostgresServer of our own: loopback, a free port, nothing left behind.


@pytest.mark.postgres
def test_a_server_listens_on_a_free_loopback_port_and_is_gone_after_stop() -> None:
    server = PostgresServer()
    server.stop()  # not started: nothing to do
    with server:
        port, folder = server.port, server.folder
        assert folder is not None
        assert folder.is_dir()
        assert not port_closed(port)
        with server.connect() as connection:
            row = connection.execute("SELECT inet_server_addr()::text, inet_server_port()")
            assert row.fetchone() == ("127.0.0.1/32", port)
            settings = connection.execute(
                "SELECT current_setting('listen_addresses'), current_setting('fsync')"
            ).fetchone()
            assert settings == ("127.0.0.1", "off")
    assert port_closed(port)
    assert not folder.exists()
    assert server.folder is None


@pytest.mark.postgres
def test_a_server_whose_port_was_taken_starts_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken: int = squatter.getsockname()[1]
        offers = iter([taken])
        monkeypatch.setattr("tests.services.free_port", lambda: next(offers, 0) or free_port())
        with PostgresServer() as server:
            assert server.port != taken
            assert "already in use" in server.log_file.read_text()
            with server.connect() as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
        assert port_closed(server.port)


@pytest.mark.postgres
def test_databases_are_created_and_dropped_even_while_in_use(
    postgres_server: PostgresServer,
) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    assert first != second
    assert {first, second} <= postgres_server.databases()
    lingering = postgres_server.connect(first)
    try:
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)
    finally:
        lingering.close()
    assert not {first, second} & postgres_server.databases()
    postgres_server.drop_database(first)  # already gone: no error


# The fixtures, used the way tests of the framework will use them.


@pytest.mark.postgres
def test_psycopg_round_trip(postgres_server: PostgresServer, postgres_database: str) -> None:
    with postgres_server.connect(postgres_database) as connection:
        connection.execute("CREATE TABLE book (id serial PRIMARY KEY, title text NOT NULL)")
        connection.execute("INSERT INTO book (title) VALUES (%s), (%s)", ["Dune", "Emma"])
        rows = connection.execute("SELECT id, title FROM book ORDER BY id").fetchall()
    assert rows == [(1, "Dune"), (2, "Emma")]


@pytest.mark.postgres
def test_sqlalchemy_sync_round_trip(postgres_url: str) -> None:
    sqlalchemy = require_module("sqlalchemy", "pip install sqlalchemy")
    metadata = sqlalchemy.MetaData()
    book = sqlalchemy.Table(
        "book",
        metadata,
        sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
        sqlalchemy.Column("title", sqlalchemy.String(200), nullable=False),
    )
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(book.insert(), [{"title": "Dune"}, {"title": "Emma"}])
        with engine.connect() as connection:
            titles = connection.scalars(sqlalchemy.select(book.c.title).order_by(book.c.id)).all()
            assert titles == ["Dune", "Emma"]
            assert connection.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.anyio
@pytest.mark.parametrize("fixture", ["postgres_url", "postgres_async_url"])
async def test_sqlalchemy_async_round_trip(request: pytest.FixtureRequest, fixture: str) -> None:
    sqlalchemy = require_module("sqlalchemy", "pip install sqlalchemy")
    require_module("greenlet", "pip install 'sqlalchemy[asyncio]'")
    asyncio_ext = require_module("sqlalchemy.ext.asyncio", "pip install 'sqlalchemy[asyncio]'")
    url: str = request.getfixturevalue(fixture)
    engine = asyncio_ext.create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sqlalchemy.text("CREATE TABLE note (body text)"))
            await connection.execute(
                sqlalchemy.text("INSERT INTO note VALUES (:body)"), [{"body": "a"}, {"body": "b"}]
            )
        async with engine.connect() as connection:
            result = await connection.execute(sqlalchemy.text("SELECT body FROM note ORDER BY 1"))
            assert result.scalars().all() == ["a", "b"]
            assert connection.dialect.driver == url.split("+")[1].split(":")[0]
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_both_urls_point_at_the_same_database(
    postgres_database: str, postgres_url: str, postgres_async_url: str
) -> None:
    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert postgres_async_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert postgres_url.split("://")[1] == postgres_async_url.split("://")[1]
    assert postgres_url.endswith(f"/{postgres_database}")


seen_databases: list[str] = []


@pytest.mark.postgres
@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_its_own_fresh_database(
    postgres_server: PostgresServer, postgres_database: str, run: int
) -> None:
    with postgres_server.connect(postgres_database) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == (postgres_database,)
        # Fails if an earlier test's table were here.
        connection.execute("CREATE TABLE only_once (x int)")
    assert postgres_database not in seen_databases
    # The databases of earlier tests were dropped when they ended.
    assert not set(seen_databases) & postgres_server.databases()
    seen_databases.append(postgres_database)

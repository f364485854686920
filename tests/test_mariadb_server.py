"""The throwaway MariaDB of tests/servers.py: loopback, a user with a password, nothing left."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.processes import port_closed
from tests.servers import MariaDBServer

pytestmark = pytest.mark.mysql


def test_a_server_listens_on_loopback_and_is_gone_after_stop() -> None:
    server = MariaDBServer()
    server.stop()  # not started: nothing to do
    with server:
        port, folder = server.port, server.folder
        assert folder is not None
        assert not port_closed(port)
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@bind_address, @@port, @@character_set_server")
            assert cursor.fetchone() == ("127.0.0.1", port, "utf8mb4")
    assert port_closed(port)
    assert not folder.exists()
    assert server.folder is None


def test_urls_log_in_with_a_password_that_needs_encoding(
    mariadb_server: MariaDBServer, mariadb_database: str
) -> None:
    url = mariadb_server.url(mariadb_database)
    assert mariadb_server.password not in url
    assert ":maria%2Fs3cret%40pw%3A1@" in url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            user = connection.execute(text("SELECT CURRENT_USER(), DATABASE()")).one()
            assert tuple(user) == (f"{mariadb_server.user}@%", mariadb_database)
    finally:
        engine.dispose()
    with pytest.raises(Exception, match="Access denied"):
        create_engine(url.replace("%40", "")).connect()


@pytest.mark.anyio
async def test_the_async_url_reaches_the_same_database(
    mariadb_database: str, mariadb_async_url: str
) -> None:
    engine = create_async_engine(mariadb_async_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT DATABASE()"))).scalar() == (
                mariadb_database
            )
    finally:
        await engine.dispose()


def test_databases_are_created_and_dropped_even_while_in_use(
    mariadb_server: MariaDBServer,
) -> None:
    first, second = mariadb_server.create_database(), mariadb_server.create_database()
    assert {first, second} <= mariadb_server.databases()
    engine = create_engine(mariadb_server.url(first))
    lingering = engine.connect()
    try:  # a transaction left open holds a lock the drop would wait for
        lingering.execute(text("CREATE TABLE book (id INT PRIMARY KEY)"))
        lingering.execute(text("INSERT INTO book VALUES (1)"))
        mariadb_server.drop_database(first)
    finally:
        lingering.invalidate()
        engine.dispose()
    mariadb_server.drop_database(second)
    assert not {first, second} & mariadb_server.databases()
    mariadb_server.drop_database(first)  # already gone: no error

"""Test databases on MariaDB: the user's rights, and what a killed test session leaves.

As ``test_postgres.py`` does for PostgreSQL: each ``TemporaryDatabases`` here plays a test
session, a subprocess plays one that is killed.
"""

import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tausestack.testing import TestDatabaseError
from tests.servers import MariaDBServer
from tests.services import wait_for
from tests.testing.test_postgres import KILLED_SESSION, database_of, session

pytestmark = pytest.mark.mysql


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A project folder named ``shop`` (no installed apps: the tables do not matter here)."""
    folder = tmp_path / "shop"
    folder.mkdir()
    return folder


def marked_alive(server: MariaDBServer, name: str) -> bool:
    """Whether a session holds the named lock that marks the database ``name`` alive."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT IS_USED_LOCK(%s)", (name,))
        row = cursor.fetchone()
    return row is not None and row[0] is not None


def test_databases_are_named_after_the_project_and_dropped_at_the_end(
    shop: Path, tmp_path: Path, mariadb_server: MariaDBServer
) -> None:
    databases = session(tmp_path / "session")
    name = database_of(databases, shop, mariadb_server.async_url("shop"))  # need not exist
    assert name.startswith("tausestack_test_shop_")
    assert marked_alive(mariadb_server, name)
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME = %s",
            (name,),
        )
        assert cursor.fetchone() == ("utf8mb4",)
    databases.close()
    assert name not in mariadb_server.databases()
    assert not marked_alive(mariadb_server, name)


@pytest.fixture
def powerless(mariadb_server: MariaDBServer) -> Iterator[str]:
    """A MariaDB user that may log in from 127.0.0.1 (password ``hunter2``), and nothing more:
    an account for one host, so a GRANT to the bare name (``'%'``) would find no such user."""
    name = f"tester_{uuid.uuid4().hex[:8]}"
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY 'hunter2'", (name,))
    yield name
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP USER %s@'127.0.0.1'", (name,))


def test_a_user_who_may_not_create_databases_is_told_how_to_fix_it(
    shop: Path, tmp_path: Path, mariadb_server: MariaDBServer, powerless: str
) -> None:
    databases = session(tmp_path / "session")
    server = f"mysql://{powerless}:hunter2@127.0.0.1:{mariadb_server.port}/shop"
    with pytest.raises(TestDatabaseError, match="may not create databases") as caught:
        database_of(databases, shop, server)
    message = str(caught.value)
    grant = re.search(r"\(GRANT (.*?)\)", message)
    assert grant is not None, message
    assert grant[1] == f"ALL ON `tausestack\\_test\\_%`.* TO '{powerless}'@'127.0.0.1'"
    assert "tausestack_database_url fixture" in message
    assert "hunter2" not in message
    databases.close()
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"GRANT {grant[1]}")  # the statement exactly as the message gives it
    granted = session(tmp_path / "granted")  # as the message says, and it works
    name = database_of(granted, shop, server)
    assert name in mariadb_server.databases()
    granted.close()
    assert name not in mariadb_server.databases()


def test_a_killed_session_s_database_is_dropped_by_the_next_session_not_a_live_one(
    shop: Path, tmp_path: Path, mariadb_server: MariaDBServer
) -> None:
    server = mariadb_server.url("shop")
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_SESSION, str(shop), str(tmp_path), server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert killed.stdout is not None
    stale = killed.stdout.readline().strip()
    assert stale.startswith("tausestack_test_shop_")

    running = session(tmp_path / "running")  # another session, at the same time
    alive = database_of(running, shop, server)
    assert {stale, alive} <= mariadb_server.databases()  # it left the other session's alone

    killed.send_signal(signal.SIGTERM)  # no teardown runs: the database stays
    killed.wait()
    assert marked_alive(mariadb_server, alive)
    assert wait_for(lambda: not marked_alive(mariadb_server, stale), timeout=60)
    assert stale in mariadb_server.databases()

    following = session(tmp_path / "following")
    made = database_of(following, shop, server)
    left = mariadb_server.databases()
    assert stale not in left
    assert {alive, made} <= left  # its own, and the running session's
    running.close()
    following.close()
    assert not {alive, made} & mariadb_server.databases()


def test_nothing_else_is_ever_dropped(
    shop: Path, tmp_path: Path, mariadb_server: MariaDBServer
) -> None:
    others = [
        "tausestack_test_shop_notours",  # not the pattern's random part
        "tausestack_test_shop_0123abcd_x",
        "tausestack_test_shopping_0123abcd",  # another project's
        "test_shop_0123abcd",
        "shop",
    ]
    for name in others:
        mariadb_server.create_database(name)
    in_use = "tausestack_test_shop_89abcdef"  # ours, unlocked, but someone is connected to it
    mariadb_server.create_database(in_use)
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"USE `{in_use}`")
        databases = session(tmp_path / "session")
        database_of(databases, shop, mariadb_server.url("shop"))
        databases.close()
    assert {*others, in_use} <= mariadb_server.databases()
    for name in [*others, in_use]:
        mariadb_server.drop_database(name)

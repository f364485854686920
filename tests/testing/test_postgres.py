"""Test databases on PostgreSQL: the user's rights, and what a killed test session leaves.

``TemporaryDatabases`` is what the ``tausestack_database`` fixture keeps for a test session;
each one here plays a session (a subprocess plays one that is killed).
"""

import signal
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tausestack import Settings
from tausestack.testing import TestDatabaseError, _postgres, _temporary
from tausestack.testing._temporary import TemporaryDatabases
from tests.services import PostgresServer, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A project folder named ``shop`` (no installed apps: the tables do not matter here)."""
    folder = tmp_path / "shop"
    folder.mkdir()
    return folder


def session(folder: Path) -> TemporaryDatabases:
    """The temporary databases of a new test session."""
    folder.mkdir()
    return TemporaryDatabases(folder)


def database_of(databases: TemporaryDatabases, project: Path, server: str) -> str:
    """The name of the session's test database for ``project`` on ``server`` (made on first use)."""
    made = databases.get(Settings(profile="test", config_dir=project), server)
    assert made.url.database is not None
    return made.url.database


@pytest.fixture
def role(postgres_server: PostgresServer) -> Iterator[str]:
    """A PostgreSQL user that may log in, and nothing more."""
    name = f"tester_{uuid.uuid4().hex[:8]}"
    with postgres_server.connect() as connection:
        connection.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    with postgres_server.connect() as connection:
        connection.execute(f'DROP ROLE "{name}"')


def test_a_user_who_may_not_create_databases_is_told_how_to_fix_it_once(
    shop: Path,
    tmp_path: Path,
    postgres_server: PostgresServer,
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[str] = []
    real = _temporary.make_database

    def counted(*args: Any) -> Any:
        attempts.append("CREATE DATABASE")
        return real(*args)

    monkeypatch.setattr(_temporary, "make_database", counted)
    databases = session(tmp_path / "session")
    server = f"postgresql://{role}:hunter2@{postgres_server.host}:{postgres_server.port}/shop"
    for _ in range(3):  # three tests of one session
        with pytest.raises(TestDatabaseError, match="may not create databases") as caught:
            database_of(databases, shop, server)
        message = str(caught.value)
        assert f"ALTER USER {role} CREATEDB" in message  # its name needs no quotes
        assert "tausestack_database_url fixture" in message
        assert "hunter2" not in message
        shown = "".join(traceback.format_exception(caught.value))
        assert "During handling" not in shown  # one error, not the driver's under it
        assert server.replace("hunter2", "***") in message  # the URL as written
    assert attempts == ["CREATE DATABASE"]
    databases.close()


def test_test_databases_are_named_after_the_project(
    shop: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    databases = session(tmp_path / "session")
    name = database_of(databases, shop, postgres_server.url("postgres"))
    assert name.startswith("tausestack_test_shop_")
    databases.close()
    assert name not in postgres_server.databases()


KILLED_SESSION = """
import sys
from pathlib import Path

from tausestack import Settings
from tausestack.testing._temporary import TemporaryDatabases

project, folder, server = sys.argv[1:]
databases = TemporaryDatabases(Path(folder))
made = databases.get(Settings(profile="test", config_dir=Path(project)), server)
print(made.url.database, flush=True)
sys.stdin.read()  # a test that runs until the session is killed
"""


def marked_alive(postgres_server: PostgresServer, name: str) -> bool:
    """Whether a session holds the advisory lock that marks the database ``name`` alive."""
    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
        "AND classid = %s AND objid = %s"
    )
    key = _postgres.lock_key(name) % 2**32  # pg_locks shows the int4 key as an oid
    with postgres_server.connect() as connection:
        row = connection.execute(query, (_postgres.LOCK_CLASS, key)).fetchone()
    assert row is not None
    return int(row[0]) > 0


def test_a_killed_session_s_database_is_dropped_by_the_next_session_not_a_live_one(
    shop: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    server = postgres_server.url("shop")
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
    assert {stale, alive} <= postgres_server.databases()  # it left the other session's alone

    killed.send_signal(signal.SIGTERM)  # no teardown runs: the database stays
    killed.wait()
    assert marked_alive(postgres_server, alive)
    # The server notices the killed session's connection is gone.
    assert wait_for(lambda: not marked_alive(postgres_server, stale), timeout=60)
    assert stale in postgres_server.databases()

    following = session(tmp_path / "following")
    made = database_of(following, shop, server)
    left = postgres_server.databases()
    assert stale not in left
    assert {alive, made} <= left  # its own, and the running session's
    running.close()
    following.close()
    assert not {alive, made} & postgres_server.databases()


def test_nothing_else_is_ever_dropped(
    shop: Path, tmp_path: Path, postgres_server: PostgresServer, role: str
) -> None:
    others = [
        "tausestack_test_shop_notours",  # not the pattern's random part
        "tausestack_test_shop_0123abcd_x",
        "tausestack_test_shopping_0123abcd",  # another project's
        "test_shop_0123abcd",  # an older TauseStack's, or anyone's
        "shop",
    ]
    for name in others:
        postgres_server.create_database(name)
    someone_elses = "tausestack_test_shop_0123abcd"  # the pattern, but another user's
    with postgres_server.connect() as connection:
        connection.execute(f'CREATE DATABASE "{someone_elses}" OWNER "{role}"')
    in_use = "tausestack_test_shop_89abcdef"  # ours, unlocked, but someone is connected to it
    postgres_server.create_database(in_use)
    with postgres_server.connect(in_use):
        databases = session(tmp_path / "session")
        database_of(databases, shop, postgres_server.url("shop"))
        databases.close()
    assert {*others, someone_elses, in_use} <= postgres_server.databases()
    for name in [*others, someone_elses, in_use]:
        postgres_server.drop_database(name)


@pytest.fixture
def walled_role(postgres_server: PostgresServer) -> Iterator[tuple[str, list[str]]]:
    """A user who may create databases, with two databases of its own, but may not connect to
    ``postgres`` (as on a shared server): its sessions keep their locks in their URL's database."""
    name = f"walled_{uuid.uuid4().hex[:8]}"
    databases = [f"{name}_app1", f"{name}_app2"]
    with postgres_server.connect() as connection:
        connection.execute(f'CREATE ROLE "{name}" LOGIN CREATEDB')
        for database in databases:
            connection.execute(f'CREATE DATABASE "{database}" OWNER "{name}"')
        connection.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
    try:
        yield name, databases
    finally:
        with postgres_server.connect() as connection:
            connection.execute("GRANT CONNECT ON DATABASE postgres TO PUBLIC")
            owned = connection.execute(  # its own, and any test database a failure left
                "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s", (name,)
            ).fetchall()
            for (database,) in owned:
                connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            connection.execute(f'DROP ROLE "{name}"')


def test_a_live_session_s_database_is_kept_whatever_database_its_lock_is_taken_in(
    shop: Path, tmp_path: Path, postgres_server: PostgresServer, walled_role: tuple[str, list[str]]
) -> None:
    user, (app1, app2) = walled_role
    address = f"postgresql://{user}@{postgres_server.host}:{postgres_server.port}"
    first = session(tmp_path / "first")
    alive = database_of(first, shop, f"{address}/{app1}")  # its lock is in app1
    assert marked_alive(postgres_server, alive)
    second = session(tmp_path / "second")  # at the same time, its lock in app2
    made = database_of(second, shop, f"{address}/{app2}")
    assert {alive, made} <= postgres_server.databases()  # it left the live session's alone
    first.close()
    second.close()
    assert not {alive, made} & postgres_server.databases()


def test_a_name_whose_lock_is_held_in_another_database_is_not_taken(
    shop: Path,
    tmp_path: Path,
    postgres_server: PostgresServer,
    walled_role: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, (app1, app2) = walled_role
    taken, free = "tausestack_test_shop_0123abcd", "tausestack_test_shop_89abcdef"
    suffixes = iter([taken[-8:], free[-8:]])
    monkeypatch.setattr(_postgres.secrets, "token_hex", lambda _: next(suffixes))
    with postgres_server.connect(app2) as other:  # another session's keeper, in app2
        other.execute(
            "SELECT pg_advisory_lock(%s, %s)", (_postgres.LOCK_CLASS, _postgres.lock_key(taken))
        )
        databases = session(tmp_path / "session")
        address = f"postgresql://{user}@{postgres_server.host}:{postgres_server.port}"
        assert database_of(databases, shop, f"{address}/{app1}") == free
        assert marked_alive(postgres_server, taken)  # the other session still holds it
        databases.close()
    assert not {taken, free} & postgres_server.databases()

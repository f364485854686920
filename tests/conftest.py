"""Fixtures shared by the whole suite: a scratch project folder, a clean environment, PostgreSQL.

PostgreSQL (see ``tests/services.py``): ``postgres_server`` starts one throwaway server for the
session; ``postgres_database``, ``postgres_url`` and ``postgres_async_url`` give each test a fresh
database on it, dropped afterwards. Without the server binaries these tests skip, saying how to
install them; with ``REQUIRE_REAL_SERVICES=1`` (CI) they fail instead. Every test that uses one of
these fixtures is marked ``postgres`` automatically (``pytest_collection_modifyitems`` below), so
``pytest -m "not postgres"`` leaves them out; a test that starts its own ``PostgresServer`` should
carry ``@pytest.mark.postgres`` itself.

MariaDB (see ``tests/servers.py``) follows the same rule: ``mariadb_server`` starts one server
for the session; ``mariadb_url`` (PyMySQL) and ``mariadb_async_url`` (aiomysql) give each test a
fresh database on it, dropped afterwards. Tests using them are marked ``mysql``.

Redis, moto and SeaweedFS (see ``tests/servers.py``) follow the same rule: ``redis_server``,
``moto_server`` and ``seaweed_server`` start one each per session; ``redis_url`` gives a test an
emptied Redis, ``moto_bucket`` and ``seaweed_bucket`` a new empty bucket. Tests using them are
marked ``redis`` or ``s3``. ``smtp_server`` is one aiosmtpd server for the session (STARTTLS and
a login) and ``smtp_inbox`` the same server emptied for a test; tests using them are marked
``smtp``.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

from tausestack import Settings, TauseStackApp, create_app
from tests.servers import MariaDBServer, MotoServer, RedisServer, SeaweedServer, SmtpServer
from tests.services import PSYCOPG_INSTALL_HINT, PostgresServer, require_module

pytest_plugins = ["pytester", "tests.firebase_fixtures", "tests.docs.plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TAUSESTACK_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("TAUSESTACK_"):
            monkeypatch.delenv(name)


class Project:
    """A throwaway project folder on sys.path and as the working directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str = "") -> Path:
        """Write a file (dedented), creating packages (with __init__.py) along the way."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            folder = path.parent
            while folder != self.root:
                (folder / "__init__.py").touch(exist_ok=True)
                folder = folder.parent
        path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
        importlib.invalidate_caches()
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A scratch project: files written here import as top-level modules during the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield Project(tmp_path)
    forget_modules_under(tmp_path)


def forget_modules_under(folder: Path) -> None:
    """Drop from ``sys.modules`` every module imported from ``folder``."""
    for name, module in list(sys.modules.items()):
        location = f"{getattr(module, '__file__', '')} {getattr(module, '__path__', '')}"
        if str(folder) in location:
            del sys.modules[name]


AppFactory = Callable[..., TauseStackApp]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build an app from components, reading settings from an empty scratch folder."""

    def factory(
        *components: Any,
        overrides: dict[Any, Any] | None = None,
        routers: Sequence[APIRouter] = (),
        **setting_values: Any,
    ) -> TauseStackApp:
        settings = Settings(config_dir=tmp_path, **setting_values)
        return create_app(settings, components=components, overrides=overrides, routers=routers)

    return factory


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a real server's fixture (directly or not) with its mark.

    ``tryfirst`` so that the mark is there before ``-m`` deselects.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_server" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if "mariadb_server" in fixtures:
            item.add_marker(pytest.mark.mysql)
        if "redis_server" in fixtures:
            item.add_marker(pytest.mark.redis)
        if {"moto_server", "ses_server", "seaweed_server"}.intersection(fixtures):
            item.add_marker(pytest.mark.s3)
        if "firebase_emulator" in fixtures:
            item.add_marker(pytest.mark.firebase)
        if "smtp_server" in fixtures:
            item.add_marker(pytest.mark.smtp)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session, on a free port of 127.0.0.1.

    Skips (fails with ``REQUIRE_REAL_SERVICES=1``) when the server binaries or psycopg are missing.
    """
    require_module("psycopg", PSYCOPG_INSTALL_HINT)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The name of a fresh, empty database for this test; dropped (even if in use) afterwards."""
    name = postgres_server.create_database()
    yield name
    postgres_server.drop_database(name)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_database: str) -> str:
    """``postgresql+psycopg://`` URL of this test's database (``create_engine`` and async)."""
    return postgres_server.url(postgres_database)


@pytest.fixture
def postgres_async_url(postgres_server: PostgresServer, postgres_database: str) -> str:
    """``postgresql+asyncpg://`` URL of this test's database, the same one as ``postgres_url``."""
    return postgres_server.async_url(postgres_database)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """One throwaway MariaDB server for the whole session, on a free port of 127.0.0.1.

    Skips (fails with ``REQUIRE_REAL_SERVICES=1``) when ``mariadbd`` or PyMySQL is missing.
    """
    with MariaDBServer() as server:
        yield server


@pytest.fixture
def mariadb_database(mariadb_server: MariaDBServer) -> Iterator[str]:
    """The name of a fresh, empty database for this test; dropped afterwards."""
    name = mariadb_server.create_database()
    yield name
    mariadb_server.drop_database(name)


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer, mariadb_database: str) -> str:
    """``mysql+pymysql://`` URL of this test's database, with a user and a password."""
    return mariadb_server.url(mariadb_database)


@pytest.fixture
def mariadb_async_url(mariadb_server: MariaDBServer, mariadb_database: str) -> str:
    """``mysql+aiomysql://`` URL of this test's database, the same one as ``mariadb_url``."""
    return mariadb_server.async_url(mariadb_database)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis server for the session, on a free port of 127.0.0.1, without persistence."""
    require_module("redis", "install redis-py: `pip install -e '.[redis]'`")
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of database 0 of the session's Redis, emptied before the test."""
    redis_server.flush()
    return redis_server.url()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of the test's own, for tests that stop or restart it."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server for the session (S3, SES, Secrets Manager), on a free loopback port."""
    require_module("boto3", "install boto3: `pip install -e '.[aws]'`")
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def ses_server() -> Iterator[MotoServer]:
    """A moto server of its own for SES: its ``/moto-api/data.json`` (where the tests read the
    mail back) answers 500 once the shared server has seen an S3 multipart upload."""
    require_module("boto3", "install boto3: `pip install -e '.[aws]'`")
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[SeaweedServer]:
    """One SeaweedFS server for the session, its S3 gateway on a free loopback port."""
    require_module("boto3", "install boto3: `pip install -e '.[aws]'`")
    with SeaweedServer() as server:
        yield server


def _new_bucket(server: MotoServer | SeaweedServer) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    server.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
    return name


@pytest.fixture
def moto_bucket(moto_server: MotoServer) -> str:
    """A new, empty bucket on the session's moto server."""
    return _new_bucket(moto_server)


@pytest.fixture
def seaweed_bucket(seaweed_server: SeaweedServer) -> str:
    """A new, empty bucket on the session's SeaweedFS server."""
    return _new_bucket(seaweed_server)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """One aiosmtpd server for the session: STARTTLS with a self-signed certificate (its
    ``certificate`` is the authority to trust) and a required login."""
    require_module("aiosmtpd", "install aiosmtpd: `pip install -e '.[dev]'`")
    with SmtpServer(security="starttls", login=True) as server:
        yield server


@pytest.fixture
def smtp_inbox(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server with no message received yet."""
    smtp_server.messages.clear()
    return smtp_server

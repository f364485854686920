"""Real services for tests: find their binaries, start them on free ports, stop them cleanly.

The rule for a missing server
    Tests that need a real server start it themselves when its binary is on the machine. When it
    is not, the test is *skipped* with a reason that says how to install it. CI sets
    ``REQUIRE_REAL_SERVICES=1`` (see ``.ci/run``): then the same reason *fails* the test, so a CI
    machine that lost a server cannot go green by skipping. :func:`unavailable` is the rule;
    :func:`require_binary` and :func:`require_module` apply it to executables and Python packages
    (the PostgreSQL drivers are optional dependencies, so a missing driver counts as well).

PostgreSQL
    :class:`PostgresServer` runs a throwaway cluster in a temporary folder, on a free port of
    127.0.0.1, with trust authentication for the ``postgres`` user and ``fsync=off``::

        with PostgresServer() as server:
            name = server.create_database()
            engine = sqlalchemy.create_engine(server.url(name))

    The fixtures in ``tests/conftest.py`` wrap it: ``postgres_server`` (one per session),
    ``postgres_database``, ``postgres_url`` and ``postgres_async_url`` (a fresh database per test).

    PostgreSQL refuses to run as root. As root, ``initdb`` and ``pg_ctl`` run through
    ``runuser -u postgres --`` in a folder under ``/tmp`` owned by ``postgres`` (that user cannot
    enter ``/root``). The server daemonizes and PID 1 may not reap it, so a stop is confirmed by the
    port closing, not by the process disappearing.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self

import pytest

from tests.processes import free_port, port_closed

if TYPE_CHECKING:
    import psycopg

REQUIRE_REAL_SERVICES = "REQUIRE_REAL_SERVICES"
"""Set to ``1`` (CI does) to turn a missing server or driver into a failure instead of a skip."""

POSTGRES_INSTALL_HINT = (
    "install PostgreSQL: `apt-get install -y postgresql` on Debian/Ubuntu "
    "(.ci/run does this), `brew install postgresql` on macOS"
)
PSYCOPG_INSTALL_HINT = "install the PostgreSQL drivers: `pip install -e '.[postgres]'`"

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
"""Where Debian and Ubuntu put the server binaries (not on PATH), one folder per major version."""

Driver = Literal["psycopg", "asyncpg"]


def real_services_required() -> bool:
    """Whether this run must use real services (``REQUIRE_REAL_SERVICES=1``)."""
    return os.environ.get(REQUIRE_REAL_SERVICES, "") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the current test because of ``reason``, or fail it when real services are required."""
    if real_services_required():
        note = f"{REQUIRE_REAL_SERVICES}=1: failing instead of skipping"
        pytest.fail(f"{reason} ({note})", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, install_hint: str, search_dirs: Iterable[Path | str] = ()) -> str:
    """The path of executable ``name``, looked up in ``search_dirs`` first, then on PATH.

    When it is nowhere, the test skips (or fails, see :func:`unavailable`) with a reason that
    names the binary and ends with ``install_hint``.
    """
    folders = [Path(folder) for folder in search_dirs]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is not None:
        return found
    places = ", ".join([*(str(folder) for folder in folders), "PATH"])
    unavailable(f"{name} not found (looked in {places}); {install_hint}")


def require_module(name: str, install_hint: str) -> ModuleType:
    """Import and return module ``name``; skip (or fail) with ``install_hint`` when missing."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        unavailable(f"Python module {name} is not installed ({error}); {install_hint}")


def _version_key(folder: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> ``(15,)``; ``.../9.6/bin`` -> ``(9, 6)``."""
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name))


def postgres_bin_dirs() -> list[Path]:
    """Folders matching ``/usr/lib/postgresql/*/bin``, highest version first."""
    root = Path(POSTGRES_BIN_GLOB).parent.parent
    found = [folder for folder in root.glob("*/bin") if folder.is_dir()] if root.is_dir() else []
    return sorted(found, key=_version_key, reverse=True)


def require_postgres_binaries() -> tuple[str, str]:
    """Paths of ``initdb`` and ``pg_ctl`` from the same installation (highest version first)."""
    # With no installation there, the glob itself is "searched" so that the reason names it.
    folders = postgres_bin_dirs() or [Path(POSTGRES_BIN_GLOB)]
    initdb = require_binary("initdb", POSTGRES_INSTALL_HINT, folders)
    pg_ctl = require_binary("pg_ctl", POSTGRES_INSTALL_HINT, [Path(initdb).parent, *folders])
    return initdb, pg_ctl


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition()`` every ``interval`` seconds until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class PostgresServer:
    """A throwaway PostgreSQL cluster on ``127.0.0.1:port``; use it as a context manager.

    :meth:`start` skips (or fails, see :func:`unavailable`) when ``initdb``/``pg_ctl`` are missing,
    initializes a cluster in a new temporary folder and starts it on a free port, waiting until it
    accepts connections. :meth:`stop` stops it (``pg_ctl -m fast``), checks the port closed and
    removes the folder. Anyone may connect as ``postgres`` without a password.
    """

    host = "127.0.0.1"
    user = "postgres"
    start_attempts = 3
    """A free port can be taken between choosing it and binding it; then start on another."""

    def __init__(self) -> None:
        self.port = 0
        self.folder: Path | None = None
        self._pg_ctl = ""
        self._as_postgres: list[str] = []
        self._running = False

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder (``PGDATA``)."""
        return self._folder() / "data"

    @property
    def log_file(self) -> Path:
        """The server's log, written by ``pg_ctl -l``."""
        return self._folder() / "postgres.log"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Initialize a cluster in a new temporary folder and start it on a free loopback port."""
        if self.folder is not None:
            raise RuntimeError("this PostgresServer is already started")
        initdb, self._pg_ctl = require_postgres_binaries()
        owner = self._owner()
        # As root, a folder under /tmp: the postgres user can enter /tmp but not, say, /root.
        self.folder = Path(tempfile.mkdtemp(prefix="tausestack-pg-", dir="/tmp" if owner else None))
        try:
            if owner:
                os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            # --locale=C: the same sorting everywhere, whatever locales the machine has.
            options = ["-U", self.user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
            self._run([initdb, "-D", str(self.data_dir), *options], "initdb")
            self._start_on_a_free_port()
        except BaseException:
            if self._running:
                self.stop()
            self._remove_folder()
            raise
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server, check its port closed and remove its folder; no-op when not started."""
        if self.folder is None:
            return
        atexit.unregister(self.stop)
        if self._running:
            pg_ctl = [self._pg_ctl, "-D", str(self.data_dir), "-w", "-t", "30"]
            stopped = self._run([*pg_ctl, "-m", "fast", "stop"], "pg_ctl stop", check=False)
            if stopped.returncode != 0:
                self._run([*pg_ctl, "-m", "immediate", "stop"], "pg_ctl stop", check=False)
            # The postmaster is not our child and may stay a zombie: watch the port, not the PID.
            if not wait_for(lambda: port_closed(self.port), timeout=10):
                raise RuntimeError(
                    f"PostgreSQL still listens on port {self.port} after pg_ctl stop; "
                    f"its folder {self.folder} is kept:\n{self._log()}"
                )
            self._running = False
        self._remove_folder()

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string for ``database`` (``psycopg.connect``, ``asyncpg.connect``)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def url(self, database: str, driver: Driver = "psycopg") -> str:
        """The SQLAlchemy URL of ``database``.

        ``postgresql+psycopg://`` works with both ``create_engine`` and ``create_async_engine``;
        ``driver="asyncpg"`` gives ``postgresql+asyncpg://`` (async engines only).
        """
        return f"postgresql+{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def async_url(self, database: str) -> str:
        """The asyncpg SQLAlchemy URL of ``database``, for ``create_async_engine``."""
        return self.url(database, driver="asyncpg")

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """A psycopg connection to ``database``, in autocommit mode; close it when done."""
        driver = require_module("psycopg", PSYCOPG_INSTALL_HINT)
        connection: psycopg.Connection[tuple[Any, ...]] = driver.connect(
            self.dsn(database), autocommit=True
        )
        return connection

    def create_database(self, name: str | None = None) -> str:
        """Create database ``name`` (default: a new unique ``test_<hex>``) and return its name."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        self._execute_on_maintenance_db("CREATE DATABASE {}", name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting whoever is still connected."""
        self._execute_on_maintenance_db("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def databases(self) -> set[str]:
        """The names of all databases except the templates."""
        with self.connect() as connection:
            rows = connection.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            return {row[0] for row in rows}

    def _execute_on_maintenance_db(self, statement: str, name: str) -> None:
        sql = require_module("psycopg.sql", PSYCOPG_INSTALL_HINT)
        with self.connect() as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    def _start_on_a_free_port(self) -> None:
        folder = self._folder()
        for _ in range(self.start_attempts):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {shlex.quote(str(folder))} "
                f"-c listen_addresses={self.host} -c fsync=off"
            )
            command = [self._pg_ctl, "-D", str(self.data_dir), "-l", str(self.log_file)]
            started = self._run(
                [*command, "-w", "-t", "30", "-o", options, "start"], "pg_ctl start", check=False
            )
            if started.returncode == 0:
                self._running = True
                # pg_ctl -w waited for "ready"; confirm the TCP listener before handing it out.
                if not wait_for(lambda: not port_closed(self.port), timeout=5):
                    raise RuntimeError(f"PostgreSQL does not listen on {self.port}:\n{self._log()}")
                return
            if "already in use" not in self._log():
                break
        raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{self._log()}")

    def _owner(self) -> pwd.struct_passwd | None:
        """The ``postgres`` user to run the server as when we are root, else None."""
        if os.geteuid() != 0:
            self._as_postgres = []
            return None
        try:
            owner = pwd.getpwnam(self.user)
        except KeyError:
            unavailable(
                f"running as root, and PostgreSQL needs an unprivileged {self.user!r} user to run "
                f"as; {POSTGRES_INSTALL_HINT} (it creates that user)"
            )
        runuser = require_binary("runuser", "install util-linux")
        self._as_postgres = [runuser, "-u", self.user, "--"]
        return owner

    def _run(
        self, command: Sequence[str], what: str, *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool (as ``postgres`` when we are root) from the server's folder."""
        # PG* variables from the developer's shell (PGDATA, PGPORT, ...) must not steer the tools.
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        result = subprocess.run(
            [*self._as_postgres, *command],
            cwd=self._folder(),
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{what} exited with {result.returncode}:\n{result.stdout}")
        return result

    def _log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    def _folder(self) -> Path:
        if self.folder is None:
            raise RuntimeError("this PostgresServer is not started")
        return self.folder

    def _remove_folder(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

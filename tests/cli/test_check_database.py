"""`tausestack check`, `run` and app startup see a database the app cannot work with.

A database behind its revisions, a never-migrated one, tables or columns the models need and
the database lacks, an unreachable server, several heads: `check` fails naming the problem and
the command that fixes it, and an app starting on such a database logs a warning (as Django's
"You have 1 unapplied migration(s)"), then serves anyway. In-process on SQLite (the models are
SQLAlchemy declarative classes with their own metadata, as in test_db.py); the main scenario
runs on PostgreSQL too.
"""

import importlib
import importlib.util
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tausestack import Settings, create_app
from tausestack.testing import TestClient
from tests.cli.conftest import Cli
from tests.cli.test_db import COLOR_COLUMN, TAG_MODEL, revisions, write_model
from tests.processes import free_port, serving

REPOSITORY = '''
"""Tags, stored."""

from tausestack import Repository
from tausestack.sdk.database import BaseRepository

from apps.notes.models.tag import Tag


@Repository
class TagRepository(BaseRepository[Tag]):
    """Uses the database, so the app gets database support (and its check)."""
'''


@pytest.fixture
def demo(bare_demo: Path) -> Path:
    """`init`'s project without the starter's table and migrations: each test brings its own."""
    return bare_demo


@pytest.fixture
def tagged(demo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo project with a Tag model and a repository for it; no migrations yet."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # models are rewritten within a second
    monkeypatch.syspath_prepend(str(demo))  # the app is also built in-process, not by the CLI
    (demo / "apps" / "notes" / "repositories").mkdir()
    (demo / "apps" / "notes" / "repositories" / "__init__.py").write_text("")
    write_model(demo, REPOSITORY, "apps/notes/repositories/tag.py")
    write_model(demo, TAG_MODEL)
    return demo


def check(tausestack: Cli) -> tuple[int, str]:
    result = tausestack("check")
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


def startup_warnings(project: Path, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Start the project's app (and stop it); the warnings its checks logged."""
    caplog.clear()
    app = create_app(Settings(config_dir=project))
    with caplog.at_level(logging.WARNING, logger="tausestack.checks"), TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 200  # it serves anyway
    return [record.getMessage() for record in caplog.records if record.name == "tausestack.checks"]


def revision_id(path: Path) -> str:
    return path.name.split("_")[3]


def test_pending_revisions_fail_check_and_warn_at_startup(
    tagged: Path, tausestack: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    [first] = revisions(tagged)

    code, output = check(tausestack)
    assert code == 1, output
    assert "1 problem(s)" in output
    assert f"You have 1 unapplied migration(s): {revision_id(first)} (create tag)" in output
    assert "is at no revision" in output
    assert "apply them with `tausestack db upgrade`" in output
    [warning] = startup_warnings(tagged, caplog)
    assert f"You have 1 unapplied migration(s): {revision_id(first)} (create tag)" in warning

    assert tausestack("db", "upgrade").exit_code == 0
    code, output = check(tausestack)
    assert (code, output.split(":")[0]) == (0, f"No problems found in {tagged}")
    assert startup_warnings(tagged, caplog) == []

    write_model(tagged, TAG_MODEL + COLOR_COLUMN)  # the model moves ahead of the revisions
    code, output = check(tausestack)
    assert code == 1
    assert "lacks the column(s) tag.color of the installed apps' models" in output
    assert '`tausestack db makemigrations -m "..."`' in output
    assert tausestack("db", "makemigrations", "-m", "add color").exit_code == 0
    second = next(path for path in revisions(tagged) if path != first)
    code, output = check(tausestack)
    assert code == 1
    assert f"You have 1 unapplied migration(s): {revision_id(second)} (add color)" in output
    assert f"is at {revision_id(first)} (create tag)" in output
    assert "tag.color" not in output  # the pending revision explains it
    assert tausestack("db", "upgrade").exit_code == 0
    assert check(tausestack)[0] == 0


def test_without_migrations_the_models_tables_are_compared(
    tagged: Path, tausestack: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    code, output = check(tausestack)
    assert code == 1
    assert "has no table tag for the installed apps' models" in output
    assert "`tausestack db init`" in output
    assert not (tagged / "app.db").exists()  # checking created no database file
    [warning] = startup_warnings(tagged, caplog)
    assert "has no table tag" in warning

    engine = create_engine(f"sqlite:///{tagged / 'app.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tag (id INTEGER PRIMARY KEY, name VARCHAR(50))"))
    assert check(tausestack)[0] == 0
    write_model(tagged, TAG_MODEL + COLOR_COLUMN)
    code, output = check(tausestack)
    assert code == 1
    assert "lacks the column(s) tag.color" in output
    engine.dispose()


def test_a_never_migrated_database_of_contrib_auth_is_named(demo: Path, tausestack: Cli) -> None:
    settings = demo / "application.yaml"
    settings.write_text(
        settings.read_text().replace(
            "  - apps.notes", "  - tausestack.contrib.auth\n  - apps.notes"
        )
        + "auth:\n  backend: jwt\n  jwt:\n    secret: a-test-secret-that-is-32-bytes-long!!\n"
    )
    code, output = check(tausestack)
    assert code == 1, output
    assert "has no table tausestack_auth_account, tausestack_auth_token" in output


def test_an_unreachable_database_is_a_problem_not_a_traceback(
    tagged: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"postgresql://app@127.0.0.1:{port}/x?password=TopSecretQ"
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", url)
    result = tausestack("check")
    assert result.exit_code == 1
    assert "1 problem(s)" in result.stderr
    assert "Cannot check the database schema" in result.stderr
    assert (
        f"Cannot connect to postgresql+psycopg://app@127.0.0.1:{port}/x?password=***"
        in " ".join(result.stderr.split())
    )
    assert "TAUSESTACK_DATABASE__URL" in result.stderr
    assert "Traceback" not in result.output
    assert "TopSecretQ" not in result.output


def test_several_heads_are_named_and_merged(tagged: Path, tausestack: Cli) -> None:
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    [first] = revisions(tagged)
    # A revision made elsewhere from the same parent (none): a second head.
    branch = first.with_name("2020_01_01_b0b0b0b0b0b0_other_branch.py")
    branch.write_text(
        '"""other branch"""\n\nrevision = "b0b0b0b0b0b0"\ndown_revision = None\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    assert tausestack("db", "upgrade", "heads").exit_code == 0
    code, output = check(tausestack)
    assert code == 1
    assert "has 2 heads (" in output
    assert "b0b0b0b0b0b0 (other branch)" in output
    assert f"{revision_id(first)} (create tag)" in output
    assert '`tausestack db makemigrations --merge -m "merge"`' in output

    merged = tausestack("db", "makemigrations", "--merge", "-m", "merge")
    assert merged.exit_code == 0, merged.output
    assert "Created merge revision" in merged.stdout
    code, output = check(tausestack)
    assert code == 1
    assert "You have 1 unapplied migration(s)" in output
    assert "(merge)" in output
    assert tausestack("db", "upgrade").exit_code == 0
    assert check(tausestack)[0] == 0
    refused = tausestack("db", "makemigrations", "--merge", "-m", "again")
    assert refused.exit_code == 2
    assert "There is nothing to merge" in refused.stderr


def test_startup_checks_nothing_when_turned_off_or_unused(
    tagged: Path, tausestack: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tagged / "application.yaml"
    settings.write_text(settings.read_text() + "database:\n  check_on_startup: false\n")
    assert startup_warnings(tagged, caplog) == []
    assert check(tausestack)[0] == 1  # `check` still looks
    (tagged / "apps" / "notes" / "repositories" / "tag.py").unlink()
    write_model(tagged, TAG_MODEL)
    app = create_app(Settings(config_dir=tagged))
    assert app.checks == []  # no module uses the database: nothing to check, no connection
    assert check(tausestack)[0] == 0


def test_run_prints_the_warning_on_its_console(tagged: Path, tausestack: Cli) -> None:
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    port = free_port()
    log = tagged / "run.log"
    command = [sys.executable, "-m", "tausestack", "run", "--no-reload", "--port", str(port)]
    with serving(command, tagged, port, log):
        pass
    output = log.read_text()
    # On uvicorn's console handler, marked as the warning it is, as uvicorn's own lines are.
    assert "WARNING:  You have 1 unapplied migration(s)" in output
    assert "`tausestack db upgrade`" in output
    assert output.index("You have 1 unapplied") < output.index("Application startup complete")


SERVERS = [
    pytest.param("postgres_url", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("mariadb_url", marks=pytest.mark.mysql, id="mariadb"),
]


@pytest.mark.parametrize("server", SERVERS)
def test_pending_revisions_on_a_server(
    tagged: Path,
    tausestack: Cli,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    server: str,
) -> None:
    url: str = request.getfixturevalue(server)
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", url)
    code, output = check(tausestack)
    assert code == 1
    assert "has no table tag" in output
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    code, output = check(tausestack)
    assert code == 1
    assert "You have 1 unapplied migration(s)" in output
    assert url.partition(":")[0] + "://" in output
    assert tausestack("db", "upgrade").exit_code == 0
    assert check(tausestack)[0] == 0
    write_model(tagged, TAG_MODEL + COLOR_COLUMN)
    code, output = check(tausestack)
    assert (code, "lacks the column(s) tag.color" in output) == (1, True)


def test_tables_the_lifespan_creates_are_not_reported_missing(
    tagged: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tag = importlib.import_module("apps.notes.models.tag")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        engine = create_engine(f"sqlite:///{tagged / 'app.db'}")
        tag.Base.metadata.create_all(engine)  # a project that makes its tables as it starts
        engine.dispose()
        yield

    app = create_app(Settings(config_dir=tagged), lifespan=lifespan)
    with caplog.at_level(logging.WARNING, logger="tausestack.checks"), TestClient(app):
        pass
    assert [record.getMessage() for record in caplog.records] == []
    code, output = check(Cli())
    assert code == 0, output


def finishes(work: Callable[[], Any], deadline: float = 120) -> Any:
    """Run ``work`` in a thread; fail if it has not finished by ``deadline`` seconds."""
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(work()), daemon=True)
    thread.start()
    thread.join(deadline)
    assert outcome, f"still running after {deadline} s"
    return outcome[0]


@pytest.mark.parametrize(
    "driver",
    [
        pytest.param("psycopg", marks=pytest.mark.postgres),
        pytest.param("asyncpg", marks=pytest.mark.postgres),
        pytest.param("aiomysql", marks=pytest.mark.mysql),
    ],
)
def test_a_locked_version_table_times_the_check_out(
    tagged: Path,
    tausestack: Cli,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    driver: str,
) -> None:
    mysql = driver == "aiomysql"
    url: str = request.getfixturevalue("mariadb_url" if mysql else "postgres_url")
    scheme = url.partition(":")[0] + "://"
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", url)
    if driver == "asyncpg":  # the check reads through the async driver
        monkeypatch.setenv(
            "TAUSESTACK_DATABASE__ASYNC_URL", request.getfixturevalue("postgres_async_url")
        )
    monkeypatch.setenv("TAUSESTACK_DATABASE__CHECK_TIMEOUT", "1")
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    assert tausestack("db", "upgrade").exit_code == 0
    engine = create_engine(url)
    holder = engine.connect()
    transaction = holder.begin()
    lock = (
        "LOCK TABLES alembic_version WRITE"
        if mysql
        else ("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
    )
    try:  # another session holds the lock a running migration would
        holder.execute(text(lock))
        warnings = finishes(lambda: startup_warnings(tagged, caplog))
        code, output = finishes(lambda: check(tausestack))
    finally:
        transaction.rollback()
        holder.close()
        engine.dispose()
    [warning] = warnings
    assert f"Could not check the schema of the database {scheme}" in warning
    assert "(timed out after 1 s)" in warning
    assert "database.check_timeout" in warning
    assert code == 1
    assert "(timed out after 1 s)" in output
    assert check(tausestack)[0] == 0  # the lock released, the check passes


def test_a_sqlite_file_in_a_missing_folder_is_named_not_unapplied(
    tagged: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tausestack("db", "init").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", "sqlite:///nowhere/app.db")
    code, output = check(tausestack)
    assert code == 1, output
    assert "1 problem(s)" in output
    assert f"the folder {tagged / 'nowhere'} does not exist" in output
    assert "TAUSESTACK_DATABASE__URL" in output
    assert "unapplied" not in output
    assert not (tagged / "nowhere").exists()


def test_check_reports_the_missing_driver_of_the_url(
    tagged: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("psycopg2") is not None:
        pytest.skip("psycopg2 is installed here")
    url = f"postgresql+psycopg2://app@127.0.0.1:{free_port()}/x"  # the async sessions: psycopg
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", url)
    code, output = check(tausestack)
    assert code == 1, output
    assert "1 problem(s)" in output
    assert "The psycopg2 driver for postgresql+psycopg2://app@127.0.0.1" in output
    assert "pip install psycopg2-binary" in output
    assert "tausestack[postgres]" not in output
    assert "TAUSESTACK_DATABASE__URL" in output

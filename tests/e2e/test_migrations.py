"""Migrations end to end, on SQLite and on PostgreSQL, through the real command line.

A project made by `tausestack init` gets a SQLModel table model; `db makemigrations` and
`db upgrade` create its table; rows go in; a nullable column and NOT NULL columns with plain
model defaults (`priority: int = 0`, no server default written by hand) are added to the model,
migrated — the rows get the defaults — and reverted with `db downgrade -1`, and the rows are
still there at every step. Each command runs in its own process, as a user runs it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.e2e

TAG_MODEL = '''"""Tags of notes."""

from sqlmodel import Field, SQLModel


class Tag(SQLModel, table=True):
    """A label for notes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
'''

NEW_COLUMNS = """    color: str | None = Field(default=None, max_length=20)
    priority: int = 0
    done: bool = False
    label: str = Field(default="it's new", max_length=20)
"""


def tausestack(project: Path, *arguments: str, database_url: str | None = None) -> str:
    """Run `python -m tausestack ARGUMENTS` in ``project``; fail with its output if it fails."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAUSESTACK_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    if database_url is not None:
        environment["TAUSESTACK_DATABASE__URL"] = database_url
    command = [sys.executable, "-m", "tausestack", *arguments]
    result = subprocess.run(
        command, cwd=project, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def revision_files(project: Path) -> list[Path]:
    return sorted((project / "migrations" / "versions").glob("*.py"), key=lambda path: path.name)


def revision_id(path: Path) -> str:
    return path.name.split("_")[3]  # YYYY_MM_DD_<rev>_<slug>.py


def migrate_add_column_and_back(tmp_path: Path, url: str, database_url: str | None) -> Path:
    """The whole scenario; returns the revision file that added the columns."""
    subprocess.run(
        [sys.executable, "-m", "tausestack", "init", "demo", "--no-git"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    project = tmp_path / "demo"
    shutil.rmtree(project / "migrations")  # the starter's; this scenario starts with `db init`
    model = project / "apps" / "notes" / "models" / "tag.py"
    model.write_text(TAG_MODEL)

    def db(*arguments: str) -> str:
        return tausestack(project, "db", *arguments, database_url=database_url)

    assert "migrations/env.py" in db("init")
    created = db("makemigrations", "-m", "create tag")
    assert "Detected added table 'tag'" in created
    [first] = revision_files(project)
    assert f"Applied {revision_id(first)}: create tag" in db("upgrade")

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tag (name) VALUES ('urgent'), ('later')"))

        model.write_text(TAG_MODEL + NEW_COLUMNS)
        added = db("makemigrations", "-m", "add color and priority")
        assert "Detected added column 'tag.color'" in added
        assert "Detected added column 'tag.priority'" in added
        assert "Detected added column 'tag.label'" in added
        second = next(path for path in revision_files(project) if path != first)
        assert f"Applied {revision_id(second)}: add color and priority" in db("upgrade")
        assert "No changes detected." in db("makemigrations", "-m", "nothing new")
        assert len(revision_files(project)) == 2

        inspector = inspect(engine)
        assert [column["name"] for column in inspector.get_columns("tag")] == [
            "id",
            "name",
            "color",
            "priority",
            "done",
            "label",
        ]
        with engine.begin() as connection:
            query = "SELECT name, color, priority, done, label FROM tag ORDER BY id"
            rows = connection.execute(text(query))
            assert [tuple(row) for row in rows] == [
                ("urgent", None, 0, False, "it's new"),
                ("later", None, 0, False, "it's new"),
            ]
            connection.execute(text("UPDATE tag SET color = 'red' WHERE name = 'urgent'"))

        history = db("history")
        assert f"{revision_id(second)} (head)" in history
        assert "add color and priority" in history
        assert "create tag" in history

        reverted = db("downgrade", "-1")
        assert f"Reverted {revision_id(second)}: add color and priority" in reverted
        inspector = inspect(engine)
        assert [column["name"] for column in inspector.get_columns("tag")] == ["id", "name"]
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, name FROM tag ORDER BY id"))
            assert rows.all() == [(1, "urgent"), (2, "later")]

        current = db("current")
        assert f"is at {revision_id(first)}: create tag" in current
        assert "1 revision(s) pending" in current
    finally:
        engine.dispose()

    # The generated files pass the project's own lint and format checks.
    for check in (["check", "migrations", "apps"], ["format", "--check", "migrations", "apps"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *check], cwd=project, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
    return second


def test_migrations_on_sqlite_use_batch_mode_and_keep_the_data(tmp_path: Path) -> None:
    database = tmp_path / "demo" / "app.db"  # the project's default database.url
    second = migrate_add_column_and_back(tmp_path, f"sqlite:///{database}", database_url=None)
    revision = second.read_text()
    assert "with op.batch_alter_table(" in revision
    assert "batch_op.drop_column(" in revision


@pytest.mark.postgres
def test_migrations_on_postgresql_keep_the_data(tmp_path: Path, postgres_url: str) -> None:
    second = migrate_add_column_and_back(tmp_path, postgres_url, database_url=postgres_url)
    revision = second.read_text()
    assert "op.add_column(" in revision
    assert "batch_alter_table" not in revision

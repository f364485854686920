"""Migrations end to end, on SQLite, PostgreSQL and MariaDB, through the real command line.

A project made by `tausestack init` gets a SQLModel table model; `db makemigrations` and
`db upgrade` create its table; rows go in; a nullable column and NOT NULL columns with plain
model defaults (`priority: int = 0`, no server default written by hand) are added to the model,
migrated — the rows get the defaults — and reverted with `db downgrade -1`, and the rows are
still there at every step. Each command runs in its own process, as a user runs it.
"""

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

pytestmark = pytest.mark.e2e

TAG_MODEL = '''"""Tags of notes."""

import datetime

from sqlalchemy import DateTime
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
    seen: datetime.datetime = Field(
        default=datetime.datetime(2024, 5, 6, 7, 8, 9), sa_type=DateTime(timezone=True)
    )
"""

#: The naive default of `seen`, read as UTC whatever the session's time zone.
SEEN = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)


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


def moment(value: datetime.datetime | str) -> datetime.datetime:
    """A timestamp as PostgreSQL returns it, as SQLite stores it (text), or as MySQL does
    (naive, in UTC)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


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
            "seen",
        ]
        with engine.begin() as connection:
            query = "SELECT name, color, priority, done, label, seen FROM tag ORDER BY id"
            rows = [(*row[:-1], moment(row[-1])) for row in connection.execute(text(query))]
            assert rows == [
                ("urgent", None, 0, False, "it's new", SEEN),
                ("later", None, 0, False, "it's new", SEEN),
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


@pytest.mark.mysql
def test_migrations_on_mariadb_keep_the_data(tmp_path: Path, mariadb_url: str) -> None:
    second = migrate_add_column_and_back(tmp_path, mariadb_url, database_url=mariadb_url)
    revision = second.read_text()
    assert "op.add_column(" in revision
    assert "batch_alter_table" not in revision


@pytest.mark.postgres
def test_migrations_on_postgresql_keep_the_data(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGTZ", "America/New_York")  # sessions not in UTC: defaults stay UTC
    second = migrate_add_column_and_back(tmp_path, postgres_url, database_url=postgres_url)
    revision = second.read_text()
    assert "op.add_column(" in revision
    assert "batch_alter_table" not in revision


KINDS_MODULE = '''"""Kinds shared by the notes' tables."""

import enum


class Mood(str, enum.Enum):
    """How a tag feels."""

    happy = "h"
    sad = "s"


class Level(enum.IntEnum):
    """How high a badge is."""

    low = 1
    high = 2
'''

MOOD_COLUMN = "    mood: Mood = Mood.sad\n"

BADGE_MODEL = '''

class Badge(SQLModel, table=True):
    """A new table with a new enum (level) and one an earlier revision made (mood)."""

    id: int | None = Field(default=None, primary_key=True)
    mood: Mood = Mood.happy
    level: Level = Level.high
'''

RIBBON_MODEL = '''

class Ribbon(SQLModel, table=True):
    """A second new table reusing the enum the badge table's revision made."""

    id: int | None = Field(default=None, primary_key=True)
    level: Level = Level.low
'''


def enum_types(engine: Engine) -> set[str]:
    """The enum types of a PostgreSQL database (SQLite has none)."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as connection:
        return set(
            connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars()
        )


def migrate_enums_and_back(tmp_path: Path, url: str, database_url: str | None) -> list[Path]:
    """Enum fields: added to a table with rows, in a new table, reused by a second new table;
    each revision applied by its own command, then all reverted and applied again."""
    subprocess.run(
        [sys.executable, "-m", "tausestack", "init", "demo", "--no-git"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    project = tmp_path / "demo"
    shutil.rmtree(project / "migrations")
    models = project / "apps" / "notes" / "models"
    (models / "kinds.py").write_text(KINDS_MODULE)
    imports = "from apps.notes.models.kinds import Level, Mood\n"
    tag = TAG_MODEL.replace("from sqlmodel", imports + "from sqlmodel")
    (models / "tag.py").write_text(tag)

    def db(*arguments: str) -> str:
        return tausestack(project, "db", *arguments, database_url=database_url)

    db("init")
    steps = [
        ("create tag", tag),
        ("add mood", tag + MOOD_COLUMN),
        ("add badges", tag + MOOD_COLUMN + BADGE_MODEL),
        ("add ribbons", tag + MOOD_COLUMN + BADGE_MODEL + RIBBON_MODEL),
    ]
    engine = create_engine(url)
    try:
        for message, source in steps:
            (models / "tag.py").write_text(source)
            db("makemigrations", "-m", message)
            assert f": {message}" in db("upgrade")
            if message == "create tag":
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO tag (name) VALUES ('urgent'), ('later')"))
        assert enum_types(engine) == ({"mood", "level"} if "postgresql" in url else set())
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT name, mood FROM tag ORDER BY id")).all()
            assert [tuple(row) for row in rows] == [("urgent", "sad"), ("later", "sad")]
            connection.execute(text("INSERT INTO badge VALUES (1, 'happy', 'high')"))
            connection.execute(text("INSERT INTO ribbon VALUES (1, 'low')"))
            badge = connection.execute(text("SELECT mood, level FROM badge")).one()
            assert tuple(badge) == ("happy", "high")
            assert connection.execute(text("SELECT level FROM ribbon")).scalar() == "low"
        assert "No changes detected." in db("makemigrations", "-m", "nothing new")

        for _ in range(3):
            db("downgrade", "-1")
        assert set(inspect(engine).get_table_names()) >= {"tag"}
        assert not {"badge", "ribbon"} & set(inspect(engine).get_table_names())
        assert enum_types(engine) == set()  # the revisions dropped the types they made
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM tag ORDER BY id")).scalars().all() == [
                "urgent",
                "later",
            ]
        db("upgrade")  # and they can be made again
        assert enum_types(engine) == ({"mood", "level"} if "postgresql" in url else set())
    finally:
        engine.dispose()
    return revision_files(project)


def test_enum_fields_migrate_on_sqlite(tmp_path: Path) -> None:
    database = tmp_path / "demo" / "app.db"
    revisions = migrate_enums_and_back(tmp_path, f"sqlite:///{database}", database_url=None)
    assert len(revisions) == 4


@pytest.mark.mysql
def test_enum_fields_migrate_on_mariadb(tmp_path: Path, mariadb_url: str) -> None:
    revisions = migrate_enums_and_back(tmp_path, mariadb_url, database_url=mariadb_url)
    assert len(revisions) == 4


@pytest.mark.postgres
def test_enum_fields_migrate_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    revisions = migrate_enums_and_back(tmp_path, postgres_url, database_url=postgres_url)
    added = next(path for path in revisions if path.name.endswith("_add_mood.py")).read_text()
    assert ".create(op.get_bind(), checkfirst=True)" in added

"""`tausestack db makemigrations` on a table that has rows: columns added NOT NULL get the
model's constant default as their server default, or are refused with the fix.

In-process on SQLite, with declarative models of their own metadata (see test_db.py);
tests/e2e/test_migrations.py adds SQLModel fields with plain defaults on SQLite and PostgreSQL.
"""

import datetime
import importlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from tests.cli.conftest import Cli
from tests.cli.test_db import COLOR_COLUMN, TAG_MODEL, demo, migrated, revisions, write_model

__all__ = ["demo", "migrated"]  # the fixtures, shared with test_db.py

# The Tag model with NOT NULL columns added, each with a scalar default of another kind.
TAG_WITH_DEFAULTS = '''
"""Tags of notes, with more columns."""

import datetime
import enum

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of the notes app."""


class Kind(enum.Enum):
    """How a tag looks."""

    plain = "p"
    fancy = "f"


class Tag(Base):
    """A label for notes."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    priority: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(20), default="it's: none")
    done: Mapped[bool] = mapped_column(default=False)
    ratio: Mapped[float] = mapped_column(default=-1.5)
    since: Mapped[datetime.date] = mapped_column(default=datetime.date(2024, 1, 2))
    kind: Mapped[Kind] = mapped_column(default=Kind.fancy)
'''


def test_added_columns_take_their_scalar_default_on_a_table_with_rows(
    migrated: Path, tausestack: Cli
) -> None:
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    assert tausestack("db", "upgrade").exit_code == 0
    engine = create_engine(f"sqlite:///{migrated / 'app.db'}")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tag (name) VALUES ('urgent'), ('later')"))

    write_model(migrated, TAG_WITH_DEFAULTS)
    added = tausestack("db", "makemigrations", "-m", "more columns")
    assert added.exit_code == 0, added.output
    revision = next(path for path in revisions(migrated) if "more_columns" in path.name)
    source = revision.read_text().replace('"', "'")
    for rendered in (
        "server_default=sa.text('0')",
        "server_default='it's: none'",
        "server_default=sa.text('false')",
        "server_default=sa.text('-1.5')",
        "server_default='2024-01-02'",
        "server_default='fancy'",
    ):
        assert rendered in source, source
    upgraded = tausestack("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output

    tag = importlib.import_module("apps.notes.models.tag")
    with Session(engine) as session:
        rows = session.scalars(select(tag.Tag).order_by(tag.Tag.id)).all()
        values = [
            (row.name, row.priority, row.label, row.done, row.ratio, row.since, row.kind)
            for row in rows
        ]
    engine.dispose()
    expected = (0, "it's: none", False, -1.5, datetime.date(2024, 1, 2), tag.Kind.fancy)
    assert values == [("urgent", *expected), ("later", *expected)]


@pytest.mark.parametrize(
    ("column", "why"),
    [
        ("title: Mapped[str] = mapped_column(String(50))", "has no default"),
        (
            "title: Mapped[str] = mapped_column(String(50), default=lambda: 'x')",
            "its default is computed in Python",
        ),
    ],
    ids=["no default", "computed default"],
)
def test_an_added_column_rows_cannot_fill_is_refused_with_the_fix(
    migrated: Path, tausestack: Cli, column: str, why: str
) -> None:
    assert tausestack("db", "makemigrations", "-m", "create tag").exit_code == 0
    assert tausestack("db", "upgrade").exit_code == 0
    [first] = revisions(migrated)
    write_model(migrated, TAG_MODEL + f"    {column}\n" + COLOR_COLUMN)
    result = tausestack("db", "makemigrations", "-m", "add title")
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"tag.title is NOT NULL and {why}" in message
    assert "the rows already in tag would have no value" in message
    assert "title: str = " in message  # the fixes: a default, optional, or a server default
    assert "| None = None" in message
    assert "server_default" in message
    assert "No revision was written" in message
    assert "color" not in message  # a nullable column is fine
    assert revisions(migrated) == [first]

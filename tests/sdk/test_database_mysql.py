"""What only MySQL and MariaDB need: the columns of a duplicate entry's key, read from its
name; a login refused at startup, without the password."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from tausestack import Repository, Settings, TauseStackApp, create_app
from tausestack.sdk.database import (
    BaseRepository,
    Database,
    DatabaseConnectionError,
    DuplicateRecordError,
    InvalidDataError,
)
from tausestack.sdk.database._rows import duplicates
from tausestack.testing import TestClient


class Seat(SQLModel, table=True):
    """A named unique index, and a named unique constraint on two columns."""

    __tablename__ = "mysql_seat"
    __table_args__ = (UniqueConstraint("row", "number", name="uq_seat_place"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True, index=True)
    row: str = Field(max_length=2)
    number: int


@Repository
class SeatRepository(BaseRepository[Seat]):
    pass


@pytest.fixture
def app(mariadb_url: str, tmp_path: Path) -> Iterator[TauseStackApp]:
    application = create_app(
        Settings(config_dir=tmp_path, database={"url": mariadb_url}), components=[SeatRepository]
    )
    engine = application.container.get(Database).engine
    SQLModel.metadata.create_all(engine, tables=[Seat.__table__])  # type: ignore[list-item]
    yield application
    engine.dispose()


def test_named_keys_give_their_columns(app: TauseStackApp) -> None:
    seats = app.container.get(SeatRepository)
    seats.create({"code": "A1", "row": "A", "number": 1})
    with pytest.raises(DuplicateRecordError) as caught:
        seats.create({"code": "A1", "row": "B", "number": 1})
    assert (caught.value.columns, caught.value.constraint) == (("code",), "ix_mysql_seat_code")
    with pytest.raises(DuplicateRecordError, match=r"uq_seat_place on mysql_seat \(row, number\)"):
        seats.create({"code": "A2", "row": "A", "number": 1})


def test_mysql_8_names_the_key_with_its_table() -> None:
    pymysql = pytest.importorskip("pymysql")
    error = pymysql.err.IntegrityError(
        1062, "Duplicate entry 'A-1' for key 'mysql_seat.uq_seat_place'"
    )
    with pytest.raises(DuplicateRecordError) as caught, duplicates(Seat):
        raise IntegrityError("INSERT …", {}, error)
    assert caught.value.columns == ("row", "number")
    assert "A-1" not in str(caught.value)


def test_a_wrong_password_fails_at_startup_without_showing_it(
    mariadb_url: str, tmp_path: Path
) -> None:
    url = mariadb_url.replace("%40pw", "%40wrong-pw")
    assert url != mariadb_url
    settings = Settings(config_dir=tmp_path, database={"url": url})
    app = create_app(settings, components=[SeatRepository])
    with pytest.raises(DatabaseConnectionError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert "Cannot connect to mysql+pymysql://tausestack:***@127.0.0.1:" in message
    assert "driver pymysql" in message
    assert "Access denied for user 'tausestack'" in message
    assert "wrong-pw" not in message


@pytest.mark.anyio
async def test_a_mariadb_url_works_as_a_mysql_one(mariadb_url: str, tmp_path: Path) -> None:
    url = mariadb_url.replace("mysql+pymysql://", "mariadb://")
    settings = Settings(config_dir=tmp_path, database={"url": url})
    app = create_app(settings, components=[SeatRepository])
    database = app.container.get(Database)
    assert (database.urls.sync.drivername, database.urls.asynchronous.drivername) == (
        "mariadb+pymysql",
        "mariadb+aiomysql",
    )
    SQLModel.metadata.create_all(database.engine, tables=[Seat.__table__])  # type: ignore[list-item]
    seats = app.container.get(SeatRepository)
    try:
        await seats.acreate({"code": "A1", "row": "A", "number": 1})
        with pytest.raises(DuplicateRecordError, match=r"\(code\)"):
            await seats.acreate({"code": "A1", "row": "B", "number": 1})
        with pytest.raises(InvalidDataError, match=r"at most 20 characters"):
            seats.create({"code": "x" * 21, "row": "C", "number": 1})
        assert [seat.code for seat in await seats.alist(order_by="-code")] == ["A1"]
    finally:
        await database.stop()


class Memo(SQLModel, table=True):
    """A TEXT column (65,535 bytes on MySQL and MariaDB, whatever the characters), a
    MEDIUMTEXT there, and an unnamed unique constraint on a column whose name holds a quote."""

    __tablename__ = "mysql_memo"
    __table_args__ = (UniqueConstraint("o'clock"),)

    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(sa_column=Column(Text))
    long: str = Field(default="", sa_type=Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb"))
    at: str = Field(default="noon", max_length=10, sa_column_kwargs={"name": "o'clock"})


@Repository
class MemoRepository(BaseRepository[Memo]):
    pass


@pytest.fixture
def memos(mariadb_url: str, tmp_path: Path) -> Iterator[MemoRepository]:
    application = create_app(
        Settings(config_dir=tmp_path, database={"url": mariadb_url}), components=[MemoRepository]
    )
    engine = application.container.get(Database).engine
    SQLModel.metadata.create_all(engine, tables=[Memo.__table__])  # type: ignore[list-item]
    yield application.container.get(MemoRepository)
    engine.dispose()


@pytest.mark.parametrize("body", ["x" * 65_536, "😀" * 16_384], ids=["ascii", "four-byte"])
def test_text_longer_than_a_text_column_holds_is_invalid_data(
    memos: MemoRepository, body: str
) -> None:
    """MariaDB refuses it ("Data too long", or "Incorrect string value" when the cut falls in
    a character): a DataError, a 500, where a VARCHAR's overflow is a 422."""
    with pytest.raises(InvalidDataError, match=r"body: .* at most 65,535 bytes in UTF-8"):
        memos.create({"body": body})
    assert memos.list() == []
    memo = memos.create({"body": "short"})
    with pytest.raises(InvalidDataError, match="body"):
        memos.update(memo, {"body": body})
    assert [row.body for row in memos.list()] == ["short"]


def test_text_up_to_its_column_s_limit_is_stored(memos: MemoRepository) -> None:
    """A TEXT column holds 65,535 bytes, however many characters, and a MEDIUMTEXT variant
    more; a VARCHAR(10) holds ten characters, however many bytes."""
    assert memos.create({"body": "x" * 65_535, "at": "😀" * 10}).at == "😀" * 10
    assert len(memos.create({"body": "😀" * 16_383, "at": "dusk"}).body) == 16_383
    assert len(memos.create({"body": "", "long": "😀" * 16_384, "at": "dawn"}).long) == 16_384
    with pytest.raises(InvalidDataError, match=r"at: String should have at most 10 characters"):
        memos.create({"body": "", "at": "😀" * 11})


def test_a_duplicate_on_a_quoted_column_names_it(memos: MemoRepository) -> None:
    """The key is read after the last "for key '", so neither a quote in the key's name nor
    that text in the value misleads it."""
    memos.create({"body": "a", "at": "noon"})
    with pytest.raises(DuplicateRecordError) as caught:
        memos.create({"body": "b", "at": "noon"})
    assert caught.value.columns == ("o'clock",)
    memos.create({"body": "c", "at": " for key '"})
    with pytest.raises(DuplicateRecordError) as caught:
        memos.create({"body": "d", "at": " for key '"})
    assert (caught.value.columns, caught.value.constraint) == (("o'clock",), "o'clock")

"""tausestack.testing.TestDatabase: apps on a temporary database, each test rolled back.

These tests drive ``TestDatabase`` and ``TemporaryDatabases`` directly (what the
``tausestack_database`` fixture does for each test), so that one test can play two tests in a
row and check what the second one sees. ``test_database_projects.py`` runs the fixtures the way
a project does, in pytest subprocesses.
"""

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from tausestack import Settings
from tausestack.di._keys import DependencyKey
from tausestack.sdk.database import Database, DuplicateRecordError
from tausestack.testing import (
    AsyncTestClient,
    TestClient,
    TestDatabase,
    TestDatabaseError,
    _temporary,
)
from tausestack.testing._temporary import TemporaryDatabases
from tests.processes import free_port
from tests.servers import MariaDBServer
from tests.services import PostgresServer

APP = "testing_shelf"

FILES = {
    "__init__.py": "",
    "models.py": """
        from pydantic import BaseModel
        from sqlmodel import Field, SQLModel


        class ShelfBook(SQLModel, table=True):
            __tablename__ = "testing_shelf_book"
            id: int | None = Field(default=None, primary_key=True)
            title: str = Field(unique=True)


        class BookIn(BaseModel):
            title: str
        """,
    "repositories.py": """
        from tausestack import Repository
        from tausestack.sdk.database import BaseRepository

        from .models import ShelfBook


        @Repository
        class BookRepository(BaseRepository[ShelfBook]):
            pass
        """,
    "controllers.py": """
        from sqlmodel import Session

        from tausestack import Controller, Inject, get, post

        from .models import BookIn, ShelfBook
        from .repositories import BookRepository


        @Controller("/books")
        class Books:
            def __init__(self, books: BookRepository) -> None:
                self.books = books

            @post("/")
            async def create(self, body: BookIn) -> ShelfBook:
                return await self.books.acreate(body)

            @post("/sync")
            def create_sync(self, body: BookIn) -> ShelfBook:
                return self.books.create(body)

            @post("/committed")
            def create_and_commit(self, body: BookIn, session: Inject[Session]) -> dict:
                session.add(ShelfBook(title=body.title))
                session.commit()
                return {"committed": True}

            @get("/")
            async def index(self) -> list[ShelfBook]:
                return await self.books.alist(order_by="title")
        """,
}


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project folder holding the app ``testing_shelf``, importable for the module's tests
    (its table model is defined once per process)."""
    root = tmp_path_factory.mktemp("shelf")
    for name, content in FILES.items():
        path = root / APP / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@pytest.fixture(
    params=[
        "sqlite-file",
        "sqlite-memory",
        "postgres",
        pytest.param("mariadb", marks=pytest.mark.mysql),
    ]
)
def server(request: pytest.FixtureRequest) -> str | None:
    """Where the temporary databases are made, as the tausestack_database_url fixture says."""
    if request.param == "sqlite-file":
        return None  # the app's own database.url, the default sqlite:///app.db
    if request.param == "sqlite-memory":
        return "sqlite://"
    if request.param == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return mariadb.async_url("app_that_need_not_exist")  # made through PyMySQL all the same
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres.url("app_that_need_not_exist")


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[TemporaryDatabases]:
    """A test session's temporary databases; dropped when the "session" ends."""
    made = TemporaryDatabases(tmp_path / "databases")
    (tmp_path / "databases").mkdir()
    yield made
    made.close()


def settings(root: Path, **extra: Any) -> dict[str, Any]:
    return {"config_dir": root, "installed_apps": [APP], **extra}


def books(app: Any) -> Any:
    from testing_shelf.repositories import BookRepository

    return app.container.get(BookRepository)


def test_every_way_of_writing_is_rolled_back_when_the_test_ends(
    shelf: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    first = TestDatabase(databases, server)
    app = first.create_app(**settings(shelf))
    with TestClient(app) as client:
        assert client.post("/books/", json={"title": "async endpoint"}).status_code == 200
        assert client.post("/books/sync", json={"title": "sync endpoint"}).status_code == 200
        assert client.post("/books/committed", json={"title": "commit"}).status_code == 200
        database = app.container.get(Database)
        with database.transaction():
            books(app).create({"title": "transaction"})
        with database.new_session() as session:
            session.add(books(app).model(title="own session"))
            session.commit()
        titles = [book["title"] for book in client.get("/books/").json()]
    assert titles == ["async endpoint", "commit", "own session", "sync endpoint", "transaction"]
    assert books(app).count() == 5  # sync code sees what async code wrote
    first.close()

    second = TestDatabase(databases, server)
    again = second.create_app(**settings(shelf))
    assert again.settings.database.url == app.settings.database.url  # the same database
    with TestClient(again) as client:
        assert client.get("/books/").json() == []
    assert books(again).count() == 0
    second.close()


@pytest.mark.anyio
async def test_async_tests_and_clients_share_the_transaction(
    shelf: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    database = TestDatabase(databases, server)
    app = database.create_app(**settings(shelf))
    async with AsyncTestClient(app) as client:
        await books(app).acreate({"title": "arranged"})
        response = await client.post("/books/", json={"title": "posted"})
        assert response.status_code == 200
        listed = (await client.get("/books/")).json()
    assert [book["title"] for book in listed] == ["arranged", "posted"]
    assert await books(app).acount() == books(app).count() == 2
    database.close()
    next_test = TestDatabase(databases, server)
    assert await books(next_test.create_app(**settings(shelf))).acount() == 0
    next_test.close()


def test_two_apps_in_one_test_see_each_others_writes(
    shelf: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    database = TestDatabase(databases, server)
    writer = database.create_app(**settings(shelf))
    reader = database.create_app(**settings(shelf, cache={"backend": "memory"}))
    books(writer).create({"title": "shared"})
    assert [book.title for book in books(reader).list()] == ["shared"]
    database.close()


def test_a_failed_statement_leaves_the_test_transaction_usable(
    shelf: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    database = TestDatabase(databases, server)
    app = database.create_app(**settings(shelf))
    books(app).create({"title": "once"})
    with pytest.raises(DuplicateRecordError), app.container.get(Database).transaction():
        books(app).create({"title": "once"})
    assert [book.title for book in books(app).list()] == ["once"]
    database.close()


def test_tables_are_made_once_per_session(shelf: Path, databases: TemporaryDatabases) -> None:
    first = TestDatabase(databases)
    first.create_app(**settings(shelf))
    temporary = databases.get(Settings(profile="test", **settings(shelf)), None)
    statements: list[str] = []
    event.listen(
        temporary.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    first.close()
    second = TestDatabase(databases)
    books(second.create_app(**settings(shelf))).count()
    second.close()
    assert any("SELECT count" in sql for sql in statements)
    made_again = [sql for sql in statements if "CREATE" in sql.upper() or "table_info" in sql]
    assert made_again == []  # create_all would check for the table first (PRAGMA table_info)


def test_temporary_postgres_databases_are_dropped_at_the_end(
    shelf: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    databases = TemporaryDatabases(tmp_path)
    before = postgres_server.databases()
    database = TestDatabase(databases, postgres_server.url("shop"))
    app = database.create_app(**settings(shelf))
    books(app).create({"title": "x"})
    made = postgres_server.databases() - before
    assert len(made) == 1
    assert next(iter(made)).startswith("tausestack_test_shelf")  # the project's folder
    database.close()
    databases.close()
    assert postgres_server.databases() == before


def test_database_url_from_the_settings_names_the_server(
    shelf: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    databases = TemporaryDatabases(tmp_path)
    database = TestDatabase(databases)
    url = postgres_server.url("inventory")  # a database that does not exist: only the server
    app = database.create_app(**settings(shelf, database={"url": url, "pool_size": 2}))
    assert app.settings.database.url.rsplit("/", 1)[1].startswith("tausestack_test_shelf")
    assert app.settings.database.pool_size == 2  # the other database settings are kept
    with TestClient(app) as client:  # the startup check connects to the temporary database
        assert client.post("/books/", json={"title": "x"}).status_code == 200
    database.close()
    databases.close()


def test_unsupported_and_unreachable_databases_say_what_to_do(shelf: Path, tmp_path: Path) -> None:
    databases = TemporaryDatabases(tmp_path)
    with pytest.raises(TestDatabaseError, match="PostgreSQL and MySQL; database.url") as caught:
        TestDatabase(databases).create_app(
            **settings(shelf, database={"url": "mssql+pymssql://app:hunter2@localhost/app"})
        )
    assert "hunter2" not in str(caught.value)
    with pytest.raises(TestDatabaseError, match="fixture is not a database URL"):
        TestDatabase(databases, "localhost:5432").create_app(**settings(shelf))
    closed = f"postgresql://app:hunter2@127.0.0.1:{free_port()}/app"  # nothing listens there
    with pytest.raises(
        TestDatabaseError, match="Cannot connect to the PostgreSQL server"
    ) as caught:
        TestDatabase(databases, closed).create_app(**settings(shelf))
    assert "tausestack_database_url fixture" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    databases.close()


def test_a_server_that_cannot_be_reached_is_tried_once_per_session(
    shelf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []
    real = _temporary.make_database

    def counted(*args: Any) -> Any:
        attempts.append("CREATE DATABASE")
        return real(*args)

    monkeypatch.setattr(_temporary, "make_database", counted)
    databases = TemporaryDatabases(tmp_path)
    closed = f"postgresql://app@127.0.0.1:{free_port()}/app"
    for _ in range(3):  # three tests of one session
        with pytest.raises(TestDatabaseError, match="Cannot connect to the PostgreSQL serv"):
            TestDatabase(databases, closed).create_app(**settings(shelf))
    assert attempts == ["CREATE DATABASE"]
    databases.close()


MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "testing_shelf_book",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False, unique=True),
    )
    op.execute("INSERT INTO testing_shelf_book (title) VALUES ('seeded by a migration')")


def downgrade() -> None:
    op.drop_table("testing_shelf_book")
"""


def with_migrations(folder: Path, *revisions: str) -> Path:
    """A project folder with the migrations `tausestack db init` writes, and these revisions."""
    versions = folder / "migrations" / "versions"
    versions.mkdir(parents=True)
    env = "from tausestack.sdk.database.migrations import run_migrations\n\nrun_migrations()\n"
    (folder / "migrations" / "env.py").write_text(env, encoding="utf-8")
    for number, revision in enumerate(revisions, start=1):
        (versions / f"{number:04d}_revision.py").write_text(revision, encoding="utf-8")
    return folder


def test_a_project_with_migrations_gets_its_tables_from_them(
    shelf: Path, tmp_path: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    project = with_migrations(tmp_path / "project", MIGRATION)
    first = TestDatabase(databases, server)
    app = first.create_app(**settings(project))
    assert [book.title for book in books(app).list()] == ["seeded by a migration"]
    books(app).create({"title": "written by a test"})
    first.close()
    second = TestDatabase(databases, server)
    again = second.create_app(**settings(project))
    assert [book.title for book in books(again).list()] == ["seeded by a migration"]
    second.close()


def test_migrations_that_leave_out_a_table_are_reported(
    shelf: Path, tmp_path: Path, databases: TemporaryDatabases
) -> None:
    project = with_migrations(tmp_path / "project")  # `db init` run, no revision yet
    with pytest.raises(TestDatabaseError, match="do not create the table") as caught:
        TestDatabase(databases).create_app(**settings(project))
    assert "testing_shelf_book" in str(caught.value)
    assert "tausestack db makemigrations" in str(caught.value)


@pytest.mark.parametrize("migrated", [False, True], ids=["models", "migrations"])
def test_in_memory_test_databases_stay_in_memory(
    shelf: Path,
    tmp_path: Path,
    databases: TemporaryDatabases,
    monkeypatch: pytest.MonkeyPatch,
    migrated: bool,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    project = with_migrations(tmp_path / "project", MIGRATION) if migrated else shelf
    database = TestDatabase(databases, "sqlite://")
    app = database.create_app(**settings(project))
    books(app).create({"title": "x"})
    with app.container.get(Database).new_session() as session:
        main = "SELECT file FROM pragma_database_list WHERE name = 'main'"
        file = session.execute(text(main)).scalar_one()
    database.close()
    assert file == ""  # SQLite names no file for a database in memory
    assert list(work.iterdir()) == []


AUTH = {
    "installed_apps": ["tausestack.contrib.auth"],
    "auth": {"backend": "jwt", "jwt": {"secret": "0123456789abcdef" * 3}},
}


def login(client: TestClient, account: dict[str, str]) -> int:
    form = {"username": account["email"], "password": account["password"]}
    return int(client.post("/auth/login", data=form).status_code)


def test_accounts_that_contrib_auth_writes_are_rolled_back_too(
    tmp_path: Path, databases: TemporaryDatabases, server: str | None
) -> None:
    first = {"email": "dee@example.com", "password": "correct horse battery"}
    test = TestDatabase(databases, server)
    with TestClient(test.create_app(config_dir=tmp_path, **AUTH)) as client:
        assert client.post("/auth/register", json=first).status_code == 201
        assert login(client, first) == 200
    test.close()

    next_test = TestDatabase(databases, server)
    with TestClient(next_test.create_app(config_dir=tmp_path, **AUTH)) as client:
        assert login(client, first) == 401
        second = {**first, "password": "another battery staple"}
        registered = client.post("/auth/register", json=second)
        assert registered.status_code == 201, registered.text  # not 409 user_exists
        assert login(client, second) == 200
    next_test.close()


def test_an_app_without_a_database_is_built_as_it_is(
    tmp_path: Path, databases: TemporaryDatabases
) -> None:
    from tausestack.errors import MissingProviderError

    database = TestDatabase(databases)
    app = database.create_app(config_dir=tmp_path)  # no installed app uses a database
    assert app.container.graph.lookup(DependencyKey(Database)) is None
    with TestClient(app) as client:
        assert client.get("/nowhere").status_code == 404

    class Mailer:
        pass

    with pytest.raises(MissingProviderError, match="Cannot override .*Mailer") as caught:
        database.create_app(config_dir=tmp_path, overrides={Mailer: Mailer()})  # the user's
    assert caught.value.__context__ is None  # the user's error alone, no other one around it
    database.close()

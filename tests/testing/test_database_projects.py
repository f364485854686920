"""The ``tausestack_database`` fixture in a project made by ``tausestack init``, run by pytest.

The project gets a ``library`` app with a SQLModel table, a repository and a controller (as
docs/database.md writes them); its ``tests/conftest.py`` already has the one fixture
docs/testing.md tells a user to add. Its tests run in a pytest subprocess, each pair checking
that the second test does not see what the first wrote, on SQLite (a file, in memory) and
PostgreSQL (named by the settings, or by a fixture), with and without migrations, with a second
set of installed apps in the same session. The project also installs ``tausestack.contrib.auth``
(the ``jwt`` backend): the accounts a test registers are rolled back like its own rows.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.services import PostgresServer

pytestmark = pytest.mark.e2e

CHECKOUT = Path(__file__).resolve().parents[2]


def documented_fixture() -> str:
    """The autouse fixture docs/testing.md tells a user to add to their conftest.py."""
    text = (CHECKOUT / "docs" / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    (conftest,) = [block for block in blocks if "def _database(tausestack_database" in block]
    return "\n\n" + conftest[conftest.index("@pytest.fixture(autouse=True)") :]


LIBRARY = {
    "apps/library/__init__.py": '"""Books on a shelf."""\n',
    "apps/library/models.py": """
        from sqlmodel import Field, SQLModel


        class Book(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            title: str = Field(unique=True)
        """,
    "apps/library/repositories.py": """
        from tausestack import Repository
        from tausestack.sdk.database import BaseRepository

        from apps.library.models import Book


        @Repository
        class BookRepository(BaseRepository[Book]):
            pass
        """,
    "apps/library/controllers.py": """
        from sqlmodel import Session
        from tausestack import Controller, Inject, get, post

        from apps.library.models import Book
        from apps.library.repositories import BookRepository


        @Controller("/books", tags=["books"])
        class BookController:
            def __init__(self, books: BookRepository) -> None:
                self.books = books

            @post("", status_code=201)
            async def create(self, body: Book) -> Book:
                return await self.books.acreate(body)

            @post("/committed", status_code=201)
            def create_and_commit(self, body: Book, session: Inject[Session]) -> Book:
                session.add(body)
                session.commit()
                return body

            @get("")
            async def index(self) -> list[Book]:
                return await self.books.alist(order_by="title")
        """,
    "tests/test_library.py": """
        import os

        import pytest
        from sqlalchemy import inspect
        from tausestack.sdk.database import Database

        from apps.library.repositories import BookRepository


        def test_create(client):
            assert client.post("/books", json={"title": "Dune"}).status_code == 201
            assert [book["title"] for book in client.get("/books").json()] == ["Dune"]


        def test_the_previous_test_left_nothing(client):
            assert client.get("/books").json() == []


        def test_a_commit_in_the_code(client):
            assert client.post("/books/committed", json={"title": "Emma"}).status_code == 201
            assert len(client.get("/books").json()) == 1


        def test_the_commit_was_rolled_back_too(client):
            assert client.get("/books").json() == []


        @pytest.mark.anyio
        async def test_async_client(tausestack_async_client, tausestack_app):
            await tausestack_app.container.get(BookRepository).acreate({"title": "Ulysses"})
            response = await tausestack_async_client.post("/books", json={"title": "Beloved"})
            assert response.status_code == 201
            listed = (await tausestack_async_client.get("/books")).json()
            assert [book["title"] for book in listed] == ["Beloved", "Ulysses"]


        def test_sync_after_async(tausestack_app):
            books = tausestack_app.container.get(BookRepository)
            assert books.count() == 0
            books.create({"title": "Middlemarch"})
            assert books.count() == 1


        def test_the_tables_came_from_the_migrations_if_any(tausestack_app):
            engine = tausestack_app.container.get(Database).engine
            migrated = inspect(engine).has_table("alembic_version")
            assert migrated == (os.environ["EXPECT_MIGRATIONS"] == "1")
        """,
    "tests/test_accounts.py": """
        ACCOUNT = {"email": "dee@example.com", "password": "correct horse battery"}


        def login(client, account):
            form = {"username": account["email"], "password": account["password"]}
            return client.post("/auth/login", data=form).status_code


        def test_register(client):
            assert client.post("/auth/register", json=ACCOUNT).status_code == 201
            assert login(client, ACCOUNT) == 200


        def test_the_account_is_gone(client):
            assert login(client, ACCOUNT) == 401
            again = {**ACCOUNT, "password": "another battery staple"}
            assert client.post("/auth/register", json=again).status_code == 201
            assert login(client, again) == 200
        """,
    "tests/second/application.yaml": "installed_apps: [apps.library]\n",
    "tests/test_second_app.py": """
        from pathlib import Path

        import pytest

        SECOND = Path(__file__).resolve().parent / "second"


        @pytest.fixture
        def tausestack_settings():
            return {"config_dir": SECOND}  # another app, with settings of its own


        def test_another_app_in_the_same_session(client, tausestack_app):
            assert tausestack_app.settings.installed_apps == ["apps.library"]
            assert client.post("/books", json={"title": "Dune"}).status_code == 201


        def test_and_it_is_rolled_back_too(client):
            assert client.get("/books").json() == []
        """,
}

#: The starter app's 5 tests, test_library.py's 7, test_accounts.py's 2, test_second_app.py's 2.
TESTS = 16


def run(command: list[str], cwd: Path, **environment: str) -> str:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAUSESTACK_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def run_tests_of(project: Path, **environment: str) -> str:
    output = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, **environment
    )
    # Every test passed, and nothing else happened: no warning, no error at teardown.
    assert re.search(rf"^{TESTS} passed in ", output, flags=re.MULTILINE), output
    return output


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tausestack init shop` without its migrations (tables from the models), a library app,
    and contrib.auth's accounts."""
    folder = tmp_path_factory.mktemp("projects")
    run([sys.executable, "-m", "tausestack", "init", "shop", "--no-git"], folder)
    project = folder / "shop"
    for relative, content in LIBRARY.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
    settings = yaml.safe_load((project / "application.yaml").read_text(encoding="utf-8"))
    settings["installed_apps"] += ["apps.library", "tausestack.contrib.auth"]
    settings["auth"] = {"backend": "jwt", "jwt": {"secret": "0123456789abcdef" * 3}}
    (project / "application.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    # The starter's conftest.py has the fixture docs/testing.md tells a user to add.
    assert documented_fixture() in (project / "tests" / "conftest.py").read_text(encoding="utf-8")
    shutil.move(project / "migrations", folder / "shop-migrations")
    return project


@pytest.fixture(scope="module")
def migrated(library: Path) -> Path:
    """The same project with the migrations `init` wrote, and one more for the library app."""
    project = library.parent / "migrated"
    shutil.copytree(library, project)
    shutil.copytree(library.parent / "shop-migrations", project / "migrations")
    run([sys.executable, "-m", "tausestack", "db", "upgrade"], project)
    run([sys.executable, "-m", "tausestack", "db", "makemigrations", "-m", "books"], project)
    (project / "app.db").unlink()  # the database makemigrations compared against
    return project


def test_on_sqlite_every_test_starts_empty_and_the_project_database_is_untouched(
    library: Path,
) -> None:
    run_tests_of(library, EXPECT_MIGRATIONS="0")
    assert not (library / "app.db").exists()


def test_on_sqlite_in_memory(library: Path) -> None:
    run_tests_of(library, EXPECT_MIGRATIONS="0", TAUSESTACK_DATABASE__URL="sqlite://")
    assert sorted(path.name for path in library.iterdir() if path.suffix == ".db") == []
    assert not list(library.glob("file:*"))  # nothing written next to the project


def test_with_migrations_on_sqlite(migrated: Path) -> None:
    run_tests_of(migrated, EXPECT_MIGRATIONS="1")
    assert not (migrated / "app.db").exists()


@pytest.mark.parametrize("project", ["library", "migrated"])
def test_on_postgresql_named_by_the_settings(
    request: pytest.FixtureRequest, project: str, postgres_server: PostgresServer
) -> None:
    before = postgres_server.databases()
    url = postgres_server.url("shop")  # the server; the shop database itself is never made
    expect = "1" if project == "migrated" else "0"
    folder = request.getfixturevalue(project)
    run_tests_of(folder, EXPECT_MIGRATIONS=expect, TAUSESTACK_DATABASE__URL=url)
    assert postgres_server.databases() == before  # the temporary databases were dropped


def test_on_a_postgresql_server_a_fixture_gives(
    library: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    project = tmp_path / "with-fixture"
    shutil.copytree(library, project)
    with (project / "tests" / "conftest.py").open("a", encoding="utf-8") as conftest:
        conftest.write(
            textwrap.dedent(
                """

                @pytest.fixture(scope="session")
                def tausestack_database_url() -> str:
                    import os

                    return os.environ["SHOP_TEST_SERVER"]  # e.g. from a container fixture
                """
            )
        )
    before = postgres_server.databases()
    run_tests_of(project, EXPECT_MIGRATIONS="0", SHOP_TEST_SERVER=postgres_server.url("postgres"))
    assert postgres_server.databases() == before

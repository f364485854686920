"""Database settings: URLs, drivers, startup checks and auto-configuration."""

import sys
from pathlib import Path

import pytest

from tausestack import Controller, Inject, Settings, create_app, get
from tausestack.sdk.database import (
    Database,
    DatabaseConfigurationError,
    DatabaseConnectionError,
)
from tausestack.sdk.database._urls import describe, redact_text, resolve
from tausestack.testing import TestClient
from tests.processes import free_port


def urls(url: str, async_url: str | None = None, config_dir: Path = Path("/")) -> tuple[str, str]:
    settings = Settings(config_dir=config_dir, database={"url": url, "async_url": async_url})
    resolved = resolve(settings)
    return str(resolved.sync), str(resolved.asynchronous)


def test_default_is_a_sqlite_file_in_the_project(tmp_path: Path) -> None:
    assert urls("sqlite:///app.db", config_dir=tmp_path) == (
        f"sqlite+pysqlite:///{tmp_path / 'app.db'}",
        f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
    )
    assert urls("sqlite:////var/data/x.db")[0] == "sqlite+pysqlite:////var/data/x.db"
    assert urls("sqlite://")[1] == "sqlite+aiosqlite://"


def test_each_family_gets_its_sync_and_async_driver() -> None:
    assert urls("postgresql://u:p@db/app") == (
        "postgresql+psycopg://u:***@db/app",
        "postgresql+psycopg://u:***@db/app",
    )
    assert urls("postgres://u@db/app")[0] == "postgresql+psycopg://u@db/app"
    assert urls("postgresql+asyncpg://u@db/app") == (
        "postgresql+psycopg://u@db/app",
        "postgresql+asyncpg://u@db/app",
    )
    assert urls("mysql://u@db/app") == ("mysql+pymysql://u@db/app", "mysql+aiomysql://u@db/app")
    assert urls("sqlite:///a.db", "sqlite+aiosqlite:////b.db")[1] == "sqlite+aiosqlite:////b.db"


def test_malformed_url_fails_at_create_app_with_the_password_hidden(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path, database={"url": "postgresql://app:s3cret@db:notaport/x"}
    )
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(settings, components=[Reader])
    message = str(caught.value)
    assert (
        "database.url 'postgresql://app:***@db:notaport/x' is not a valid database URL" in message
    )
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("url", "postgresql://app:s3cret@db:notaport/x", "is not a valid database URL"),
        ("url", "postgresql://app:s3@cret@db/x", "has an '@' inside its user or password"),
        ("async_url", "postgresql+asyncpg://app:s3cret@db:notaport/x", "is not a valid"),
        ("backend", "nowhere.s3cret:Backend", "cannot be imported"),
    ],
)
def test_every_configuration_error_names_where_the_setting_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: str, message: str
) -> None:
    (tmp_path / "application.yaml").write_text(
        f"app:\n  title: shop\ndatabase:\n  {setting}: '{value}'\n"
    )
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(Settings(config_dir=tmp_path), components=[Reader])
    assert message in str(caught.value)
    assert f"database.{setting} is set in {tmp_path / 'application.yaml'}:4" in str(caught.value)
    if setting != "backend":
        assert "s3cret" not in str(caught.value)

    monkeypatch.setenv(f"TAUSESTACK_DATABASE__{setting.upper()}", value)
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(Settings(config_dir=tmp_path), components=[Reader])
    expected = f"database.{setting} is set in environment variable TAUSESTACK_DATABASE__"
    assert expected in str(caught.value)


def test_an_async_driver_in_the_url_of_an_unknown_family_names_the_setting(
    tmp_path: Path,
) -> None:
    settings = Settings(config_dir=tmp_path, database={"url": "oracle+oracledb_async://u@db/x"})
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(settings, components=[Reader])
    assert "database.url uses the async driver oracledb_async" in str(caught.value)
    assert "database.url is set in keyword argument" in str(caught.value)


def test_unreachable_server_fails_at_startup_naming_host_and_driver(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://app:s3cret@127.0.0.1:{port}/shop"
    app = create_app(Settings(config_dir=tmp_path, database={"url": url}), components=[Reader])
    with pytest.raises(DatabaseConnectionError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert f"Cannot connect to postgresql+psycopg://app:***@127.0.0.1:{port}/shop" in message
    assert f"host 127.0.0.1:{port}, driver psycopg" in message
    assert "set in keyword argument" in message
    assert "s3cret" not in message


def test_missing_driver_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)  # as if not installed (dev installs it)
    settings = Settings(config_dir=tmp_path, database={"url": "mysql://app:pw@db/shop"})
    app = create_app(settings, components=[Reader])
    with pytest.raises(DatabaseConfigurationError) as caught, TestClient(app):
        pass
    assert "The pymysql driver for mysql+pymysql://app:***@db/shop is not installed" in str(
        caught.value
    )
    assert "pip install 'tausestack[mysql]'" in str(caught.value)


def test_a_missing_psycopg2_is_advised_psycopg2_not_psycopg_3(tmp_path: Path) -> None:
    if _installed("psycopg2"):
        pytest.skip("psycopg2 is installed here")
    url = "postgresql+psycopg2://app:pw@127.0.0.1:1/shop"
    app = create_app(Settings(config_dir=tmp_path, database={"url": url}), components=[Reader])
    with pytest.raises(DatabaseConfigurationError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert "The psycopg2 driver for postgresql+psycopg2://app:***@127.0.0.1:1/shop" in message
    assert "pip install psycopg2-binary" in message
    assert "tausestack[postgres]" not in message


def test_a_sqlite_file_in_a_missing_folder_fails_at_startup(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, database={"url": "sqlite:///nowhere/app.db"})
    app = create_app(settings, components=[Reader])
    with (
        pytest.raises(DatabaseConnectionError, match=r"Cannot open sqlite\+pysqlite:///.*does not"),
        TestClient(app),
    ):
        pass


def test_startup_check_can_be_turned_off(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        database={"url": f"postgresql://app@127.0.0.1:{free_port()}/x", "check_on_startup": False},
    )
    with TestClient(create_app(settings, components=[Reader])) as client:
        assert client.get("/reader/").json() == {"database": "postgresql+psycopg"}


def test_database_support_joins_apps_that_ask_for_it(tmp_path: Path) -> None:
    from tausestack.di import DependencyKey

    with_db = create_app(Settings(config_dir=tmp_path), components=[Reader])
    assert isinstance(with_db.container.get(Database), Database)
    assert with_db.container.graph.lookup(DependencyKey(Database)) is not None


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@Controller("/reader")
class Reader:
    @get("/")
    async def index(self, database: Inject[Database]) -> dict[str, str]:
        return {"database": database.urls.sync.drivername}


def test_repositories_of_installed_apps_are_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import Project

    project = Project(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    project.write(
        "zoo/animals/models.py",
        """
        from sqlmodel import Field, SQLModel

        class Animal(SQLModel, table=True):
            __tablename__ = "zoo_animal"
            id: int | None = Field(default=None, primary_key=True)
            name: str
        """,
    )
    project.write(
        "zoo/animals/repositories.py",
        """
        from tausestack import Repository
        from tausestack.sdk.database import BaseRepository
        from zoo.animals.models import Animal

        @Repository
        class AnimalRepository(BaseRepository[Animal]):
            def named(self, name: str) -> list[Animal]:
                return self.list(name=name)
        """,
    )
    app = create_app(Settings(config_dir=tmp_path, installed_apps=["zoo.animals"]))
    repositories = __import__("zoo.animals.repositories", fromlist=["AnimalRepository"])
    models = __import__("zoo.animals.models", fromlist=["Animal"])
    database = app.container.get(Database)
    models.SQLModel.metadata.create_all(database.engine, tables=[models.Animal.__table__])
    animals = app.container.get(repositories.AnimalRepository)
    animals.create({"name": "okapi"})
    assert [animal.name for animal in animals.named("okapi")] == ["okapi"]
    database.engine.dispose()
    for name in [name for name in sys.modules if name.startswith("zoo")]:
        del sys.modules[name]


class _Fake:
    """Builds a backend class whose every operation records its name."""

    @staticmethod
    def backend_class() -> type:
        from tausestack.sdk.database import AbstractDatabaseBackend

        def operation(name: str) -> object:
            def run(self: object, *args: object, **kwargs: object) -> str:
                return f"fake {name}"

            return run

        names = AbstractDatabaseBackend.__abstractmethods__
        body: dict[str, object] = {name: operation(name) for name in names}
        body["__init__"] = lambda self, settings: setattr(self, "settings", settings)
        return type("FakeBackend", (AbstractDatabaseBackend,), body)


FakeBackend = _Fake.backend_class()


def test_a_backend_chosen_by_dotted_path(tmp_path: Path) -> None:
    from tausestack.sdk.database import AbstractDatabaseBackend

    settings = Settings(
        config_dir=tmp_path, database={"backend": "tests.sdk.test_database_config:FakeBackend"}
    )
    app = create_app(settings, components=[Reader])
    backend = app.container.get(AbstractDatabaseBackend)
    assert type(backend).__name__ == "FakeBackend"
    assert backend.get(object, 1) == "fake get"
    assert backend.settings is app.settings  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("tests.sdk.test_database_config:Reader", "is not a subclass of AbstractDatabaseBackend"),
        ("tests.sdk.nowhere:Backend", "cannot be imported"),
    ],
)
def test_bad_backend_paths(tmp_path: Path, backend: str, message: str) -> None:
    settings = Settings(config_dir=tmp_path, database={"backend": backend})
    with pytest.raises(DatabaseConfigurationError, match=message):
        create_app(settings, components=[Reader])


def test_database_support_is_added_only_when_something_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tausestack.di import DependencyKey
    from tests.conftest import Project

    project = Project(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    project.write(
        "shop/reports/services.py",
        """
        from tausestack import Service
        from tausestack.sdk import database

        @Service
        class Reports:
            def heroes(self) -> list[dict[str, object]]:
                return database.execute("SELECT 1 AS one")
        """,
    )
    project.write(
        "shop/plain/services.py",
        """
        from tausestack import Service

        @Service
        class Plain:
            pass
        """,
    )
    uses_it = create_app(Settings(config_dir=tmp_path, installed_apps=["shop.reports"]))
    without = create_app(Settings(config_dir=tmp_path, installed_apps=["shop.plain"]))
    assert uses_it.container.graph.lookup(DependencyKey(Database)) is not None
    assert without.container.graph.lookup(DependencyKey(Database)) is None
    with TestClient(uses_it):
        reports = __import__("shop.reports.services", fromlist=["Reports"]).Reports
        assert uses_it.container.get(reports).heroes() == [{"one": 1}]
    for name in [name for name in sys.modules if name.startswith("shop")]:
        del sys.modules[name]


def test_an_at_sign_in_the_password_must_be_percent_encoded(tmp_path: Path) -> None:
    with pytest.raises(DatabaseConfigurationError) as caught:
        urls("postgresql://app:p@ss@db/shop")
    message = str(caught.value)
    assert "has an '@' inside its user or password" in message
    assert "Percent-encode it as %40" in message
    assert "p@ss" not in message.split("(a password")[0]  # the password itself is hidden
    assert urls("postgresql://app:p%40ss@db/shop")[0] == "postgresql+psycopg://app:***@db/shop"


@pytest.mark.parametrize(
    "password", ["x@y:z/w", "se@cr:et", "k@v:q"], ids=["at-colon-slash", "at-colon", "short"]
)
def test_a_password_with_reserved_characters_must_be_percent_encoded(password: str) -> None:
    with pytest.raises(DatabaseConfigurationError) as caught:
        urls(f"postgresql://app:{password}@db:5432/shop")
    message = str(caught.value)
    assert "database.url 'postgresql://app:***@db:5432/shop'" in message
    assert "Percent-encode" in message
    assert "int()" not in message
    for part in {password, *password.replace("@", ":").replace("/", ":").split(":")}:
        assert f"'{part}'" not in message
        assert f" {part} " not in message


def test_an_unreachable_async_url_fails_at_startup(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        config_dir=tmp_path,
        database={
            "url": f"sqlite:///{tmp_path / 'app.db'}",
            "async_url": f"postgresql+asyncpg://app:s3cret@127.0.0.1:{port}/shop",
        },
    )
    app = create_app(settings, components=[Reader])
    with pytest.raises(DatabaseConnectionError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert f"host 127.0.0.1:{port}, driver asyncpg" in message
    assert "s3cret" not in message


def test_sdk_functions_work_in_an_app_without_database_components(tmp_path: Path) -> None:
    from tausestack import sdk

    app = create_app(Settings(config_dir=tmp_path, database={"url": "sqlite:///script.db"}))
    with sdk.use(app.container):
        sdk.database.execute("CREATE TABLE note (body TEXT)")
        with sdk.database.transaction():
            sdk.database.execute("INSERT INTO note VALUES (:body)", {"body": "kept"})
        with pytest.raises(RuntimeError), sdk.database.transaction():
            sdk.database.execute("INSERT INTO note VALUES (:body)", {"body": "dropped"})
            raise RuntimeError
        assert sdk.database.execute("SELECT body FROM note") == [{"body": "kept"}]
        assert sdk.database.backend() is sdk.database.backend()  # one backend per app
    assert (tmp_path / "script.db").is_file()


@pytest.mark.parametrize(
    ("setting", "value", "wrong", "suggestion"),
    [
        ("url", "sqllite:///app.db", "dialect 'sqllite'", "Did you mean 'sqlite'?"),
        ("url", "postgress://app:s3cret@db/x", "dialect 'postgress'", "'postgresql'"),
        ("url", "nope://x", "dialect 'nope'", "Known dialects: "),
        ("url", "postgresql+pyscopg://app:s3cret@db/x", "driver 'pyscopg'", "'psycopg'"),
        ("async_url", "postgress+asyncpg://app:s3cret@db/x", "dialect 'postgress'", "'postgres"),
        ("async_url", "sqlite+aoisqlite:///b.db", "driver 'aoisqlite'", "'aiosqlite'"),
    ],
)
def test_a_misspelled_dialect_or_driver_names_the_setting_and_a_near_match(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: str,
    wrong: str,
    suggestion: str,
) -> None:
    settings_file = tmp_path / "application.yaml"
    settings_file.write_text(f"app:\n  title: shop\ndatabase:\n  {setting}: '{value}'\n")
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(Settings(config_dir=tmp_path), components=[Reader])
    message = str(caught.value)
    assert f"database.{setting}" in message
    assert wrong in message
    assert suggestion in message
    assert f"database.{setting} is set in {settings_file}:4" in message
    assert "s3cret" not in message

    monkeypatch.setenv(f"TAUSESTACK_DATABASE__{setting.upper()}", value)
    with pytest.raises(DatabaseConfigurationError) as caught:
        create_app(Settings(config_dir=tmp_path), components=[Reader])
    assert f"is set in environment variable TAUSESTACK_DATABASE__{setting.upper()}" in str(
        caught.value
    )


SECRET_QUERIES = [
    "password=TopSecretQ",
    "sslpassword=TopSecretQ",
    "token=TopSecretQ",
    "api_key=TopSecretQ",
    "aws_secret_access_key=TopSecretQ",
    "credentials=TopSecretQ",
    "passwd=TopSecretQ",
]


@pytest.mark.parametrize("query", SECRET_QUERIES)
def test_secrets_in_the_query_string_are_hidden(query: str) -> None:
    settings = Settings(database={"url": f"postgresql://app@db/app?sslmode=require&{query}"})
    resolved = resolve(settings)
    sync, asynchronous = describe(resolved.sync), describe(resolved.asynchronous)
    key = query.partition("=")[0]
    assert sync.startswith("postgresql+psycopg://app@db/app?")
    assert f"{key}=***" in sync
    assert "sslmode=require" in sync
    assert "TopSecretQ" not in asynchronous
    assert "TopSecretQ" not in redact_text(f"postgresql://app@db:notaport/app?{query}&x=1")
    assert redact_text(f"postgresql://app@db/app?{query}&x=1").endswith(f"{key}=***&x=1")


def test_a_query_password_is_hidden_when_the_server_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql://app@127.0.0.1:{port}/shop?password=TopSecretQ&application_name=shop"
    app = create_app(Settings(config_dir=tmp_path, database={"url": url}), components=[Reader])
    with pytest.raises(DatabaseConnectionError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert f"postgresql+psycopg://app@127.0.0.1:{port}/shop?" in message
    assert "password=***" in message
    assert "application_name=shop" in message
    assert "TopSecretQ" not in message
    assert "TopSecretQ" not in repr(app.container.get(Database))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresq://app:s3cr?et@db/app", "postgresq://app:***@db/app"),
        (
            "postgresq://app:s3#cr?et@db/app?sslmode=require",
            "postgresq://app:***@db/app?sslmode=require",
        ),
        ("postgresq://app:s3 cr?et@db/app", "postgresq://app:***@db/app"),
        ("postgresq://app:p?token=x@db/app?password=q", "postgresq://app:***@db/app?password=***"),
        ("postgresq://app@db/app?email=a@b.example", "postgresq://app@db/app?email=a@b.example"),
    ],
)
def test_a_password_holding_a_question_mark_is_hidden(text: str, shown: str) -> None:
    assert redact_text(text) == shown
    with pytest.raises(DatabaseConfigurationError) as caught:
        urls(text)
    assert f"database.url {shown!r} names the database dialect 'postgresq'" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:p?a@b@db/app",
        "postgresql://app:p#a@b@db/app",
        "postgresql://a@b:pw@db/app",
    ],
    ids=["question-mark", "hash", "user"],
)
def test_an_at_sign_after_a_question_mark_in_the_password_is_refused(url: str) -> None:
    with pytest.raises(DatabaseConfigurationError) as caught:
        urls(url)
    message = str(caught.value)
    assert "Percent-encode it as %40" in message
    assert "database.url 'postgresql://" in message
    for part in ("p?a", "p#a", "a@b:pw", "@b@"):
        assert part not in message


@pytest.mark.postgres
@pytest.mark.anyio
@pytest.mark.parametrize(("profile", "shown"), [("prod", False), ("test", False), ("dev", True)])
async def test_a_failing_statement_shows_its_parameters_only_in_dev(
    tmp_path: Path, postgres_url: str, profile: str, shown: bool
) -> None:
    """A failing INSERT's error (what a 500 logs) carries no bound values outside ``dev``: they
    may be password hashes or personal data."""
    from sqlalchemy.exc import DBAPIError

    from tausestack.sdk.database._sqlalchemy import SQLAlchemyDatabaseBackend

    settings = Settings(
        config_dir=tmp_path,
        profile=profile,
        database={"url": postgres_url, "check_on_startup": False},
    )
    database = SQLAlchemyDatabaseBackend(Database(settings, create_app(settings).container))
    database.execute("CREATE TABLE accounts (email TEXT PRIMARY KEY, hash TEXT NOT NULL)")
    insert = "INSERT INTO accounts (email, hash) VALUES (:email, :hash)"
    row = {"email": "ada@example.com", "hash": "$argon2id$v=19$m=65536,t=3,p=4$hash-value"}
    database.execute(insert, row)
    try:
        with pytest.raises(DBAPIError) as sync_error:
            database.execute(insert, row)
        with pytest.raises(DBAPIError) as async_error:
            await database.aexecute(insert, row)
    finally:
        database.database.engine.dispose()
        await database.database.async_engine.dispose()
    for error in (sync_error.value, async_error.value):
        assert "INSERT INTO accounts" in str(error)
        assert ("hash-value" in str(error)) is shown
        assert ("SQL parameters hidden" in str(error)) is not shown

"""`tausestack generate`: each kind of component, where it goes, and refusals."""

import sqlite3
from pathlib import Path

import pytest

from tausestack.testing import TestClient, create_test_app
from tests.cli.conftest import Cli, tree


@pytest.mark.parametrize(
    ("kind", "path", "declaration"),
    [
        ("controller", "controllers/invoice_items.py", "class InvoiceItemsController:"),
        ("service", "services/invoice_items.py", "class InvoiceItemsService:"),
        ("model", "models/invoice_items.py", "class InvoiceItems(InvoiceItemsBase, table=True):"),
        ("task", "tasks.py", "@task\nasync def invoice_items() -> None:"),
    ],
)
def test_generate_each_kind(
    demo: Path, tausestack: Cli, kind: str, path: str, declaration: str
) -> None:
    result = tausestack("generate", kind, "InvoiceItems", "--app", "notes")
    assert result.exit_code == 0, result.output
    assert f"apps/notes/{path}" in result.stdout
    assert declaration in (demo / "apps" / "notes" / path).read_text()
    if "/" in path:
        assert (demo / "apps" / "notes" / path).parent.joinpath("__init__.py").is_file()


def test_generate_model_writes_a_table_and_its_schemas(demo: Path, tausestack: Cli) -> None:
    result = tausestack("generate", "model", "invoice", "--app", "notes")
    assert result.exit_code == 0, result.output
    assert 'tausestack db makemigrations -m "create invoice"' in result.stdout
    source = (demo / "apps" / "notes" / "models" / "invoice.py").read_text()
    for declaration in (
        "class InvoiceBase(SQLModel):",
        "class Invoice(InvoiceBase, table=True):",
        "class InvoiceCreate(InvoiceBase):",
        "class InvoiceRead(InvoiceBase):",
        "class InvoiceUpdate(SQLModel):",
    ):
        assert declaration in source
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table
    made = tausestack("db", "makemigrations", "-m", "create invoice")
    assert made.exit_code == 0, made.output
    assert made.stdout.count("Detected") == 1
    assert "Detected added table 'notes_invoice'" in made.stdout


def test_generate_repository_is_typed_by_its_model(demo: Path, tausestack: Cli) -> None:
    refused = tausestack("generate", "repository", "invoice", "--app", "notes")
    assert refused.exit_code == 2
    assert "apps/notes/models/invoice.py must define class Invoice" in refused.stderr
    assert "`tausestack generate model invoice --app notes`" in refused.stderr
    assert not (demo / "apps" / "notes" / "repositories" / "invoice.py").exists()
    assert tausestack("generate", "model", "invoice", "--app", "notes").exit_code == 0
    result = tausestack("generate", "repository", "invoice", "--app", "notes")
    assert result.exit_code == 0, result.output
    source = (demo / "apps" / "notes" / "repositories" / "invoice.py").read_text()
    assert "from tausestack.sdk.database import BaseRepository" in source
    assert "class InvoiceRepository(BaseRepository[Invoice]):" in source


def test_generate_task_appends_to_the_tasks_module(demo: Path, tausestack: Cli) -> None:
    tasks = demo / "apps" / "notes" / "tasks.py"
    assert tausestack("generate", "task", "send-digest", "--app", "notes").exit_code == 0
    assert tausestack("generate", "task", "Remind", "--app", "notes").exit_code == 0
    source = tasks.read_text()
    assert source.count("from tausestack.sdk.tasks import task") == 1
    assert "async def send_digest() -> None:" in source
    assert source.index("def send_digest") < source.index("def remind")
    again = tausestack("generate", "task", "remind", "--app", "notes")
    assert again.exit_code == 2
    assert "apps/notes/tasks.py already has a remind; choose another name" in again.stderr
    assert tasks.read_text() == source
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table, as `check` wants
    inspected = tausestack("check")
    assert inspected.exit_code == 0, inspected.output


def test_generate_task_adds_the_import_a_tasks_module_lacks(demo: Path, tausestack: Cli) -> None:
    tasks = demo / "apps" / "notes" / "tasks.py"
    tasks.write_text('"""My tasks."""\n\nimport logging\n\nlog = logging.getLogger(__name__)\n')
    assert tausestack("generate", "task", "purge", "--app", "notes").exit_code == 0
    assert tasks.read_text().startswith(
        '"""My tasks."""\n\nimport logging\n\nfrom tausestack.sdk.tasks import task\n\n'
        "log = logging.getLogger(__name__)\n\n\n@task\nasync def purge() -> None:"
    )
    (demo / "apps" / "notes" / "tasks.py").write_text("def broken(:\n")
    refused = tausestack("generate", "task", "other", "--app", "notes")
    assert refused.exit_code == 2
    assert "apps/notes/tasks.py does not parse" in refused.stderr


def test_generate_task_keeps_the_line_endings_of_a_windows_tasks_module(
    demo: Path, tausestack: Cli
) -> None:
    tasks = demo / "apps" / "notes" / "tasks.py"
    original = b'"""My tasks."""\r\n\r\nfrom tausestack.sdk.tasks import task\r\n\r\nLIMIT = 3\r\n'
    tasks.write_bytes(original)
    assert tausestack("generate", "task", "purge", "--app", "notes").exit_code == 0
    written = tasks.read_bytes()
    assert written.startswith(original)  # every line as it was
    assert b"async def purge() -> None:\r\n" in written
    assert written.count(b"\n") == written.count(b"\r\n")  # the new lines end as the file's do


def test_generate_task_into_a_tasks_package(demo: Path, tausestack: Cli) -> None:
    package = demo / "apps" / "notes" / "tasks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    assert tausestack("generate", "task", "purge", "--app", "notes").exit_code == 0
    assert "async def purge() -> None:" in (package / "purge.py").read_text()


def test_generated_components_are_discovered(demo: Path, tausestack: Cli) -> None:
    assert tausestack("generate", "model", "invoice-items", "--app", "notes").exit_code == 0
    for kind in ("controller", "service", "repository"):
        assert tausestack("generate", kind, "invoice-items", "--app", "notes").exit_code == 0
    routes = tausestack("routes")
    assert "/invoice-items " in routes.stdout  # at the prefix itself: no trailing slash
    assert "InvoiceItemsController.index" in routes.stdout
    inspected = tausestack("inspect")
    for name in ("InvoiceItemsService", "InvoiceItemsRepository", "InvoiceItemsController"):
        assert name in inspected.stdout


def test_the_starter_list_answers_at_its_prefix_without_a_redirect(
    demo: Path, tausestack: Cli
) -> None:
    assert tausestack("db", "upgrade").exit_code == 0  # app.db, where the test app looks
    app = create_test_app(config_dir=demo)
    with TestClient(app) as client:
        created = client.post("/notes", json={"text": "hi"}, follow_redirects=False)
        assert created.status_code == 201
        listed = client.get("/notes", follow_redirects=False)
        assert listed.status_code == 200
        assert listed.json()["items"] == [created.json()]
        # FastAPI's own semantics for the other spelling: a redirect to the route's path.
        slash = client.get("/notes/", follow_redirects=False)
        assert slash.status_code == 307
        assert slash.headers["location"].endswith("/notes")


def test_generate_refuses_to_overwrite_without_force(demo: Path, tausestack: Cli) -> None:
    assert tausestack("generate", "service", "audit", "--app", "notes").exit_code == 0
    target = demo / "apps" / "notes" / "services" / "audit.py"
    target.write_text("# my edits\n")
    refused = tausestack("generate", "service", "audit", "--app", "notes")
    assert refused.exit_code == 2
    assert (
        "apps/notes/services/audit.py already exists; pass --force to overwrite" in refused.stderr
    )
    assert target.read_text() == "# my edits\n"
    forced = tausestack("generate", "service", "audit", "--app", "notes", "--force")
    assert forced.exit_code == 0
    assert "class AuditService" in target.read_text()


def test_generate_refusals(demo: Path, tausestack: Cli) -> None:
    (demo / "apps" / "extra").mkdir()
    (demo / "apps" / "extra" / "__init__.py").write_text("")
    (demo / "apps" / "extra" / "controllers.py").write_text("")
    before = tree(demo)
    cases = [
        (["service", "x", "--app", "nope"], "No app 'nope' in this project"),
        (["service", "x", "--app", "extra"], "apps.extra is not in installed_apps"),
        (["service", "9-x", "--app", "notes"], "'9-x' cannot name a component"),
        (["model", "Class", "--app", "notes"], "'Class' cannot name a component: 'class' is a"),
        (["service", "x", "--app", ""], "--app '' is not an app name"),
        (["widget", "x", "--app", "notes"], "Invalid value for 'KIND'"),
    ]
    for arguments, message in cases:
        result = tausestack("generate", *arguments)
        assert result.exit_code == 2, arguments
        assert message in result.stderr, result.stderr
    config = demo / "application.yaml"
    config.write_text(
        config.read_text().replace("  - apps.notes", "  - apps.notes\n  - apps.extra")
    )
    single = tausestack("generate", "controller", "x", "--app", "extra")
    assert single.exit_code == 2
    assert "apps/extra/controllers.py is a single module" in single.stderr
    assert tree(demo) == before


@pytest.mark.parametrize(
    ("plural", "singular_form"),
    [
        ("notes", "note"),
        ("categories", "category"),
        ("addresses", "address"),
        ("boxes", "box"),
        ("order_items", "order_item"),
        ("billing", "billing"),
        ("news", "news"),
        ("analysis", "analysis"),
        ("status", "status"),
    ],
)
def test_singular(plural: str, singular_form: str) -> None:
    from tausestack.cli._names import singular

    assert singular(plural) == singular_form


# -- table names -------------------------------------------------------------------------------


def tables_of(folder: Path) -> set[str]:
    connection = sqlite3.connect(folder / "app.db")
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
    finally:
        connection.close()


def test_the_same_model_name_in_two_apps(demo: Path, tausestack: Cli) -> None:
    """Generated tables are named <app>_<name>, as Django names them, so names may repeat."""
    for app in ("billing", "store"):
        assert tausestack("new-app", app).exit_code == 0
        generated = tausestack("generate", "model", "item", "--app", app)
        assert generated.exit_code == 0, generated.output
        source = (demo / "apps" / app / "models" / "item.py").read_text()
        assert f'__tablename__ = "{app}_item"' in source
    assert tausestack("db", "upgrade").exit_code == 0
    made = tausestack("db", "makemigrations", "-m", "create items")
    assert made.exit_code == 0, made.output
    assert tausestack("db", "upgrade").exit_code == 0
    assert {"billing_item", "store_item", "billing", "store", "notes"} <= tables_of(demo)
    checked = tausestack("check")
    assert checked.exit_code == 0, checked.output


def test_an_app_and_a_model_of_the_same_name_do_not_clash(demo: Path, tausestack: Cli) -> None:
    assert tausestack("new-app", "items").exit_code == 0  # the table `items`
    generated = tausestack("generate", "model", "items", "--app", "notes")  # `notes_items`
    assert generated.exit_code == 0, generated.output
    assert tausestack("db", "upgrade").exit_code == 0
    assert tausestack("db", "makemigrations", "-m", "more").exit_code == 0
    assert tausestack("check").exit_code == 1  # pending revision, but the models load
    assert tausestack("db", "upgrade").exit_code == 0
    assert {"items", "notes_items"} <= tables_of(demo)


def test_a_table_name_the_apps_define_already_is_refused(demo: Path, tausestack: Cli) -> None:
    models = demo / "apps" / "notes" / "models"
    (models / "mine.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Archive(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n\n\n"
        "class Ledger(SQLModel, table=True):\n"
        '    __tablename__ = "notes_ledger"\n\n'
        "    id: int | None = Field(default=None, primary_key=True)\n"
    )
    assert tausestack("generate", "model", "invoice", "--app", "notes").exit_code == 0
    before = tree(demo), (demo / "application.yaml").read_text()
    cases = [
        (["generate", "model", "ledger", "--app", "notes"], "notes_ledger", "models/mine.py"),
        (["new-app", "archive"], "archive", "models/mine.py"),  # SQLModel's default name
        (["new-app", "notes_invoice"], "notes_invoice", "models/invoice.py"),
        (["new-app", "notes"], None, "already exists"),
    ]
    for arguments, table, where in cases:
        result = tausestack(*arguments)
        assert result.exit_code == 2, (arguments, result.output)
        if table is not None:
            assert f"The table {table} is defined already, in apps/notes/{where}" in result.stderr
        assert where in result.stderr
        assert (tree(demo), (demo / "application.yaml").read_text()) == before
    # Generating the same model again, over its own file, is no clash.
    forced = tausestack("generate", "model", "invoice", "--app", "notes", "--force")
    assert forced.exit_code == 0, forced.output


def test_a_table_name_longer_than_postgresql_allows_is_refused(demo: Path, tausestack: Cli) -> None:
    assert tausestack("new-app", "a" * 40).exit_code == 0
    before = tree(demo)
    result = tausestack("generate", "model", "b" * 23, "--app", "a" * 40)
    assert result.exit_code == 2
    assert "is 64 characters long; PostgreSQL keeps 63" in result.stderr
    assert tree(demo) == before
    assert tausestack("generate", "model", "b" * 22, "--app", "a" * 40).exit_code == 0


@pytest.mark.parametrize(
    ("name", "article"),
    [("item", "an"), ("order_line", "an"), ("invoice", "an"), ("user", "a"), ("hour", "an")],
)
def test_the_generated_docstrings_take_the_right_article(
    demo: Path, tausestack: Cli, name: str, article: str
) -> None:
    assert tausestack("generate", "model", name, "--app", "notes").exit_code == 0
    source = (demo / "apps" / "notes" / "models" / f"{name}.py").read_text()
    words = name.replace("_", " ")
    assert f"creates {article} {words}." in source
    assert f'"""{article.capitalize()} {words} as clients get it back.' in source


def test_a_task_name_taken_is_refused_with_the_right_article(demo: Path, tausestack: Cli) -> None:
    assert tausestack("generate", "task", "import_rows", "--app", "notes").exit_code == 0
    refused = tausestack("generate", "task", "import_rows", "--app", "notes")
    assert refused.exit_code == 2
    assert "already has an import_rows;" in refused.stderr

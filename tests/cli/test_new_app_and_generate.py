"""`tausestack new-app` and `tausestack generate`: files, installed_apps, and refusals."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tausestack.cli._output import BadInput
from tausestack.cli._yaml import with_installed_app
from tausestack.testing import TestClient, create_test_app
from tests.cli.conftest import Cli, tree


def test_new_app_creates_the_skeleton_and_installs_it(demo: Path, tausestack: Cli) -> None:
    before = (demo / "application.yaml").read_text()
    result = tausestack("new-app", "billing")
    assert result.exit_code == 0, result.output
    assert "added apps.billing to installed_apps" in result.stdout
    for path in (
        "apps/billing/settings.py",
        "apps/billing/models/billing.py",
        "apps/billing/repositories/billing.py",
        "apps/billing/services/billing.py",
        "apps/billing/controllers/billing.py",
        "tests/test_billing.py",
    ):
        assert (demo / path).is_file(), path
    after = (demo / "application.yaml").read_text()
    # Exactly one line added, under the last app; every comment and line kept in place.
    assert after.splitlines() == [
        *before.splitlines()[: before.splitlines().index("  - apps.notes") + 1],
        "  - apps.billing",
        *before.splitlines()[before.splitlines().index("  - apps.notes") + 1 :],
    ]
    assert 'tausestack db makemigrations -m "create billing"' in result.stdout
    for step in (["upgrade"], ["makemigrations", "-m", "create billing"], ["upgrade"]):
        assert tausestack("db", *step).exit_code == 0, step  # as new-app said
    check = tausestack("check")
    assert check.exit_code == 0, check.output
    assert "2 app(s)" in check.stdout


def test_app_names_are_snake_cased_as_generate_does(demo: Path, tausestack: Cli) -> None:
    result = tausestack("new-app", "Todos2")
    assert result.exit_code == 0, result.output
    assert "Created app todos2" in result.stdout
    assert "(app names are snake_case: Todos2 gives todos2)" in result.stdout
    assert (demo / "apps" / "todos2" / "settings.py").is_file()
    assert "class Todos2Settings(SettingsSection" in (demo / "apps/todos2/settings.py").read_text()
    assert "  - apps.todos2" in (demo / "application.yaml").read_text()
    assert tausestack("new-app", "OrderItems").exit_code == 0
    assert (demo / "apps" / "order_items" / "models" / "order_item.py").is_file()
    generated = tausestack("generate", "service", "Audit", "--app", "Todos2")
    assert generated.exit_code == 0, generated.output
    assert (demo / "apps" / "todos2" / "services" / "audit.py").is_file()
    routes = tausestack("routes").stdout
    assert "Todos2Controller.index" in routes
    assert "/order-items " in routes


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes", "already exists and is not empty"),
        ("Notes", "already exists and is not empty"),
        ("Bad Name", "App name 'Bad Name' is not a Python identifier (letters, digits and"),
        ("import", "App name 'import' is a Python keyword"),
        ("Import", "App name 'Import' (package 'import') is a Python keyword"),
        ("x" * 41, "is longer than 40 characters"),
        ("email", "App name 'email' is a standard-library module"),
        ("_x", "App name '_x' must not start or end with '_'"),
        ("app", "App name 'app' is a key of TauseStack's own settings"),
        ("installed_apps", "App name 'installed_apps' is a key of TauseStack's own settings"),
        ("repositories", "App name 'repositories' would give Repository two meanings in"),
        ("controller", "App name 'controller' would give Controller two meanings in"),
    ],
)
def test_new_app_refusals_write_nothing(
    demo: Path, tausestack: Cli, name: str, message: str
) -> None:
    before = tree(demo), (demo / "application.yaml").read_text()
    result = tausestack("new-app", name)
    assert result.exit_code == 2
    assert message in result.stderr
    assert (tree(demo), (demo / "application.yaml").read_text()) == before


def test_new_app_next_to_files_it_would_clash_with(demo: Path, tausestack: Cli) -> None:
    (demo / "tests" / "test_billing.py").write_text("# mine\n")
    (demo / "apps" / "zed.py").write_text("")
    (demo / "apps" / "file").write_text("")
    before = tree(demo), (demo / "application.yaml").read_text()
    cases = {
        "billing": "tests/test_billing.py already exists; remove it or choose another app name",
        "zed": "zed.py already exists and the new package would hide it",
        "file": "apps/file is a file; choose another app name",
    }
    for name, message in cases.items():
        result = tausestack("new-app", name)
        assert result.exit_code == 2
        assert message in result.stderr, result.stderr
        assert "--force" not in result.stderr
    assert (tree(demo), (demo / "application.yaml").read_text()) == before


def test_new_app_keeps_the_config_files_mode_and_link(demo: Path, tausestack: Cli) -> None:
    real = demo / "config" / "application.yaml"
    real.parent.mkdir()
    (demo / "application.yaml").rename(real)
    (demo / "application.yaml").symlink_to(real)
    real.chmod(0o640)
    assert tausestack("new-app", "billing").exit_code == 0
    assert (demo / "application.yaml").is_symlink()
    assert "  - apps.billing" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_new_app_refuses_a_read_only_config(demo: Path, tausestack: Cli) -> None:
    config = demo / "application.yaml"
    config.chmod(0o444)
    if os.access(config, os.W_OK):
        pytest.skip("running as root: read-only files are writable")
    before = tree(demo)
    result = tausestack("new-app", "billing")
    assert result.exit_code == 2
    assert "application.yaml is read-only" in result.stderr
    assert tree(demo) == before


def test_new_app_already_listed_in_installed_apps(demo: Path, tausestack: Cli) -> None:
    config = demo / "application.yaml"
    config.write_text(config.read_text().replace("  - apps.notes", "  - apps.notes\n  - apps.x"))
    before = tree(demo)
    result = tausestack("new-app", "x")
    assert result.exit_code == 2
    assert "apps.x is already in installed_apps" in result.stderr
    assert tree(demo) == before


def test_commands_outside_a_project(workdir: Path, tausestack: Cli) -> None:
    for command in (
        ["new-app", "billing"],
        ["generate", "service", "x", "--app", "notes"],
        ["routes"],
        ["inspect"],
        ["check"],
        ["config", "show"],
        ["run"],
        ["shell"],
    ):
        result = tausestack(*command)
        assert result.exit_code == 2, command
        assert "Not inside a TauseStack project: no application.yaml in" in result.stderr
    assert tree(workdir) == []


def test_commands_work_from_a_subfolder(
    demo: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo / "apps" / "notes")
    assert tausestack("db", "upgrade").exit_code == 0
    assert tausestack("check").exit_code == 0


# -- installed_apps editing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (
            "installed_apps:\n- apps.a   # first\n\n# next\nother: 1\n",
            "installed_apps:\n- apps.a   # first\n- apps.b\n\n# next\nother: 1\n",
        ),
        (
            "installed_apps:\n    - apps.a\nx:\n    y: 1",
            "installed_apps:\n    - apps.a\n    - apps.b\nx:\n    y: 1",
        ),
        ("installed_apps: [apps.a]  # flow\n", "installed_apps: [apps.a, apps.b]  # flow\n"),
        ("installed_apps: []\nx:\n    y: 1\n", "installed_apps: [apps.b]\nx:\n    y: 1\n"),
        ("installed_apps:\n# none\nx: 1\n", "installed_apps:\n  - apps.b\n# none\nx: 1\n"),
        ("installed_apps: null\n", "installed_apps:\n  - apps.b\n"),
        (
            "x: 1\r\ninstalled_apps:\r\n- apps.a\r\n",
            "x: 1\r\ninstalled_apps:\r\n- apps.a\r\n- apps.b\r\n",
        ),
        ("app:\n  title: x", "app:\n  title: x\ninstalled_apps:\n  - apps.b\n"),
    ],
)
def test_installed_apps_edits_keep_the_file(tmp_path: Path, original: str, expected: str) -> None:
    path = tmp_path / "application.yaml"
    path.write_bytes(original.encode())
    assert with_installed_app(path, "apps.b") == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("installed_apps: apps.a\n", "installed_apps in .* is not a list"),
        ("- a\n- b\n", "must hold a mapping of settings"),
        ("installed_apps: [unclosed\n", "Cannot read .*Fix the YAML"),
    ],
)
def test_installed_apps_edits_refuse_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "application.yaml"
    path.write_text(content)
    with pytest.raises(BadInput, match=message):
        with_installed_app(path, "apps.b")


# -- generate ----------------------------------------------------------------------------------


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
    assert "Detected added table 'invoice'" in made.stdout


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
        assert listed.json() == [created.json()]
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


# -- the generated code in its project ----------------------------------------------------------

GENERATED_WORK = '''"""The generated billing components at work (written by TauseStack's tests)."""

from tausestack import TauseStackApp
from tausestack.sdk.tasks import Tasks
from tausestack.testing import TestClient

from apps.billing.models.invoice import InvoiceCreate, InvoiceUpdate
from apps.billing.repositories.invoice import InvoiceRepository
from apps.billing.tasks import send_invoice


def test_the_repository_stores_invoices(tausestack_app: TauseStackApp, client: TestClient) -> None:
    invoices = tausestack_app.container.get(InvoiceRepository)
    created = invoices.create(InvoiceCreate(name="March"))
    assert created.id is not None
    changed = invoices.update(created.id, InvoiceUpdate(name="April"))
    assert [invoice.name for invoice in invoices.list()] == [changed.name] == ["April"]


def test_the_task_runs(tausestack_app: TauseStackApp, client: TestClient) -> None:
    tasks = tausestack_app.container.get(Tasks)
    job_id = tasks.enqueue(send_invoice)
    assert tasks.wait_result(job_id) is None


def test_the_controller_answers(client: TestClient) -> None:
    assert client.get("/invoices", follow_redirects=False).json() == []
'''


def run_in(project: Path, *command: str) -> str:
    """Run ``python -m COMMAND`` in ``project`` with this environment's Python; fail if it fails."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TAUSESTACK_")
    }
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.e2e
def test_scaffolded_and_generated_code_passes_the_projects_own_checks(
    demo: Path, tausestack: Cli
) -> None:
    """ruff, ruff format, mypy --strict and the tests, as the new project configures them."""
    longest = "a" * 39 + "s"  # names up to 40 characters keep lines within 100 columns
    for arguments in (
        ["new-app", "Billing"],
        ["new-app", longest],
        ["generate", "model", "Invoice", "--app", "billing"],
        ["generate", "repository", "Invoice", "--app", "billing"],
        ["generate", "service", "invoices", "--app", "billing"],
        ["generate", "controller", "invoices", "--app", "billing"],
        ["generate", "task", "send_invoice", "--app", "billing"],
        ["generate", "model", "b" * 40, "--app", longest],
        ["generate", "repository", "b" * 40, "--app", longest],
        ["generate", "task", "c" * 40, "--app", longest],
    ):
        result = tausestack(*arguments)
        assert result.exit_code == 0, (arguments, result.output)
    (demo / "tests" / "test_generated.py").write_text(GENERATED_WORK)
    # The steps new-app and generate model print: the new tables' revision (the test database
    # is made by the migrations, and names a table they leave out).
    run_in(demo, "tausestack", "db", "upgrade")
    run_in(demo, "tausestack", "db", "makemigrations", "-m", "create the generated tables")
    run_in(demo, "ruff", "check", ".")
    run_in(demo, "ruff", "format", "--check", ".")
    run_in(demo, "mypy")
    tests = run_in(demo, "pytest", "-q", "-p", "no:cacheprovider")
    assert "15 passed" in tests

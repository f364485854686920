"""What new-app and generate write passes the new project's own checks and tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

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
        ["generate", "model", "b" * 40, "--app", "billing"],
        ["generate", "repository", "b" * 40, "--app", "billing"],
        # The longest table name PostgreSQL keeps: 63 characters, APP_NAME.
        ["generate", "model", "b" * 22, "--app", longest],
        ["generate", "repository", "b" * 22, "--app", longest],
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
    assert "18 passed" in tests


def test_the_starter_pages_no_larger_than_its_documented_size_bound(demo: Path) -> None:
    """The starter's max_page_size never advertises one bound in OpenAPI and applies another."""
    code = (
        "from main import app\n"
        "from apps.notes.settings import NotesSettings\n"
        "size = next(p for p in app.openapi()['paths']['/notes']['get']['parameters']"
        " if p['name'] == 'size')\n"
        "print(size['schema']['maximum'], app.container.get(NotesSettings).max_page_size,"
        " NotesSettings.model_fields['max_page_size'].default)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=demo, capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    advertised, configured, default = (int(value) for value in shown.stdout.split())
    assert advertised == configured == default

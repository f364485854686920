"""`tausestack new-app` and `tausestack generate`: files, installed_apps, and refusals."""

import os
import stat
from pathlib import Path

import pytest

from tausestack.cli._output import BadInput
from tausestack.cli._yaml import with_installed_app
from tests.cli.conftest import Cli, tree


def test_new_app_creates_the_skeleton_and_installs_it(demo: Path, tausestack: Cli) -> None:
    before = (demo / "application.yaml").read_text()
    result = tausestack("new-app", "billing")
    assert result.exit_code == 0, result.output
    assert "added apps.billing to installed_apps" in result.stdout
    for path in (
        "apps/billing/settings.py",
        "apps/billing/models/billing.py",
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
    check = tausestack("check")
    assert check.exit_code == 0, check.output
    assert "2 app(s)" in check.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes", "already exists and is not empty"),
        ("Bad-Name", "App name 'Bad-Name' is not a Python identifier"),
        ("import", "App name 'import' is a Python keyword"),
        ("email", "App name 'email' is a standard-library module"),
        ("_x", "App name '_x' must not start or end with '_'"),
        ("app", "App name 'app' is a key of TauseStack's own settings"),
        ("installed_apps", "App name 'installed_apps' is a key of TauseStack's own settings"),
        ("services", "App name 'services' would name its model class Service"),
        ("controller", "App name 'controller' would name its model class Controller"),
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


# -- generate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path", "declaration"),
    [
        ("controller", "controllers/invoice_items.py", "class InvoiceItemsController:"),
        ("service", "services/invoice_items.py", "class InvoiceItemsService:"),
        ("repository", "repositories/invoice_items.py", "class InvoiceItemsRepository:"),
        ("model", "models/invoice_items.py", "class InvoiceItems(BaseModel):"),
    ],
)
def test_generate_each_kind(
    demo: Path, tausestack: Cli, kind: str, path: str, declaration: str
) -> None:
    result = tausestack("generate", kind, "InvoiceItems", "--app", "notes")
    assert result.exit_code == 0, result.output
    assert f"apps/notes/{path}" in result.stdout
    assert declaration in (demo / "apps" / "notes" / path).read_text()
    assert (demo / "apps" / "notes" / path).parent.joinpath("__init__.py").is_file()


def test_generated_components_are_discovered(demo: Path, tausestack: Cli) -> None:
    for kind in ("controller", "service", "repository"):
        assert tausestack("generate", kind, "invoice-items", "--app", "notes").exit_code == 0
    routes = tausestack("routes")
    assert "/invoice-items/" in routes.stdout
    assert "InvoiceItemsController.index" in routes.stdout
    inspected = tausestack("inspect")
    for name in ("InvoiceItemsService", "InvoiceItemsRepository", "InvoiceItemsController"):
        assert name in inspected.stdout


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

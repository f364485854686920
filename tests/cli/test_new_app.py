"""`tausestack new-app`: the app's files, installed_apps, and refusals."""

import os
import stat
import subprocess
import sys
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
        ("json", "App name 'json' is a standard-library module"),
        ("JSON", "App name 'JSON' (package 'json') is a standard-library module"),
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


def run_script(script: str, project: Path, *arguments: str, path: str) -> str:
    """Run the ``tausestack`` script as ``script`` (a path as a user types it) in ``project``."""
    result = subprocess.run(
        [script, *arguments],
        cwd=project,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(os.name == "nt", reason="a POSIX symlink stands in for the project's venv")
def test_the_printed_steps_run_the_command_as_it_was_run(demo: Path) -> None:
    # The project's own .venv/bin/tausestack, with no `tausestack` on PATH (not activated).
    script = Path(sys.executable).with_name("tausestack")
    (demo / ".venv" / "bin").mkdir(parents=True)
    (demo / ".venv" / "bin" / "tausestack").symlink_to(script)
    without = os.pathsep.join(
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if not (Path(folder) / "tausestack").exists()
    )
    output = run_script(".venv/bin/tausestack", demo, "new-app", "billing", path=without)
    assert '\n  .venv/bin/tausestack db makemigrations -m "create billing"\n' in output
    # Run by its full path from elsewhere: the full path.
    output = run_script(
        str(script), demo, "generate", "model", "invoice", "--app", "billing", path=without
    )
    assert f"\n  {script} db upgrade\n" in output
    # With the same command on PATH, its plain name.
    output = run_script(str(script), demo, "new-app", "store", path=str(script.parent))
    assert '\n  tausestack db makemigrations -m "create store"\n' in output

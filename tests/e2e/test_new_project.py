"""A project made by `tausestack init` works the first time, in its own virtual environment.

The test creates a project, installs it into a fresh virtual environment with this checkout of
TauseStack as its dependency, runs the project's own test command and `ruff check`, serves it
with `tausestack run`, then adds an app and a generated controller and serves it again.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.processes import free_port, serving

pytestmark = pytest.mark.e2e

CHECKOUT = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, timeout: float = 600) -> str:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAUSESTACK_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    result = subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_a_new_project_installs_tests_lints_and_serves(tmp_path: Path) -> None:
    run([sys.executable, "-m", "tausestack", "init", "demo", "--no-git"], cwd=tmp_path)
    project = tmp_path / "demo"
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", "-e", str(CHECKOUT)], cwd=project)
    run([python, "-m", "pip", "install", "--quiet", "-e", ".[dev]"], cwd=project)

    tests = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert "3 passed" in tests
    run([python, "-m", "ruff", "check", "."], cwd=project)

    port = free_port()
    serve = [python, "-m", "tausestack", "run", "--no-reload", "--port", str(port)]
    with serving(serve, project, port, tmp_path / "first.log") as base:
        assert httpx2.get(f"{base}/docs").status_code == 200
        assert httpx2.get(f"{base}/notes/").status_code == 200
        assert httpx2.post(f"{base}/notes/", json={"text": "hi"}).status_code == 201

    run([python, "-m", "tausestack", "new-app", "billing"], cwd=project)
    tausestack = [python, "-m", "tausestack"]
    run([*tausestack, "generate", "controller", "invoices", "--app", "billing"], cwd=project)
    port = free_port()
    serve = [python, "-m", "tausestack", "run", "--no-reload", "--port", str(port)]
    with serving(serve, project, port, tmp_path / "second.log") as base:
        invoices = httpx2.get(f"{base}/invoices/")
        assert invoices.status_code == 200
        assert invoices.json() == []
        assert httpx2.get(f"{base}/billing/").status_code == 200

    tests = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert "6 passed" in tests
    run([python, "-m", "ruff", "check", "."], cwd=project)
    run([python, "-m", "ruff", "format", "--check", "."], cwd=project)

"""scripts/setup and scripts/demo: what each installs, with pip's output, and reuse of .venv.

They run on a copy of the scripts and pyproject.toml whose `.venv/bin/python` is a stand-in: it
records what pip and uvicorn were asked to do instead of doing it, and computes everything else
with this Python.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

STAND_IN = f"""#!/bin/sh
if [ "$1" = "-m" ] && {{ [ "$2" = "pip" ] || [ "$2" = "uvicorn" ]; }}; then
    echo "$@" >>"$(dirname "$0")/calls"
    exit 0
fi
exec {sys.executable} "$@"
"""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The scripts and pyproject.toml, with a .venv whose python is the stand-in."""
    shutil.copytree(CHECKOUT / "scripts", tmp_path / "scripts")
    shutil.copy(CHECKOUT / "pyproject.toml", tmp_path)
    (tmp_path / "examples" / "bookshop").mkdir(parents=True)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STAND_IN)
    python.chmod(0o755)
    return tmp_path


def run(clone: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=clone, capture_output=True, text=True, timeout=60, check=False
    )


def calls(clone: Path) -> list[str]:
    recorded = clone / ".venv" / "bin" / "calls"
    return recorded.read_text().splitlines() if recorded.exists() else []


def stamp(clone: Path, what: str) -> None:
    fingerprint = hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest()
    (clone / ".venv" / ".tausestack-setup").write_text(f"{what} {fingerprint}\n")


def test_the_demo_installs_tausestack_alone_and_shows_pips_output(clone: Path) -> None:
    result = run(clone, "scripts/demo")
    assert result.returncode == 0, result.stderr
    assert calls(clone) == [
        "-m pip install -e .",
        "-m uvicorn main:app --host 127.0.0.1 --port 8000",
    ]
    assert "==> Installing TauseStack (core: pip install -e '.') into .venv" in result.stdout
    assert "==> Serving the bookshop example on http://127.0.0.1:8000" in result.stdout


def test_the_tests_install_the_dev_extra(clone: Path) -> None:
    result = run(clone, "scripts/setup")
    assert result.returncode == 0, result.stderr
    assert calls(clone) == ["-m pip install -e .[dev]"]


def test_a_venv_set_up_for_the_tests_serves_the_demo_without_installing(clone: Path) -> None:
    stamp(clone, "dev")
    result = run(clone, "scripts/demo")
    assert result.returncode == 0, result.stderr
    assert "==> .venv already has TauseStack (core) for this pyproject.toml" in result.stdout
    assert calls(clone) == ["-m uvicorn main:app --host 127.0.0.1 --port 8000"]


def test_the_demos_venv_gets_the_dev_extra_for_the_tests(clone: Path) -> None:
    stamp(clone, "core")
    assert run(clone, "scripts/setup").returncode == 0
    assert calls(clone) == ["-m pip install -e .[dev]"]
    assert run(clone, "scripts/setup").returncode == 0  # recorded: nothing more to install
    assert run(clone, "scripts/setup", "core").returncode == 0
    assert calls(clone) == ["-m pip install -e .[dev]"]


def test_a_changed_pyproject_installs_again(clone: Path) -> None:
    stamp(clone, "dev")
    with (clone / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# a new dependency\n")
    assert run(clone, "scripts/setup", "core").returncode == 0
    assert calls(clone) == ["-m pip install -e ."]


def test_an_unknown_argument_is_refused(clone: Path) -> None:
    result = run(clone, "scripts/setup", "everything")
    assert result.returncode == 2
    assert "Usage: scripts/setup [dev|core] (got 'everything')." in result.stderr
    assert calls(clone) == []

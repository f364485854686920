"""Fixtures for CLI tests: a scratch working folder, a runner, and a freshly created project."""

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import SQLModel
from typer.testing import CliRunner, Result

from tausestack.cli import cli


class Cli:
    """Runs ``tausestack ...`` in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *arguments: str) -> Result:
        return self.runner.invoke(cli, list(arguments))


@pytest.fixture
def tausestack(monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "240")  # wide tables, so cells are not truncated
    return Cli()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working folder; modules the commands import from it are forgotten after."""
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    yield tmp_path
    sys.path[:] = path_before
    _forget_table_models(tmp_path)
    for name, module in list(sys.modules.items()):
        location = f"{getattr(module, '__file__', '')} {getattr(module, '__path__', '')}"
        if str(tmp_path) in location:
            del sys.modules[name]


def _forget_table_models(folder: Path) -> None:
    """Drop the SQLModel tables a project in ``folder`` defined from the shared metadata.

    The next test's project defines the same tables (the starter's `note`) again, which
    SQLAlchemy refuses while these are still registered.
    """
    registry = SQLModel._sa_registry
    for mapper in list(registry.mappers):
        module = sys.modules.get(mapper.class_.__module__)
        if str(folder) in str(getattr(module, "__file__", "")):
            SQLModel.metadata.remove(mapper.local_table)
            registry._dispose_cls(mapper.class_)  # frees its name for the next definition


@pytest.fixture
def demo(workdir: Path, tausestack: Cli) -> Path:
    """A project made by `tausestack init demo --no-git`, as the working directory."""
    result = tausestack("init", "demo", "--no-git")
    assert result.exit_code == 0, result.output
    os.chdir(workdir / "demo")
    return workdir / "demo"


@pytest.fixture
def bare_demo(demo: Path) -> Path:
    """`init`'s project without the starter's table and migrations: each test brings its own."""
    shutil.rmtree(demo / "migrations")
    for package in ("models", "services", "controllers"):
        (demo / "apps" / "notes" / package / "note.py").unlink()
    shutil.rmtree(demo / "apps" / "notes" / "repositories")
    (demo / "tests" / "test_notes.py").unlink()
    return demo


def tree(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, relative, sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))

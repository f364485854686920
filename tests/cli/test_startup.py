"""The command line starts without the framework: commands that build no app never import FastAPI.

Each command runs in a fresh interpreter (``python -m tausestack``, as a user runs it) with an
``atexit`` hook that writes which of the heavy modules ended up in ``sys.modules``.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from tausestack.cli import cli
from tests.cli.conftest import Cli

#: Imported only by commands that load the project's app (run, routes, check, ...).
FRAMEWORK = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "uvicorn",
    "tausestack.app",
)
#: The settings machinery: only commands that read the project's settings need it.
SETTINGS = ("pydantic_settings",)

# Runs the CLI's entry point once per command line in ``COMMANDS``; after each, records the heavy
# modules imported so far. Its stdout is the commands' own, the report goes to a file.
PROBE = textwrap.dedent(
    """
    import json, os, runpy, sys
    heavy, report, found = json.loads(os.environ["HEAVY"]), os.environ["REPORT"], {}
    for arguments in json.loads(os.environ["COMMANDS"]):
        sys.argv = ["tausestack", *arguments]
        try:
            runpy.run_module("tausestack", run_name="__main__", alter_sys=True)
        except SystemExit as exit:
            status = exit.code
        found[" ".join(arguments)] = {
            "status": status, "imported": [name for name in heavy if name in sys.modules]
        }
    with open(report, "w") as stream:
        json.dump(found, stream)
    """
)


def imported_by(
    commands: list[list[str]], cwd: Path, heavy: tuple[str, ...], **env: str
) -> dict[str, Any]:
    """Run ``commands`` one after another in one fresh interpreter; what each left imported."""
    report = cwd / "imported.json"
    environment = {
        **os.environ,
        **env,
        "HEAVY": json.dumps(heavy),
        "COMMANDS": json.dumps(commands),
        "REPORT": str(report),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(report.read_text())
    report.unlink()
    return found


def all_command_lines(group: Any, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """``[name, ...]`` for every command and group of the CLI, nested ones included."""
    lines = []
    for name, command in group.commands.items():
        lines.append([*prefix, name])
        if hasattr(command, "commands"):
            lines += all_command_lines(command, (*prefix, name))
    return lines


@pytest.mark.parametrize(
    "arguments", [["--help"], ["--version"], ["version"], [], ["init", "demo", "--no-git"]]
)
def test_commands_without_a_project_import_neither_framework_nor_settings(
    workdir: Path, arguments: list[str]
) -> None:
    found = imported_by([arguments], workdir, FRAMEWORK + SETTINGS)
    assert found[" ".join(arguments)]["imported"] == []


def test_scaffolding_a_project_imports_no_framework(demo: Path) -> None:
    commands = [["new-app", "billing"], ["generate", "service", "invoices", "--app", "billing"]]
    found = imported_by(commands, demo, FRAMEWORK)
    assert found == {
        "new-app billing": {"status": 0, "imported": []},
        "generate service invoices --app billing": {"status": 0, "imported": []},
    }
    assert (demo / "apps/billing/services/invoices.py").is_file()


def test_the_help_of_every_command_imports_no_framework(demo: Path) -> None:
    commands = [[*line, "--help"] for line in all_command_lines(get_command(cli))]
    assert len(commands) > 15  # every command and group, nested ones included
    found = imported_by(commands, demo, FRAMEWORK + SETTINGS)
    statuses = {line: result["status"] for line, result in found.items()}
    assert set(statuses.values()) == {0}, statuses
    first = next((line for line, result in found.items() if result["imported"]), None)
    assert first is None, f"`tausestack {first}` imported {found[first]['imported']}"


def test_shell_completion_imports_no_framework(demo: Path) -> None:
    # What the shell runs on every Tab: it must answer as fast as --help.
    found = imported_by(
        [[]],
        demo,
        FRAMEWORK + SETTINGS,
        _TAUSESTACK_COMPLETE="complete_bash",
        COMP_WORDS="tausestack db up",
        COMP_CWORD="2",
    )
    assert found[""] == {"status": 0, "imported": []}


def test_commands_that_load_the_app_still_work_after_the_light_ones(
    demo: Path, tausestack: Cli
) -> None:
    # The lazily imported framework arrives when a command needs it, in the same process.
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table, for check
    found = imported_by([["version"], ["check"]], demo, ("fastapi",))
    assert found["version"] == {"status": 0, "imported": []}
    assert found["check"] == {"status": 0, "imported": ["fastapi"]}

"""docs/cli.md and the command line cannot drift apart."""

import re
from pathlib import Path
from typing import Any

from typer.main import get_command

from tausestack.cli import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every command of the CLI by its full name (``config show``)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= commands(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


def documented() -> set[str]:
    return set(re.findall(r"^## `tausestack ([a-z- ]+)`$", DOCS.read_text(), re.MULTILINE))


def test_every_documented_command_exists() -> None:
    existing = set(commands(get_command(cli)))
    assert documented() <= existing, documented() - existing


def test_every_command_is_documented() -> None:
    existing = set(commands(get_command(cli)))
    assert existing <= documented(), existing - documented()


def test_every_documented_option_exists() -> None:
    text = DOCS.read_text()
    for name, command in commands(get_command(cli)).items():
        usage = re.search(rf"```bash\ntausestack {name}(.*)\n```", text)
        assert usage, f"docs/cli.md has no usage line for {name}"
        flags = {
            flag
            for parameter in command.params
            for flag in [*parameter.opts, *getattr(parameter, "secondary_opts", [])]
        }
        for option in re.findall(r"--[a-z-]+", usage.group(1)):
            assert option in flags, f"{name}: docs mention {option}, the command has {flags}"

"""What every Click/Typer command line does: help, --version, exit statuses, shell completion.

Each test runs the real entry point in a fresh process, as a shell would.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from tausestack.cli import cli
from tests.cli.conftest import Cli

SCRIPT = Path(sys.executable).parent / "tausestack"


def tausestack(*arguments: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tausestack", *arguments],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("arguments", [[], ["db"], ["config"]])
def test_a_bare_command_or_group_shows_its_help_and_exits_2(
    workdir: Path, arguments: list[str]
) -> None:
    result = tausestack(*arguments, cwd=workdir)
    assert result.returncode == 2
    assert f"Usage: tausestack {' '.join(arguments)}".rstrip() in result.stdout
    assert "Error" not in result.stdout + result.stderr


@pytest.mark.parametrize("arguments", [["--help"], ["run", "--help"], ["db", "--help"]])
def test_help_shows_no_type_for_flags(workdir: Path, arguments: list[str]) -> None:
    result = tausestack(*arguments, cwd=workdir)
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if "--help" in line]
    assert len(lines) == 1
    assert re.search(r"--help\s+Show this message and exit\.", lines[0]), lines[0]
    assert "<bool>" not in result.stdout


def test_help_keeps_the_types_of_options_that_take_a_value(workdir: Path) -> None:
    result = tausestack("run", "--help", cwd=workdir)
    # A type (`<int range>`, or `INTEGER RANGE` before Typer 0.29) between the option and its help.
    assert re.search(r"--port\s+(?!Port)\S", result.stdout), result.stdout
    assert re.search(r"--reload\s+--no-reload\s+Restart when a", result.stdout)


def test_version_flag_prints_what_the_version_command_prints(workdir: Path) -> None:
    flag = tausestack("--version", cwd=workdir)
    command = tausestack("version", cwd=workdir)
    assert flag.returncode == command.returncode == 0
    assert flag.stdout == command.stdout
    assert re.fullmatch(r"tausestack \S+ \(FastAPI \S+, Python \S+\)\n", flag.stdout)


def test_version_flag_wins_over_a_command(workdir: Path) -> None:
    # Eager, as --help: it answers even before a command that would fail here (no project).
    result = tausestack("--version", "routes", cwd=workdir)
    assert result.returncode == 0
    assert result.stdout.startswith("tausestack ")


def test_the_help_lists_version_and_completion_options(workdir: Path) -> None:
    result = tausestack("--help", cwd=workdir)
    for option in ("--version", "--install-completion", "--show-completion"):
        assert option in result.stdout


def test_tab_completes_commands_and_options(workdir: Path) -> None:
    # What bash's completion function runs on Tab (see `--show-completion bash`).
    def complete(words: str) -> list[str]:
        result = tausestack(
            cwd=workdir,
            _TAUSESTACK_COMPLETE="complete_bash",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert complete("tausestack r") == ["run", "routes"]
    assert complete("tausestack db up") == ["upgrade"]
    assert "--no-reload" in complete("tausestack run --")


#: Typer's switch for tests: the completion options take the shell (``--show-completion bash``)
#: instead of detecting it from the processes above, which vary from one machine to another.
EXPLICIT_SHELL = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


def test_show_completion_prints_the_script_for_the_shell(workdir: Path) -> None:
    result = tausestack("--show-completion", "bash", cwd=workdir, **EXPLICIT_SHELL)
    assert result.returncode == 0, result.stderr
    assert "_TAUSESTACK_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F" in result.stdout


def test_install_completion_sets_up_the_users_shell(workdir: Path) -> None:
    home = workdir / "home"
    home.mkdir()
    result = tausestack(
        "--install-completion", "bash", cwd=workdir, HOME=str(home), **EXPLICIT_SHELL
    )
    assert result.returncode == 0, result.stderr
    assert "bash completion installed in" in result.stdout
    script = home / ".bash_completions" / "tausestack.sh"
    assert "_TAUSESTACK_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (home / ".bashrc").read_text()


@pytest.mark.skipif(os.name == "nt", reason="bash")
def test_the_shell_is_detected_from_the_shell_that_runs_the_command(workdir: Path) -> None:
    # `; exit` keeps bash from replacing itself with the command: bash is its parent.
    script = f"{SCRIPT} --show-completion; exit $?"
    result = subprocess.run(
        ["bash", "-c", script], cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "_TAUSESTACK_COMPLETE=complete_bash" in result.stdout


#: Runs its arguments as a child process: ten of these above the command hide any shell from
#: shellingham, which looks ten processes up.
RELAY = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


@pytest.mark.skipif(os.name == "nt", reason="shellingham reads the process tree of POSIX")
@pytest.mark.parametrize("option", ["--show-completion", "--install-completion"])
def test_no_shell_to_detect_is_a_one_line_error(workdir: Path, option: str) -> None:
    command = [str(SCRIPT), option]
    for _ in range(10):
        command = [sys.executable, "-c", RELAY, *command]
    home = workdir / "home"
    home.mkdir()
    result = subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Cannot tell which shell" in result.stderr
    assert "_TAUSESTACK_COMPLETE=source_bash tausestack" in result.stderr  # names the shell
    assert not list(home.iterdir())  # nothing installed


def test_each_command_is_one_short_line_in_the_command_list() -> None:
    commands = get_command(cli).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        summary = (command.help or "").split("\n\n")[0]
        assert len(" ".join(summary.split())) <= 90, (name, summary)


def test_the_run_help_says_what_restarts_the_server(workdir: Path) -> None:
    result = tausestack("run", "--help", cwd=workdir, COLUMNS="200")
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())
    for watched in ("*.py", "application*.yaml", ".env"):
        assert watched in help_text
    assert "--workers needs --no-reload" in help_text


def test_the_check_help_says_what_it_checks_and_its_exit_status(workdir: Path) -> None:
    result = tausestack("check", "--help", cwd=workdir, COLUMNS="200")
    help_text = " ".join(result.stdout.split())
    for checked in ("settings", "routes", "unapplied migrations", "exit status 1"):
        assert checked in help_text


def test_in_process_runner_sees_the_same_conventions(workdir: Path, tausestack: Cli) -> None:
    assert tausestack("--version").stdout.startswith("tausestack ")
    assert tausestack().exit_code == 2


def test_the_root_options_are_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    usage = re.search(r"```bash\ntausestack (\[.*)\n```", docs)
    assert usage, "docs/cli.md has no usage line for the root command"
    options = {
        option
        for parameter in get_command(cli).params
        for option in [*parameter.opts, *parameter.secondary_opts]
    }
    assert options == set(re.findall(r"--[a-z-]+", usage.group(1))) - {"--help"}

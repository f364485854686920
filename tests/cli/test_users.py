"""``tausestack users create`` and ``users roles``: the first admin and roles from the command
line, the password from a hidden prompt or standard input, never from the arguments."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlmodel import SQLModel

from tausestack import Settings
from tausestack.cli import cli
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth._providers import auth_backend
from tests.cli.conftest import Cli
from tests.processes import free_port

SECRET = "users-command-secret-of-at-least-32-bytes"
PASSWORD = "correct horse battery"

CONFIG = f"""
installed_apps: [tausestack.contrib.auth]
database:
  url: sqlite:///app.db
auth:
  backend: jwt
  jwt:
    secret: {SECRET}
"""


@pytest.fixture
def project(workdir: Path) -> Path:
    """A project with the jwt backend whose database has the auth tables."""
    (workdir / "application.yaml").write_text(CONFIG, encoding="utf-8")
    with backend_of(workdir) as backend:
        tables = [AuthAccount.__table__, AuthToken.__table__]
        SQLModel.metadata.create_all(backend.database.engine, tables=tables)  # type: ignore[arg-type]
    return workdir


class backend_of:
    """The project's jwt backend, its engine disposed afterwards."""

    def __init__(self, folder: Path) -> None:
        self.backend: Any = auth_backend(Settings(config_dir=folder))

    def __enter__(self) -> Any:
        return self.backend

    def __exit__(self, *exc_info: object) -> None:
        self.backend.database.engine.dispose()


def create(tausestack: Cli, *arguments: str, password: str = PASSWORD) -> Any:
    arguments = ("users", "create", *arguments, "--password-stdin")
    return tausestack.runner.invoke(cli, list(arguments), input=password + "\n")


def test_create_the_first_admin(project: Path, tausestack: Cli) -> None:
    result = create(tausestack, "--email", "Ana@Example.com", "--role", "admin", "--role", "staff")
    assert result.exit_code == 0, result.output
    assert "Created the account ana@example.com" in result.output
    assert "admin, staff" in result.output
    assert PASSWORD not in result.output
    with backend_of(project) as backend:
        pair = backend.login("ana@example.com", PASSWORD)  # the password works
        assert backend.verify_token(pair.access_token).roles == ("admin", "staff")


def test_roles_are_listed_added_and_removed(project: Path, tausestack: Cli) -> None:
    assert create(tausestack, "--email", "ana@example.com").exit_code == 0
    listed = tausestack("users", "roles", "ana@example.com")
    assert listed.exit_code == 0, listed.output
    assert "ana@example.com: no roles" in listed.output
    changed = tausestack("users", "roles", "ana@example.com", "--add", "editor", "--add", "admin")
    assert changed.exit_code == 0, changed.output
    assert "ana@example.com: admin, editor" in changed.output
    changed = tausestack("users", "roles", "ana@example.com", "--remove", "admin")
    assert "ana@example.com: editor" in changed.output
    with backend_of(project) as backend:
        assert backend.get_user_by_email("ana@example.com").roles == ("editor",)


@pytest.mark.parametrize(
    ("arguments", "password", "message"),
    [
        (("--email", "not an email"), PASSWORD, "Invalid email address 'not an email'"),
        (("--email", "bo@example.com"), "short", "at least 8 characters"),
        (("--email", "bo@example.com"), "", "at least 8 characters"),
    ],
)
def test_bad_input_creates_nothing(
    project: Path, tausestack: Cli, arguments: tuple[str, ...], password: str, message: str
) -> None:
    result = create(tausestack, *arguments, password=password)
    assert result.exit_code == 2
    assert message in result.output
    with backend_of(project) as backend:
        assert backend.get_user_by_email("bo@example.com") is None


def test_a_taken_email_is_refused(project: Path, tausestack: Cli) -> None:
    assert create(tausestack, "--email", "ana@example.com").exit_code == 0
    again = create(tausestack, "--email", "ANA@example.com", "--role", "admin")
    assert again.exit_code == 2
    assert "exists already" in again.output
    assert "tausestack users roles ana@example.com --add ROLE" in again.output
    with backend_of(project) as backend:
        assert backend.get_user_by_email("ana@example.com").roles == ()


def test_an_unknown_user_and_contradictory_roles(project: Path, tausestack: Cli) -> None:
    unknown = tausestack("users", "roles", "nobody@example.com", "--add", "admin")
    assert unknown.exit_code == 2
    assert "No account has the email nobody@example.com" in unknown.output
    assert "tausestack users create --email nobody@example.com" in unknown.output
    both = tausestack("users", "roles", "x@example.com", "--add", "admin", "--remove", "admin")
    assert both.exit_code == 2
    assert "admin is both added and removed" in both.output


def test_an_invalid_email_is_refused_before_the_password_is_asked(
    project: Path, tausestack: Cli
) -> None:
    """No password prompt (there is no terminal here) and no account: the email is wrong, and
    the message shows it as typed (markup in it is not interpreted)."""
    result = tausestack("users", "create", "--email", "[red]x[/red]@example.com")
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "Invalid email address '[red]x[/red]@example.com'" in output
    assert "password" not in output
    with backend_of(project) as backend:
        assert backend.get_user_by_email("x@example.com") is None
        assert backend.get_user_by_email("[red]x[/red]@example.com") is None
    roles = tausestack("users", "roles", "Ana <ana@example.com>")
    assert roles.exit_code == 2, roles.output
    assert "Invalid email address 'Ana <ana@example.com>'" in " ".join(roles.output.split())


def test_markup_in_what_is_printed_stays_as_typed(project: Path, tausestack: Cli) -> None:
    result = create(tausestack, "--email", "ana@example.com", "--role", "[bold]admin[/bold]")
    assert result.exit_code == 0, result.output
    assert "with the role(s) [bold]admin[/bold]." in result.output
    listed = tausestack("users", "roles", "ana@example.com", "--add", "[/]")
    assert "ana@example.com: [/], [bold]admin[/bold]" in listed.output


def test_without_a_terminal_the_password_must_come_from_stdin(
    project: Path, tausestack: Cli
) -> None:
    result = tausestack("users", "create", "--email", "ana@example.com")
    assert result.exit_code == 2
    assert "--password-stdin" in result.output
    no_option = tausestack("users", "create", "--email", "a@example.com", "--password", "x")
    assert no_option.exit_code == 2  # there is no such option


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("installed_apps: []\n", "auth.backend is not set"),
        (
            f"auth: {{backend: jwt, jwt: {{secret: {SECRET}}}}}\n",
            "tausestack.contrib.auth is not in installed_apps",
        ),
    ],
)
def test_a_project_without_accounts_is_explained(
    workdir: Path, tausestack: Cli, config: str, message: str
) -> None:
    (workdir / "application.yaml").write_text(config, encoding="utf-8")
    result = create(tausestack, "--email", "ana@example.com")
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_a_database_never_migrated_is_explained(workdir: Path, tausestack: Cli) -> None:
    (workdir / "application.yaml").write_text(CONFIG, encoding="utf-8")
    result = create(tausestack, "--email", "ana@example.com")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "no tausestack_auth_account or tausestack_auth_token table" in output
    assert "tausestack db upgrade" in output


@pytest.mark.parametrize(
    "command",
    [
        ["users", "roles", "ana@example.com"],
        ["users", "create", "--email", "ana@example.com", "--password-stdin"],
    ],
)
def test_an_unreachable_server_is_one_line_without_the_password(
    workdir: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    (workdir / "application.yaml").write_text(CONFIG, encoding="utf-8")
    url = f"postgresql://app:hunter2@127.0.0.1:{free_port()}/app"
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", url)
    result = tausestack.runner.invoke(cli, command, input=PASSWORD + "\n")
    assert result.exit_code == 1, result.output
    assert "Cannot connect to postgresql+psycopg://app:***@127.0.0.1" in result.stderr
    assert "TAUSESTACK_DATABASE__URL" in result.stderr
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_sqlite_folder_is_one_line(
    workdir: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "application.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", "sqlite:///nope/dir/app.db")
    result = create(tausestack, "--email", "ana@example.com")
    assert result.exit_code == 1, result.output
    assert f"Cannot open sqlite+pysqlite:///{workdir}/nope/dir/app.db" in result.stderr
    assert "the folder" in result.stderr
    assert not (workdir / "nope").exists()


def test_a_password_piped_with_a_windows_line_ending(project: Path) -> None:
    """A real process: its stdin keeps the carriage return (CliRunner's would translate it)."""
    command = [sys.executable, "-m", "tausestack", "users", "create", "--email", "ana@example.com"]
    result = subprocess.run(
        [*command, "--password-stdin"],
        cwd=project,
        input=(PASSWORD + "\r\n").encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with backend_of(project) as backend:
        assert backend.login("ana@example.com", PASSWORD).user_id  # not PASSWORD + "\r"


def test_the_password_is_asked_twice_without_echo(project: Path) -> None:
    """Through a real terminal: the prompt hides what is typed and asks again on a mismatch."""
    command = [sys.executable, "-m", "tausestack", "users", "create", "--email", "ana@example.com"]
    transcript = Terminal(command, project)
    # The space after the colon is written once echo is off: what is typed before is dropped.
    transcript.expect("Password: ")
    transcript.type(PASSWORD)
    transcript.expect("Repeat for confirmation: ")
    transcript.type("something else entirely")
    transcript.expect("do not match")
    transcript.expect("Password: ")
    transcript.type(PASSWORD)
    transcript.expect("Repeat for confirmation: ")
    transcript.type(PASSWORD)
    output = transcript.finish()
    assert transcript.status == 0, output
    assert "Created the account ana@example.com" in output
    assert PASSWORD not in output
    assert "something else" not in output
    with backend_of(project) as backend:
        assert backend.login("ana@example.com", PASSWORD).user_id


class Terminal:
    """A command run in a pseudo-terminal, as a person at a keyboard would run it."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
        )
        os.close(slave)
        self.output = ""
        self.status: int | None = None

    def _read(self, until: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the command exited and closed the terminal
            return False
        self.output += chunk.decode(errors="replace")
        return bool(chunk)

    def expect(self, text: str) -> None:
        """Wait (at most 30 s) for ``text`` after what was already matched."""
        deadline = time.monotonic() + 30
        start = getattr(self, "_matched", 0)
        while text not in self.output[start:]:
            if time.monotonic() > deadline or not self._read(deadline):
                self.finish()
                pytest.fail(f"{text!r} never came; the terminal showed:\n{self.output}")
        self._matched = self.output.index(text, start) + len(text)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self) -> str:
        deadline = time.monotonic() + 30
        while self._read(deadline):
            pass
        try:
            self.status = self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.status = self.process.wait()
        os.close(self.master)
        return self.output


def test_firebase_accounts_are_managed_too(workdir: Path, tausestack: Cli, firebase: Any) -> None:
    """Against the Firebase Auth emulator: the account and its roles are Firebase's."""
    firebase_settings = f"{{project_id: {firebase.project_id}}}"
    config = f"profile: test\nauth: {{backend: firebase, firebase: {firebase_settings}}}\n"
    (workdir / "application.yaml").write_text(config, encoding="utf-8")
    result = create(tausestack, "--email", "ana@example.com", "--role", "admin")
    assert result.exit_code == 0, result.output
    changed = tausestack("users", "roles", "ana@example.com", "--add", "editor")
    assert "ana@example.com: admin, editor" in changed.output
    backend = auth_backend(Settings(config_dir=workdir))
    token = firebase.sign_in("ana@example.com", PASSWORD)
    try:
        assert set(backend.verify_token(token).roles) == {"admin", "editor"}
    finally:
        anyio.run(backend.stop)

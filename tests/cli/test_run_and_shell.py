"""`tausestack run` and `tausestack shell` as real processes, the way a user starts them."""

import errno
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx2
import pytest

from tests.cli.conftest import Cli
from tests.processes import free_port, serving


def serve(project: Path, *arguments: str) -> AbstractContextManager[str]:
    """`tausestack run` in ``project`` on a free port, stopped (and checked) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "tausestack", "run", "--port", str(port), *arguments]
    return serving(command, project, port, project / f"run-{port}.log")


def test_run_serves_the_project(demo: Path, tausestack: Cli) -> None:
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table
    with serve(demo, "--no-reload") as base:
        assert httpx2.get(f"{base}/docs").status_code == 200
        created = httpx2.post(f"{base}/notes", json={"text": "hello"})
        assert created.status_code == 201
        assert httpx2.get(f"{base}/notes/1").json() == {"id": 1, "text": "hello"}


def test_run_reloads_by_default_in_dev(demo: Path, tausestack: Cli) -> None:
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table
    with serve(demo) as base:
        assert httpx2.get(f"{base}/notes").json()["items"] == []
    log = next(demo.glob("run-*.log")).read_text()
    assert "reloading on changes" in log
    assert "Started reloader process" in log


def wait_for_line(log: Path, pattern: str) -> str:
    """The first line of ``log`` matching ``pattern``, waiting for it up to 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if re.search(pattern, line):
                return line
        time.sleep(0.1)
    raise AssertionError(f"no line matching {pattern!r} within 30 s:\n{log.read_text()}")


def test_reload_follows_code_and_settings_but_not_virtualenvs(demo: Path, tausestack: Cli) -> None:
    # Files the reloader must leave alone: a .venv, a virtualenv under another name (found by
    # its pyvenv.cfg), node_modules, caches and .git.
    ignored = [
        demo / ".venv/lib/python3.11/site-packages/pkg/module.py",
        demo / "env/lib/python3.11/site-packages/other.py",
        demo / "node_modules/tool/script.py",
        demo / ".mypy_cache/3.11/module.py",
        demo / ".git/hooks/hook.py",
    ]
    for path in ignored:
        path.parent.mkdir(parents=True)
        path.write_text("", encoding="utf-8")
    (demo / ".venv/pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (demo / "env/pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (demo / ".env").write_text("", encoding="utf-8")
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table
    with serve(demo) as base:
        log = next(demo.glob("run-*.log"))
        for path in ignored:
            path.touch()
        (demo / "application.yaml").touch()
        wait_for_line(log, r"detected changes in 'application\.yaml'\. Reloading")
        (demo / ".env").touch()
        wait_for_line(log, r"detected changes in '\.env'\. Reloading")
        (demo / "apps/notes/services/note.py").touch()
        wait_for_line(log, r"detected changes in 'apps/notes/services/note\.py'\. Reloading")
        wait_for_startup_after_the_last_reload(log)
        assert httpx2.get(f"{base}/notes").json()["items"] == []
    changes = [line for line in log.read_text().splitlines() if "detected changes" in line]
    assert len(changes) == 3, changes
    for path in ignored:
        assert path.name not in log.read_text(), path


def wait_for_startup_after_the_last_reload(log: Path) -> None:
    deadline = time.monotonic() + 30
    while "Application startup complete" not in log.read_text().rpartition("Reloading")[2]:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_a_change_that_breaks_the_app_stops_the_server_until_the_next_change(
    demo: Path, tausestack: Cli
) -> None:
    """What docs/cli.md says: the error in the console, requests wait, answered once fixed."""
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table
    service = demo / "apps/notes/services/note.py"
    source = service.read_text()
    with serve(demo) as base:
        log = next(demo.glob("run-*.log"))
        service.write_text(source + "\ndef broken(:\n")
        wait_for_line(log, r"^SyntaxError: ")
        with ThreadPoolExecutor(1) as pool:
            # The last good server was stopped: the port takes the request and nothing answers.
            waiting = pool.submit(httpx2.get, f"{base}/notes", timeout=60)
            assert not waiting.done()
            service.write_text(source)
            assert waiting.result().status_code == 200  # answered by the next server
        wait_for_startup_after_the_last_reload(log)
        assert httpx2.get(f"{base}/notes").status_code == 200


def test_run_refuses_reload_with_several_workers(demo: Path, tausestack: Cli) -> None:
    result = tausestack("run", "--reload", "--workers", "2")
    assert result.exit_code == 2
    assert "--reload runs a single worker; pass --no-reload to run several" in result.stderr
    assert tausestack("run", "--port", "70000").exit_code == 2


def test_an_os_error_of_a_command_that_writes_nothing_is_not_called_a_write(
    demo: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def address_in_use(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EADDRINUSE, "Address already in use")

    monkeypatch.setattr(uvicorn, "run", address_in_use)
    result = tausestack("run", "--no-reload")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: Address already in use."


def test_shell_preloads_app_container_and_settings(demo: Path) -> None:
    environment = {**os.environ, "PYTHONNOUSERSITE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tausestack", "shell"],
        cwd=demo,
        input=(
            "print(type(app).__name__, type(container).__name__, settings.profile, sdk.__name__)"
            "\nundefined\n"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "TauseStackApp Container dev tausestack.sdk" in result.stdout + result.stderr
    assert "Loaded: app, container, settings, sdk" in result.stdout + result.stderr
    assert "NameError: name 'undefined' is not defined" in result.stderr
    assert "IPython" not in result.stderr  # errors typed in do not chain to the missing IPython


def test_usage_errors_are_one_line(workdir: Path) -> None:
    for arguments, message in (
        (["bogus"], "Error: No such command 'bogus'."),
        (["generate", "widget", "x", "--app", "notes"], "Error: Invalid value for 'KIND'"),
        (["run", "--port", "70000"], "Error: Invalid value for '--port'"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tausestack", *arguments],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, arguments
        assert result.stderr.startswith(message), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr

"""`tausestack run` and `tausestack shell` as real processes, the way a user starts them."""

import os
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import httpx2

from tests.cli.conftest import Cli
from tests.processes import free_port, serving


def serve(project: Path, *arguments: str) -> AbstractContextManager[str]:
    """`tausestack run` in ``project`` on a free port, stopped (and checked) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "tausestack", "run", "--port", str(port), *arguments]
    return serving(command, project, port, project / f"run-{port}.log")


def test_run_serves_the_project(demo: Path) -> None:
    with serve(demo, "--no-reload") as base:
        assert httpx2.get(f"{base}/docs").status_code == 200
        created = httpx2.post(f"{base}/notes/", json={"text": "hello"})
        assert created.status_code == 201
        assert httpx2.get(f"{base}/notes/1").json() == {"id": 1, "text": "hello"}


def test_run_reloads_by_default_in_dev(demo: Path) -> None:
    with serve(demo) as base:
        assert httpx2.get(f"{base}/notes/").json() == []
    log = next(demo.glob("run-*.log")).read_text()
    assert "reloading on changes" in log
    assert "Started reloader process" in log


def test_run_refuses_reload_with_several_workers(demo: Path, tausestack: Cli) -> None:
    result = tausestack("run", "--reload", "--workers", "2")
    assert result.exit_code == 2
    assert "--reload runs a single worker; pass --no-reload to run several" in result.stderr
    assert tausestack("run", "--port", "70000").exit_code == 2


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

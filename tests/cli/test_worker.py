"""`tausestack worker` refuses to start when there is nothing for it to do, saying why.

It running jobs as a real process is tested in ``tests/sdk/tasks/test_worker_process.py``.
"""

from pathlib import Path

from tests.cli.conftest import Cli


def test_worker_refuses_the_memory_backend(demo: Path, tausestack: Cli) -> None:
    result = tausestack("worker")
    assert result.exit_code == 1
    assert "tasks.backend is 'memory'" in result.stderr
    assert "Set tasks.backend: redis" in result.stderr


def test_worker_refuses_an_app_without_tasks(demo: Path, tausestack: Cli) -> None:
    settings = demo / "application.yaml"
    settings.write_text(settings.read_text() + "\ntasks:\n  backend: redis\n")
    result = tausestack("worker", "--concurrency", "2")
    assert result.exit_code == 1
    assert "main:app has no @task functions" in " ".join(result.stderr.split())

"""`tausestack worker` as a separate process on a real Redis: jobs enqueued by a web request run
there, retries included; a worker killed mid-job does not lose it (the next worker runs it
again); SIGTERM lets the running job finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tausestack import Settings, TauseStackApp, create_app
from tests.conftest import Project
from tests.processes import stop

pytestmark = pytest.mark.redis

TASKS = """
import os
import time
from pathlib import Path

from tausestack.sdk.tasks import task

LOG = Path(__file__).parents[2] / "runs.log"


def note(line: str) -> None:
    with LOG.open("a") as log:
        log.write(f"{line} {os.getpid()}\\n")


@task
def record(value: str) -> int:
    note(f"record {value}")
    return os.getpid()


@task(max_retries=3, retry_delay=0.1)
def flaky(value: str) -> str:
    note(f"flaky {value}")
    if LOG.read_text().count(f"flaky {value}") < 2:
        raise ConnectionError("the first attempt always fails")
    return value.upper()


@task
def slow(value: str, seconds: float) -> str:
    note(f"slow {value}")
    if LOG.read_text().count(f"slow {value}") == 1:
        time.sleep(seconds)  # the first run is killed (or stopped) while in here
    return f"{value} done"
"""

ROUTES = """
from fastapi import APIRouter

from tausestack import Inject
from tausestack.sdk.tasks import JobInfo, Tasks

from .tasks import flaky, record, slow

router = APIRouter(prefix="/jobs")
TASKS = {"record": record, "flaky": flaky, "slow": slow}


@router.post("/{name}", status_code=202)
async def start(name: str, payload: dict, tasks: Inject[Tasks]) -> dict:
    return {"id": await tasks.aenqueue(TASKS[name], **payload)}


@router.get("/{job_id}")
async def status(job_id: str, tasks: Inject[Tasks]) -> JobInfo | None:
    return await tasks.aget_job(job_id)
"""


@pytest.fixture
def site(project: Project, redis_url: str) -> Project:
    """A project whose app enqueues jobs from its routes; its worker takes them over Redis."""
    project.write(
        "application.yaml",
        f"""
        installed_apps: [apps.jobs]
        tasks:
          backend: redis
          concurrency: 4
          shutdown_timeout: 10
          redis: {{url: "{redis_url}", redelivery_timeout: 1}}
        """,
    )
    project.write("main.py", "from tausestack import create_app\n\napp = create_app()\n")
    project.write("apps/jobs/tasks.py", TASKS)
    project.write("apps/jobs/routes.py", ROUTES)
    return project


@pytest.fixture
def client(site: Project) -> Iterator[TestClient]:
    app: TauseStackApp = create_app(Settings(config_dir=site.root))
    with TestClient(app) as test_client:
        yield test_client


@contextmanager
def worker(site: Project, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """`tausestack worker` in the project; stopped (SIGINT) on exit if still running."""
    log = (site.root / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tausestack", "worker"],
        cwd=site.root,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            stop(process)
        log.close()


def enqueue(client: TestClient, name: str, **payload: Any) -> str:
    response = client.post(f"/jobs/{name}", json=payload)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def wait_for(
    client: TestClient, job_id: str, condition: Callable[[dict[str, Any]], bool], site: Project
) -> dict[str, Any]:
    """Poll the job over HTTP until ``condition(job)`` holds (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job is not None and condition(job):
            return job
        time.sleep(0.05)
    logs = "\n".join(path.read_text() for path in site.root.glob("*.log"))
    pytest.fail(f"job {job_id} never got there: {job}\n{logs}")


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed")


def runs(site: Project) -> list[list[str]]:
    return [line.split() for line in (site.root / "runs.log").read_text().splitlines()]


def test_jobs_from_a_web_request_run_in_the_worker_with_retries(
    site: Project, client: TestClient
) -> None:
    with worker(site, "worker") as process:
        recorded = enqueue(client, "record", value="hello")
        flaky = enqueue(client, "flaky", value="again")
        job = wait_for(client, recorded, finished, site)
        assert job["status"] == "succeeded"
        assert job["result"] == process.pid != os.getpid()  # ran in the worker
        retried = wait_for(client, flaky, finished, site)
    assert retried["status"] == "succeeded"
    assert retried["result"] == "AGAIN"
    assert retried["attempts"] == 2
    assert [run[:2] for run in runs(site)].count(["flaky", "again"]) == 2
    output = (site.root / "worker.log").read_text()
    assert "Job " + flaky in output
    assert "ConnectionError: the first attempt always fails" in output
    assert "Worker stopped." in output


def test_a_job_of_a_killed_worker_runs_again_in_the_next_one(
    site: Project, client: TestClient
) -> None:
    with worker(site, "first") as first:
        job_id = enqueue(client, "slow", value="report", seconds=60)
        job = wait_for(client, job_id, lambda job: job["status"] == "running", site)
        assert job["attempts"] == 1
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "running"  # nobody finished it
    with worker(site, "second") as second:
        job = wait_for(client, job_id, finished, site)
        assert job["status"] == "succeeded"
        assert job["result"] == "report done"
        assert job["attempts"] == 2  # the lost attempt counts
        assert [run[2] for run in runs(site)] == [str(first.pid), str(second.pid)]


def test_sigterm_lets_the_running_job_finish(site: Project, client: TestClient) -> None:
    with worker(site, "worker") as process:
        job_id = enqueue(client, "slow", value="nightly", seconds=3)
        wait_for(client, job_id, lambda job: job["status"] == "running", site)
        process.send_signal(signal.SIGTERM)
        signalled = datetime.now(UTC)
        assert process.wait(timeout=20) == 0
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert datetime.fromisoformat(job["finished_at"]) > signalled  # it finished after the signal
    # It ran three times redelivery_timeout (1 s), and once.
    assert job["attempts"] == 1
    output = (site.root / "worker.log").read_text()
    assert "SIGTERM: finishing running jobs" in output
    assert "Worker stopped." in output


def test_more_signals_do_not_cut_a_sync_job_short(site: Project, client: TestClient) -> None:
    """A second signal stops waiting for shutdown_timeout, but a sync task's thread cannot be
    interrupted: the worker waits for it (a third signal does not stop that) and stores its
    outcome, and another worker started meanwhile does not run the job too."""
    with worker(site, "first") as first:
        job_id = enqueue(client, "slow", value="weekly", seconds=4)
        wait_for(client, job_id, lambda job: job["status"] == "running", site)
        first.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        first.send_signal(signal.SIGTERM)
        log = site.root / "first.log"
        deadline = time.monotonic() + 10
        while "Waiting for job(s)" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with worker(site, "second"):
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=20) == 0
            time.sleep(1.5)  # twice redelivery_timeout: the second worker would have taken it
    output = log.read_text()
    assert "Still stopping: waiting for running jobs that cannot be interrupted" in output
    assert "Worker stopped." in output
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert job["attempts"] == 1
    assert [run[2] for run in runs(site)] == [str(first.pid)]

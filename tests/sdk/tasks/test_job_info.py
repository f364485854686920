"""A ``JobInfo`` returned from a route is the public view of a job: a failed job's traceback
(server paths, source lines) stays on the server, readable as ``job.traceback``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.encoders import jsonable_encoder

from tausestack import Controller, Settings, create_app, get, post
from tausestack.sdk import tasks
from tausestack.sdk.tasks import JobInfo, JobStatus, task
from tausestack.testing import TestClient


@task(max_retries=0)
def explode(reason: str) -> None:
    raise ValueError(f"cannot do it: {reason}")


@Controller("/jobs")
class Jobs:
    @post("/")
    async def launch(self) -> dict[str, str]:
        return {"id": await tasks.aenqueue(explode, "no fuel")}

    @get("/{job_id}")
    async def read(self, job_id: str) -> JobInfo:
        return await tasks.await_job(job_id, timeout=10)

    @get("/{job_id}/untyped", response_model=None)
    async def untyped(self, job_id: str) -> Any:
        return await tasks.await_job(job_id, timeout=10)


def test_a_route_never_sends_the_traceback(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path), components=[Jobs, explode])
    with TestClient(app) as client:
        job_id = client.post("/jobs/").json()["id"]
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/untyped"):
            answer = client.get(path)
            assert answer.status_code == 200
            body = answer.json()
            assert body["status"] == "failed"
            assert body["error"] == "ValueError: cannot do it: no fuel"
            assert "traceback" not in body
            assert __file__ not in answer.text
            assert "Traceback" not in answer.text
        schema = client.get("/openapi.json").json()["components"]["schemas"]["JobInfo"]
        assert "traceback" not in schema["properties"]


def test_operators_still_read_the_traceback(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path), components=[Jobs, explode])
    with TestClient(app) as client:
        job_id = client.post("/jobs/").json()["id"]
        job = client.portal.call(tasks.await_job, job_id)  # type: ignore[union-attr]
    assert job.status is JobStatus.FAILED
    assert job.traceback is not None
    assert __file__ in job.traceback
    assert 'raise ValueError(f"cannot do it: {reason}")' in job.traceback
    for serialized in (job.model_dump(), job.model_dump(mode="json"), jsonable_encoder(job)):
        assert "traceback" not in serialized
    assert "Traceback" not in job.model_dump_json()
    assert "Traceback" not in repr(job)
    assert JobInfo.model_validate(job.model_dump()).status is JobStatus.FAILED


def test_an_unknown_job_id_from_a_request_is_a_404(tmp_path: Path) -> None:
    """The id came from the client: no such job is a 404, without the settings' hints."""
    app = create_app(Settings(config_dir=tmp_path), components=[Jobs, explode])
    with TestClient(app) as client:
        answer = client.get("/jobs/no-such-job")
        assert answer.status_code == 404
        assert answer.json() == {"detail": "No such job."}

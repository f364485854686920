"""Jobs: what ``enqueue`` sends, and the status record every backend keeps for each job.

A record is a flat mapping of strings (a Redis hash on the ``redis`` backend, a dict on the
``memory`` one), so both backends store and read it the same way.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JobInfo", "JobRequest", "JobStatus", "new_job_id", "record_to_info"]


class JobStatus(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"  # waiting for a worker (or for its time, when delayed)
    RUNNING = "running"  # an attempt is running
    RETRYING = "retrying"  # an attempt failed; the next one waits for its delay
    SUCCEEDED = "succeeded"  # finished; ``result`` holds what the task returned
    FAILED = "failed"  # gave up; ``error`` and ``traceback`` say why

    @property
    def finished(self) -> bool:
        """Whether the job will not change any more."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class JobInfo(BaseModel):
    """A job's status, as ``get_job`` returns it (a pydantic model: routes can return it).

    What a route sends, like every serialized form (``model_dump``, ``model_dump_json``,
    ``jsonable_encoder``) and the OpenAPI schema, is the public view: everything but the
    ``traceback``, which holds the server's file paths and source lines. Operators read it as
    ``job.traceback`` (in logs, an admin tool, a test).

    Attributes:
        id: the id ``enqueue`` returned.
        task: the task's name.
        status: queued, running, retrying, succeeded or failed.
        attempts: attempts started so far (a worker that died mid-job counts one).
        result: what the task returned (as JSON: a model comes back as a dict).
        error: ``ExceptionType: message`` of the last failed attempt.
        traceback: the last failed attempt's traceback; left out of every serialized form
            and of ``repr``.
        enqueued_at, scheduled_for, started_at, finished_at: UTC times; ``scheduled_for`` is
            when a delayed job (or the next retry) may start.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    status: JobStatus
    attempts: int = 0
    result: Any = None
    error: str | None = None
    traceback: str | None = Field(default=None, exclude=True, repr=False)
    enqueued_at: datetime | None = None
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """Whether the job succeeded or failed (it will not change any more)."""
        return self.status.finished


@dataclass(frozen=True, slots=True)
class JobRequest:
    """One job to enqueue: its task, JSON-ready arguments and when it may start."""

    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    id: str = field(default_factory=lambda: new_job_id())
    #: Epoch seconds before which the job must not start; None: as soon as possible.
    run_at: float | None = None
    enqueued_at: float = field(default_factory=time.time)

    def record(self) -> dict[str, str]:
        """The new job's status record."""
        record = {
            "id": self.id,
            "task": self.task,
            "status": JobStatus.QUEUED.value,
            "attempts": "0",
            "enqueued_at": repr(self.enqueued_at),
        }
        if self.run_at is not None:
            record["scheduled_for"] = repr(self.run_at)
        return record


def new_job_id() -> str:
    """A new job id: 32 hex digits, random (uuid4), as taskiq's own ids are."""
    return uuid.uuid4().hex


def record_to_info(record: Mapping[str, str]) -> JobInfo:
    """Read a status record into a :class:`JobInfo`."""
    result = record.get("result")
    return JobInfo(
        id=record["id"],
        task=record.get("task", ""),
        status=JobStatus(record.get("status", JobStatus.QUEUED.value)),
        attempts=int(record.get("attempts", "0")),
        result=orjson.loads(result) if result else None,
        error=record.get("error") or None,
        traceback=record.get("traceback") or None,
        enqueued_at=_time(record.get("enqueued_at")),
        scheduled_for=_time(record.get("scheduled_for")),
        started_at=_time(record.get("started_at")),
        finished_at=_time(record.get("finished_at")),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value else None

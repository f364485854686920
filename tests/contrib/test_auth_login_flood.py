"""A login flood against a real uvicorn server: 60 logins at once hash at most
``auth.jwt.max_concurrent_hashes`` passwords at a time, on threads of their own, so the server's
peak memory stays low and a plain sync route is served while the logins still wait."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tausestack import Settings
from tausestack.sdk.auth._providers import auth_backend
from tests.processes import free_port, serving

pytestmark = pytest.mark.e2e

SECRET = "login-flood-secret-of-at-least-32-bytes"
PASSWORD = "correct horse battery"
LOGINS = 60
MAX_PEAK_MEMORY = 400 * 1024 * 1024

APP = """
import re
from pathlib import Path

from sqlmodel import SQLModel

from tausestack import Controller, Settings, create_app, get
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import AbstractAuthBackend
from tausestack.sdk.database import Database

HERE = Path(__file__).parent


@Controller("/probe")
class Probe:
    def __init__(self, backend: AbstractAuthBackend) -> None:
        self.backend = backend

    @get("/ping")
    def ping(self) -> dict[str, bool]:  # sync: served by the shared thread pool
        return {"pong": True}

    @get("/stats")
    async def stats(self) -> dict[str, int | None]:  # async: needs no thread
        status = Path("/proc/self/status").read_text()
        peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
        hasher = self.backend.hasher
        return {
            "peak_memory": peak_kib * 1024,
            "active_hashes": getattr(hasher, "active", None),
            "peak_hashes": getattr(hasher, "peak", None),
        }


app = create_app(Settings(config_dir=HERE, **SETTINGS), components=[Probe])
engine = app.container.get(Database).engine
SQLModel.metadata.create_all(engine, tables=[AuthAccount.__table__, AuthToken.__table__])
"""


def settings_for(folder: Path) -> dict[str, Any]:
    return {
        "installed_apps": ["tausestack.contrib.auth"],
        "database": {"url": f"sqlite:///{folder / 'app.db'}"},
        "auth": {"backend": "jwt", "jwt": {"secret": SECRET, "max_concurrent_hashes": 2}},
    }


def make_account(folder: Path) -> None:
    backend: Any = auth_backend(Settings(config_dir=folder, **settings_for(folder)))
    try:
        backend.create_user("ana@example.com", PASSWORD)
    finally:
        backend.database.engine.dispose()


async def flood(base: str) -> tuple[list[int], int, dict[str, Any]]:
    """The logins' statuses, how many had finished when the plain route answered, and the
    server's stats after the flood."""
    form = {"username": "ana@example.com", "password": PASSWORD}
    limits = httpx2.Limits(max_connections=LOGINS + 10)
    async with httpx2.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        logins = [asyncio.create_task(client.post("/auth/login", data=form)) for _ in range(LOGINS)]
        while (await client.get("/probe/stats")).json()["active_hashes"] == 0:
            await asyncio.sleep(0.01)  # until the flood has reached the hashing
        ping = await client.get("/probe/ping")
        assert ping.json() == {"pong": True}
        finished_at_ping = sum(login.done() for login in logins)
        statuses = [answer.status_code for answer in await asyncio.gather(*logins)]
        stats = (await client.get("/probe/stats")).json()
    return statuses, finished_at_ping, stats


def test_a_login_flood_is_hashed_a_few_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "flood_app.py").write_text(
        f"SETTINGS = {settings_for(tmp_path)!r}\n" + textwrap.dedent(APP), encoding="utf-8"
    )
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "flood_app:app", "--port", str(port)]
    with serving([*command, "--no-access-log"], tmp_path, port, tmp_path / "uvicorn.log") as base:
        make_account(tmp_path)  # the app has made the tables
        statuses, finished_at_ping, stats = asyncio.run(flood(base))
    assert statuses == [200] * LOGINS
    assert stats["peak_memory"] < MAX_PEAK_MEMORY, stats
    assert 1 <= stats["peak_hashes"] <= 2, stats
    # The plain route did not queue behind the logins: most were still waiting when it answered.
    assert finished_at_ping < LOGINS // 2, (finished_at_ping, stats)

"""Rate limits: per client, per path and per route, in one process and across two uvicorn
processes sharing a real Redis server."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tausestack import Controller, Settings, create_app, get
from tausestack.errors import SettingsError
from tausestack.testing import TestClient
from tests.processes import free_port, serving
from tests.servers import RedisServer


@Controller("/things")
class Things:
    @get("/")
    def ok(self) -> dict[str, int]:
        return {"pid": os.getpid()}

    @get("/login")
    def login(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/loginx")
    def loginx(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/login/help")
    def login_help(self) -> dict[str, str]:
        return {"status": "ok"}


@Controller("")
class Pages:
    @get("/docsearch")
    def docsearch(self) -> dict[str, str]:
        return {"status": "ok"}


def client(tmp_path: Path, **rate_limit: Any) -> TestClient:
    settings = Settings(
        config_dir=tmp_path, security={"rate_limit": {"enabled": True, **rate_limit}}
    )
    return TestClient(create_app(settings, components=[Things, Pages]))


def test_requests_past_the_limit_get_429(tmp_path: Path) -> None:
    with client(tmp_path, default="3/minute") as http:
        answers = [http.get("/things/") for _ in range(4)]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert [answer.headers["x-ratelimit-remaining"] for answer in answers] == [
            "2",
            "1",
            "0",
            "0",
        ]
        refused = answers[-1]
        assert refused.json()["detail"].startswith("Too many requests")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-content-type-options"] == "nosniff", "security headers too"
        assert http.get("/docs").status_code == 200, "the docs are exempt"
        other = http.get("/things/", headers={"x-forwarded-for": "10.0.0.9"})
        assert other.status_code == 429, "a header the client sets does not change its address"


def test_paths_get_their_own_limits(tmp_path: Path) -> None:
    with client(tmp_path, default=None, paths={"/things/login": "1/minute"}) as http:
        assert http.get("/things/login").status_code == 200
        assert http.get("/things/login").status_code == 429
        assert all(http.get("/things/").status_code == 200 for _ in range(5)), "not limited"


def test_exempt_paths_and_path_limits_match_whole_segments(tmp_path: Path) -> None:
    limits = {"/things/login": "1/minute", "/things/": "50/minute"}
    with client(tmp_path, default="1/minute", paths=limits) as http:
        assert http.get("/docs").status_code == 200
        assert http.get("/docs").status_code == 200, "/docs is exempt"
        assert http.get("/docs/oauth2-redirect").status_code == 200, "and what is under it"
        assert http.get("/docsearch").status_code == 200
        assert http.get("/docsearch").status_code == 429, "/docsearch is not under /docs"
        assert http.get("/things/login").status_code == 200
        assert http.get("/things/login/help").status_code == 429, "under /things/login"
        loginx = [http.get("/things/loginx") for _ in range(3)]
        assert [answer.status_code for answer in loginx] == [200] * 3, "not /things/login's"
        assert loginx[-1].headers["x-ratelimit-limit"] == "50", "/things/ (as /things) counts it"


def test_path_limits_and_exempt_paths_hold_behind_a_root_path(tmp_path: Path) -> None:
    """Behind a proxy that strips ``/api`` (uvicorn ``--root-path /api``), ``path`` holds the
    prefix: limits and exempt paths match the path as routing sees it."""
    settings = Settings(
        config_dir=tmp_path,
        security={
            "rate_limit": {
                "enabled": True,
                "default": "1/minute",
                "paths": {"/things/login": "2/minute"},
            }
        },
    )
    app = create_app(settings, components=[Things])
    with TestClient(app, root_path="/api") as http:
        logins = [http.get("/api/things/login") for _ in range(3)]
        assert [answer.status_code for answer in logins] == [200, 200, 429]
        assert logins[0].headers["x-ratelimit-limit"] == "2"
        docs = [http.get("/api/docs") for _ in range(2)]
        assert [answer.status_code for answer in docs] == [200, 200], "/docs is exempt"


def test_route_key_counts_every_client_together(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            config_dir=tmp_path,
            security={"rate_limit": {"enabled": True, "default": "2/minute", "key": "route"}},
        ),
        components=[Things],
    )
    second = TestClient(app, client=("10.0.0.2", 1000))  # the first one runs the lifespan
    with TestClient(app, client=("10.0.0.1", 1000)) as first:
        assert first.get("/things/").status_code == 200
        assert second.get("/things/").status_code == 200
        assert first.get("/things/").status_code == 429
        assert second.get("/things/login").status_code == 200, "another route"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"default": "lots"}, "'lots' is not a rate limit"),
        ({"paths": {"/a": "3 per fortnight"}}, "/a: '3 per fortnight' is not a rate limit"),
        ({"storage": "memcached://x"}, "storage must be memory:// .* or redis://"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(config_dir=tmp_path, security={"rate_limit": {"enabled": True, **options}})


ROOT_PATH_APP = """
from tausestack import Controller, Settings, create_app, get

@Controller("/things")
class Things:
    @get("/")
    def ok(self) -> dict:
        return {"status": "ok"}

limits = {"enabled": True, "default": "1/minute", "paths": {"/things": "2/minute"}}
app = create_app(Settings(security={"rate_limit": limits}), components=[Things])
"""


@pytest.mark.e2e
def test_path_limits_and_exempt_paths_hold_behind_uvicorn_root_path(tmp_path: Path) -> None:
    """uvicorn ``--root-path /api`` puts the prefix in ``path``: the limit on ``/things`` still
    applies, and ``/docs`` (which the readiness check also requests) stays exempt."""
    (tmp_path / "limited_app.py").write_text(ROOT_PATH_APP)
    environment = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "TAUSESTACK_CONFIG_DIR": str(tmp_path),
    }
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "limited_app:app", "--port", str(port)]
    command += ["--root-path", "/api"]
    log = tmp_path / "server.log"
    with serving(command, tmp_path, port, log, ready_path="/docs", env=environment) as base:
        answers = [httpx2.get(f"{base}/things/") for _ in range(3)]
        docs = [httpx2.get(f"{base}/docs") for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "2"
    assert [answer.status_code for answer in docs] == [200, 200], "/docs is exempt"


APP_MODULE = """
import os
from tausestack import Controller, Settings, create_app, get

@Controller("/things")
class Things:
    @get("/")
    def ok(self) -> dict:
        return {"pid": os.getpid()}

app = create_app(Settings(), components=[Things])
"""


@pytest.mark.e2e
def test_a_limit_holds_across_two_uvicorn_processes_sharing_redis(
    tmp_path: Path, redis_server: RedisServer, redis_url: str
) -> None:
    (tmp_path / "limited_app.py").write_text(APP_MODULE)
    environment = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "TAUSESTACK_CONFIG_DIR": str(tmp_path),
        "TAUSESTACK_SECURITY__RATE_LIMIT__ENABLED": "true",
        "TAUSESTACK_SECURITY__RATE_LIMIT__DEFAULT": "6/minute",
        "TAUSESTACK_SECURITY__RATE_LIMIT__STORAGE": redis_url,
    }
    with ExitStack() as stack:
        bases = []
        for number in (1, 2):
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", "limited_app:app", "--port", str(port)]
            log = tmp_path / f"worker{number}.log"
            bases.append(
                stack.enter_context(
                    serving(command, tmp_path, port, log, ready_path="/docs", env=environment)
                )
            )
        answers = [httpx2.get(f"{bases[index % 2]}/things/") for index in range(10)]
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 6, statuses
    assert statuses[6:] == [429] * 4, "the seventh request onwards, whichever process gets it"
    served_by = {answer.json()["pid"] for answer in answers if answer.status_code == 200}
    assert len(served_by) == 2, "both processes answered, counting in the same Redis"

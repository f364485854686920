"""Rate limits on a real Redis under a burst of concurrent requests, and with Redis down.

A burst answers only 200s and 429s (the storage waits for a free connection of its pool
instead of failing), and a storage that fails follows ``on_storage_error``: ``open`` serves
and warns once per interval, ``closed`` answers 503 with ``Retry-After``; never a 500.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from limits import parse

from tausestack import Controller, Settings, TauseStackApp, create_app, get
from tausestack.testing import AsyncTestClient, TestClient
from tausestack.web.middleware.rate_limit import RateLimiter, RateLimitMiddleware, build_storage
from tests.processes import free_port
from tests.servers import RedisServer

pytestmark = pytest.mark.anyio

LOGGER = "tausestack.rate_limit"


@Controller("/things")
class Things:
    @get("/")
    async def ok(self) -> dict[str, str]:
        return {"status": "ok"}


def build(tmp_path: Path, storage: str, **rate_limit: Any) -> TauseStackApp:
    options = {"enabled": True, "storage": storage, **rate_limit}
    settings = Settings(config_dir=tmp_path, security={"rate_limit": options})
    return create_app(settings, components=[Things])


def limiter_of(app: TauseStackApp) -> RateLimiter:
    layer: Any = app.middleware_stack
    while not isinstance(layer, RateLimitMiddleware):
        layer = layer.app
    return layer.limiter


async def burst(http: AsyncTestClient, count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()

    async def one() -> None:
        statuses[(await http.get("/things/")).status_code] += 1

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)
    return statuses


async def test_a_burst_under_a_generous_limit_is_served_whole(
    tmp_path: Path, redis_url: str
) -> None:
    app = build(tmp_path, redis_url, default="1000/minute")
    async with AsyncTestClient(app) as http:
        assert await burst(http, 300) == {200: 300}
        assert limiter_of(app).storage_errors == 0


async def test_a_burst_past_a_tight_limit_gets_200s_then_429s(
    tmp_path: Path, redis_url: str
) -> None:
    # The moving window counts each request's time: exactly 100, whatever the clock says.
    app = build(tmp_path, redis_url, default="100/minute", strategy="moving-window")
    async with AsyncTestClient(app) as http:
        assert await burst(http, 300) == {200: 100, 429: 200}


async def test_a_small_pool_makes_a_burst_wait_instead_of_failing(
    tmp_path: Path, redis_url: str
) -> None:
    app = build(tmp_path, redis_url, default="1000/minute", pool_size=2, on_storage_error="closed")
    async with AsyncTestClient(app) as http:
        assert await burst(http, 100) == {200: 100}


@pytest.mark.redis
async def test_with_redis_stopped_fail_open_serves_and_warns_once(
    tmp_path: Path, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = build(tmp_path, own_redis.url(), default="3/minute")
    async with AsyncTestClient(app) as http:
        counted = await http.get("/things/")
        assert counted.headers["x-ratelimit-remaining"] == "2"
        own_redis.stop()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            answers = [await http.get("/things/") for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 6, "served, not counted"
    assert all("x-ratelimit-remaining" not in answer.headers for answer in answers)
    assert limiter_of(app).storage_errors == 6
    warnings = [record for record in caplog.records if record.name == LOGGER]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert f"127.0.0.1:{own_redis.port}" in message
    assert "on_storage_error" in message


async def test_fail_closed_answers_503_with_retry_after_and_hides_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    app = build(tmp_path, storage, on_storage_error="closed")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with AsyncTestClient(app) as http:
            answers = [await http.get("/things/") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503] * 3
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in answers)
    assert "rate limit" in answers[0].json()["detail"].lower()
    assert limiter_of(app).storage_errors == 3
    warnings = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert len(warnings) == 1, warnings
    assert "redis://:********@127.0.0.1" in warnings[0]
    assert "hunter2" not in caplog.text


async def test_the_limiter_alone_tests_hits_and_follows_its_policy(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    five = parse("5/minute")
    limiter = RateLimiter(build_storage(redis_url), strategy="moving-window")
    try:
        assert (await limiter.test(five, "login", "ana")).remaining == 5, "test counts nothing"
        verdicts = [await limiter.hit(five, "login", "ana", cost=2) for _ in range(3)]
        assert [(verdict.allowed, verdict.remaining) for verdict in verdicts] == [
            (True, 3),
            (True, 1),
            (False, 1),
        ]
        assert not (await limiter.test(five, "login", "ana", cost=2)).allowed
        assert (await limiter.test(five, "login", "bo", cost=2)).allowed
    finally:
        await limiter.aclose()
    broken = build_storage(f"redis://127.0.0.1:{free_port()}/0")
    failing = RateLimiter(broken, on_storage_error="open", name="redis://:pw@127.0.0.1/0")
    failing.warning_interval = 0  # a warning for every failure
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        verdicts = [await failing.test(five, "x"), await failing.hit(five, "x")]
    assert [(verdict.allowed, verdict.storage_failed) for verdict in verdicts] == [(True, True)] * 2
    assert verdicts[0].remaining is None
    assert failing.storage_errors == 2
    assert len([record for record in caplog.records if record.name == LOGGER]) == 2
    assert "pw@" not in caplog.text


def test_pool_settings_are_checked(tmp_path: Path) -> None:
    from tausestack.errors import SettingsError

    for options in ({"pool_size": 0}, {"pool_timeout": 0}, {"on_storage_error": "maybe"}):
        with pytest.raises(SettingsError):
            Settings(config_dir=tmp_path, security={"rate_limit": {"enabled": True, **options}})


@pytest.mark.redis
def test_requests_on_event_loops_of_their_own_share_one_count(
    tmp_path: Path, redis_url: str
) -> None:
    """A ``TestClient`` used without ``with`` runs each request on a new event loop: redis-py's
    connections belong to the loop that made them."""
    http = TestClient(build(tmp_path, redis_url, default="2/minute"))
    assert [http.get("/things/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.redis
def test_the_connections_of_closed_event_loops_are_let_go(tmp_path: Path, redis_url: str) -> None:
    """Each loop's client is dropped once its loop is closed: requests on loops of their own
    do not pile up open connections (a file descriptor each)."""
    import redis

    http = TestClient(build(tmp_path, redis_url, default="1000/minute"))
    with redis.Redis.from_url(redis_url) as observer:
        before = len(observer.client_list())
        for _ in range(20):
            assert http.get("/things/").status_code == 200
        gc.collect()
        after = len(observer.client_list())
    assert after - before <= 2, f"{after - before} connections open after 20 loops"

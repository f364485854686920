"""``auth.login_throttle``: failed password attempts per account and per address answer 429 with
``Retry-After`` once over their limit, on every route that checks a password, counted on the
rate-limit storage (Redis: across apps), failing open when that storage is down."""

from __future__ import annotations

import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from tausestack import Settings, TauseStackApp, create_app
from tausestack.contrib.auth.controllers import AuthController
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import AuthConfigurationError
from tausestack.sdk.database import Database
from tausestack.testing import TestClient
from tests.contrib.test_auth_app import PASSWORD, SECRET, Notes, bearer, login, register
from tests.servers import RedisServer

WRONG = {"username": "ana@example.com", "password": "wrong password"}
RIGHT = {"username": "ana@example.com", "password": PASSWORD}


def build_with_storage(
    tmp_path: Path,
    storage: str,
    throttle: dict[str, Any],
    database_url: str | None = None,
    **rate_limit: Any,
) -> TauseStackApp:
    """``build``'s app with ``auth.login_throttle`` and ``security.rate_limit`` set."""
    tmp_path.mkdir(exist_ok=True)
    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": database_url or f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}, "login_throttle": throttle},
        security={"rate_limit": {"storage": storage, **rate_limit}},
    )
    app = create_app(settings, components=[Notes])
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(app.container.get(Database).engine, tables=tables)  # type: ignore[arg-type]
    return app


def assert_throttled(answer: Any) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    detail = answer.json()["detail"]
    assert detail["reason"] == "too_many_attempts"
    assert "try again in" in detail["message"]


def test_thirty_wrong_passwords_lock_the_account_by_default(tmp_path: Path) -> None:
    with TestClient(build_with_storage(tmp_path, "memory://", {})) as client:
        check_thirty_wrong_passwords(client)


def check_thirty_wrong_passwords(client: TestClient) -> None:
    register(client)
    statuses = [client.post("/auth/login", data=WRONG).status_code for _ in range(30)]
    assert statuses == [401] * 10 + [429] * 20
    assert_throttled(client.post("/auth/login", data=RIGHT))
    # Another account from the same address is not locked (the address allows 100).
    register(client, "bo@example.com")
    login(client, "bo@example.com")


def test_too_many_failures_from_one_address_across_accounts(tmp_path: Path) -> None:
    with TestClient(build_with_storage(tmp_path, "memory://", {"per_address": "3/minute"})) as c:
        register(c)
        for n in range(3):
            other = {"username": f"user{n}@example.com", "password": "wrong password"}
            assert c.post("/auth/login", data=other).status_code == 401
        assert_throttled(c.post("/auth/login", data=RIGHT))


def test_a_success_clears_the_account_but_not_the_address(tmp_path: Path) -> None:
    throttle = {"per_account": "2/minute", "per_address": "3/minute"}
    with TestClient(build_with_storage(tmp_path, "memory://", throttle)) as c:
        register(c)
        assert c.post("/auth/login", data=WRONG).status_code == 401
        login(c)  # the account's count is cleared
        assert c.post("/auth/login", data=WRONG).status_code == 401
        assert c.post("/auth/login", data=WRONG).status_code == 401  # account 2/2, address 3/3
        assert_throttled(c.post("/auth/login", data=RIGHT))


def test_sessions_and_password_changes_are_throttled_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(build_with_storage(tmp_path, "memory://", {"per_account": "2/minute"})) as c:
        register(c)
        headers = bearer(login(c))
        change = {"password": "a new password", "current_password": "not it"}
        assert c.patch("/auth/me", json=change, headers=headers).status_code == 403
        assert c.post("/auth/session", data=WRONG).status_code == 401
        with caplog.at_level(logging.INFO, logger="tausestack.audit"):
            assert_throttled(c.post("/auth/session", data=RIGHT))
            assert_throttled(c.post("/auth/login", data=RIGHT))
            right = {"password": "a new password", "current_password": PASSWORD}
            assert_throttled(c.patch("/auth/me", json=right, headers=headers))
    events = [r for r in caplog.records if r.getMessage() == "login_throttled"]
    assert len(events) == 3
    assert events[0].levelno == logging.WARNING
    assert events[0].audit["email"] == "a***@example.com"  # type: ignore[attr-defined]
    assert events[0].audit["reason"] == "too_many_attempts"  # type: ignore[attr-defined]


def test_the_throttle_can_be_turned_off(tmp_path: Path) -> None:
    with TestClient(build_with_storage(tmp_path, "memory://", {"enabled": False})) as c:
        register(c)
        statuses = {c.post("/auth/login", data=WRONG).status_code for _ in range(12)}
        assert statuses == {401}
        login(c)


def test_a_bad_limit_stops_the_app_with_the_setting_name(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigurationError, match=r"login_throttle\.per_account"):
        build_with_storage(tmp_path, "memory://", {"per_account": "ten a minute"})


@pytest.mark.redis
def test_failures_are_counted_across_apps_on_redis(tmp_path: Path, redis_url: str) -> None:
    first = build_with_storage(tmp_path / "a", redis_url, {"per_account": "3/minute"})
    second = build_with_storage(tmp_path / "b", redis_url, {"per_account": "3/minute"})
    with TestClient(first) as one, TestClient(second) as two:
        register(one)
        register(two)
        assert one.post("/auth/login", data=WRONG).status_code == 401
        assert two.post("/auth/login", data=WRONG).status_code == 401
        assert one.post("/auth/login", data=WRONG).status_code == 401
        assert_throttled(two.post("/auth/login", data=RIGHT))
        assert_throttled(one.post("/auth/session", data=RIGHT))
    import redis

    with redis.Redis.from_url(redis_url) as server:
        keys = server.keys("*")
    assert keys
    assert not [key for key in keys if b"ana" in key or b"example" in key]  # digests only


@pytest.mark.redis
def test_a_redis_that_is_down_fails_open_with_a_warning(
    tmp_path: Path, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(
        build_with_storage(tmp_path, own_redis.url(), {"per_account": "1/minute"})
    ) as c:
        register(c)
        own_redis.stop()
        with caplog.at_level(logging.WARNING, logger="tausestack.auth"):
            assert c.post("/auth/login", data=WRONG).status_code == 401
            assert c.post("/auth/login", data=WRONG).status_code == 401
            login(c)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tausestack.auth"]
    assert len(warnings) == 1  # once a minute, not once an attempt
    assert "not limited" in warnings[0]
    assert own_redis.url() not in warnings[0]


def test_retry_after_is_the_longest_wait_of_the_exhausted_limits(tmp_path: Path) -> None:
    throttle = {"per_account": "2/minute", "per_address": "2/hour"}
    with TestClient(build_with_storage(tmp_path, "memory://", throttle)) as c:
        register(c)
        assert [c.post("/auth/login", data=WRONG).status_code for _ in range(2)] == [401] * 2
        answer = c.post("/auth/login", data=WRONG)
    assert_throttled(answer)
    assert int(answer.headers["retry-after"]) > 60, "the address waits an hour, not a minute"


def test_an_accented_spelling_of_the_email_is_not_another_account_on_mariadb(
    tmp_path: Path, mariadb_url: str
) -> None:
    """MariaDB's default collation ignores accents; the email column's must not, else
    ``anä@example.com`` finds ana's account under a count of its own."""
    app = build_with_storage(tmp_path, "memory://", {"per_account": "3/minute"}, mariadb_url)
    with TestClient(app) as c:
        register(c)
        assert [c.post("/auth/login", data=WRONG).status_code for _ in range(3)] == [401] * 3
        assert_throttled(c.post("/auth/login", data=RIGHT))
        accented = {**RIGHT, "username": "anä@example.com"}
        answer = c.post("/auth/login", data=accented)
        assert answer.status_code in {401, 429}, answer.text  # never ana's tokens
        register(c, "bo@example.com")
        login(c, "BO@Example.com")  # case still does not matter


@pytest.mark.redis
def test_a_hung_redis_does_not_serialise_logins(tmp_path: Path, own_redis: RedisServer) -> None:
    """Storage calls hold no hashing slot for long, and a storage that failed is left alone for
    a while: six logins against a Redis that answers nothing wait for it in the first two
    (those holding the two hashing slots), not twice each in turn (twelve timeouts, two at a
    time) as when every call waited its own timeout."""
    app = build_with_storage(tmp_path, own_redis.url(), {}, pool_timeout=1.0)
    throttle = app.container.get(AuthController).throttle
    with TestClient(app) as c:
        register(c)
        assert own_redis.process is not None
        os.kill(own_redis.process.pid, signal.SIGSTOP)  # up, but answering nothing
        try:
            forms = [{**WRONG, "username": f"user{n}@example.com"} for n in range(6)]
            with ThreadPoolExecutor(len(forms)) as pool:
                answers = list(pool.map(lambda form: c.post("/auth/login", data=form), forms))
        finally:
            os.kill(own_redis.process.pid, signal.SIGCONT)
    assert [answer.status_code for answer in answers] == [401] * 6  # failing open
    assert 1 <= throttle.storage_failures <= 2, throttle.storage_failures


@pytest.mark.redis
def test_stopped_apps_close_their_redis_connections_and_serve_again(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    import redis

    app = build_with_storage(tmp_path, own_redis.url(), {})
    with redis.Redis.from_url(own_redis.url()) as observer:
        before = len(observer.client_list())
        for _ in range(2):  # a new event loop each time
            with TestClient(app, raise_server_exceptions=False) as c:
                assert c.post("/auth/login", data=WRONG).status_code == 401
        after = len(observer.client_list())
    assert after == before, f"{after - before} connection(s) left open by a stopped app"


def test_logins_that_wait_for_a_hashing_slot_in_a_second_session_are_not_500(
    tmp_path: Path,
) -> None:
    app = build_with_storage(tmp_path, "memory://", {})
    forms = [{**WRONG, "username": f"user{n}@example.com"} for n in range(6)]
    for _ in range(2):  # a new event loop each time
        with TestClient(app, raise_server_exceptions=False) as c:
            with ThreadPoolExecutor(len(forms)) as pool:
                answers = list(pool.map(lambda form: c.post("/auth/login", data=form), forms))
            assert [answer.status_code for answer in answers] == [401] * 6

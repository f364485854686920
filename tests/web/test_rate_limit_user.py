"""``rate_limit.key: user`` counts per user: the limiter verifies the bearer token or session
cookie with the app's real auth backend, once, and the auth dependency of the same request uses
that result instead of verifying again. Without credentials, or with refused ones, per address."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from tausestack import Controller, Settings, TauseStackApp, create_app, get, post
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import AbstractAuthBackend, CurrentUser, OptionalUser
from tausestack.sdk.database import Database
from tausestack.testing import TestClient

SECRET = "rate-limit-user-test-secret-of-32-bytes"
PASSWORD = "correct horse battery"


@Controller("/me")
class Me:
    @get("/")
    async def me(self, user: CurrentUser) -> dict[str, str]:
        return {"id": user.id}

    @get("/maybe")
    async def maybe(self, user: OptionalUser) -> dict[str, str | None]:
        return {"id": user.id if user else None}

    @get("/open")
    async def open(self) -> dict[str, str]:
        return {"status": "ok"}

    @post("/notes")
    async def note(self, user: CurrentUser) -> dict[str, str]:
        return {"id": user.id}


def build(tmp_path: Path) -> TauseStackApp:
    app = create_app(
        Settings(
            config_dir=tmp_path,
            installed_apps=["tausestack.contrib.auth"],
            database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
            auth={"backend": "jwt", "jwt": {"secret": SECRET}},
            security={
                "rate_limit": {
                    "enabled": True,
                    "key": "user",
                    "default": None,
                    "paths": {"/me": "3/minute"},
                }
            },
        ),
        components=[Me],
    )
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(app.container.get(Database).engine, tables=tables)  # type: ignore[arg-type]
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build(tmp_path)) as test_client:
        yield test_client


class Verifications:
    """A spy on the real backend's ``averify_token`` and ``session_user``: how many tokens it
    verified."""

    def __init__(self, backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        verify, session_user = backend.averify_token, backend.session_user

        async def counted(token: str) -> Any:
            self.count += 1
            return await verify(token)

        def counted_session(token: str) -> Any:
            self.count += 1
            return session_user(token)

        monkeypatch.setattr(backend, "averify_token", counted)
        monkeypatch.setattr(backend, "session_user", counted_session)


def backend_of(client: TestClient) -> Any:
    return client.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]


def bearer(client: TestClient, email: str) -> dict[str, str]:
    backend = backend_of(client)
    backend.create_user(email, PASSWORD)
    return {"Authorization": f"Bearer {backend.login(email, PASSWORD).access_token}"}


def test_users_behind_one_address_are_counted_apart_and_verified_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, bo = bearer(client, "ana@example.com"), bearer(client, "bo@example.com")
    verifications = Verifications(backend_of(client), monkeypatch)
    assert [client.get("/me/", headers=ana).status_code for _ in range(4)] == [200] * 3 + [429]
    assert verifications.count == 4, "once per request: the limiter's result is shared"
    assert client.get("/me/", headers=bo).status_code == 200, "not limited by ana's requests"
    assert client.get("/me/maybe", headers=bo).json()["id"] is not None
    assert client.get("/me/maybe").status_code == 200, "anonymous: per address, a count of its own"
    assert verifications.count == 6


def test_a_refused_token_is_counted_by_address_and_answered_401(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ana = bearer(client, "ana@example.com")
    verifications = Verifications(backend_of(client), monkeypatch)
    forged = {"Authorization": "Bearer not.a.token"}
    with caplog.at_level(logging.WARNING, logger="tausestack.audit"):
        answers = [client.get("/me/", headers=forged) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401] * 3
    assert answers[0].json()["detail"]["reason"] == "malformed_token"
    assert verifications.count == 3
    audited = [record for record in caplog.records if record.name == "tausestack.audit"]
    assert len(audited) == 3, "one audit event per refused request, not two"
    assert client.get("/me/maybe").status_code == 429, "the address used up its limit"
    assert client.get("/me/", headers=ana).status_code == 200, "ana is counted apart"


def test_a_session_cookie_is_counted_per_user_and_still_needs_its_csrf_token(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_of(client)
    backend.create_user("cy@example.com", PASSWORD)
    session = backend.open_session("cy@example.com", PASSWORD, ttl=600)
    verifications = Verifications(backend, monkeypatch)
    client.cookies.set("tausestack_session", session.token)
    csrf = {"X-CSRF-Token": backend.csrf_token(session.token)}
    assert client.post("/me/notes").status_code == 403, "no CSRF token"
    assert client.post("/me/notes", headers=csrf).json() == {"id": session.user_id}
    assert client.get("/me/").status_code == 200
    assert client.get("/me/").status_code == 429, "cy's three requests"
    assert verifications.count == 4, "the cookie verified once per request"
    client.cookies.clear()
    assert client.get("/me/maybe").status_code == 200, "the address has a count of its own"


def test_without_an_auth_backend_key_user_counts_per_address(tmp_path: Path) -> None:
    @Controller("/open")
    class Open:
        @get("/")
        def page(self) -> dict[str, str]:
            return {"status": "ok"}

    options = {"enabled": True, "key": "user", "default": "2/minute"}
    app = create_app(
        Settings(config_dir=tmp_path, security={"rate_limit": options}), components=[Open]
    )
    with TestClient(app) as http:
        tokens = [{"Authorization": f"Bearer token-{number}"} for number in range(3)]
        statuses = [http.get("/open/", headers=headers).status_code for headers in tokens]
    assert statuses == [200, 200, 429]


def test_a_failing_backend_counts_by_address_and_needs_no_user_where_none_is_asked(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    backend = backend_of(client)
    backend.create_user("di@example.com", PASSWORD)
    session = backend.open_session("di@example.com", PASSWORD, ttl=600)
    engine = client.app.container.get(Database).engine  # type: ignore[attr-defined]
    SQLModel.metadata.drop_all(engine, tables=[AuthToken.__table__, AuthAccount.__table__])  # type: ignore[list-item]
    client.cookies.set("tausestack_session", session.token)
    with caplog.at_level(logging.WARNING, logger="tausestack.rate_limit"):
        statuses = [client.get("/me/open").status_code for _ in range(2)]
    assert statuses == [200] * 2, "the backend's error is not the limiter's to report"
    assert "OperationalError" in caplog.text
    assert session.token not in caplog.text
    with pytest.raises(Exception, match="no such table"):
        client.get("/me/maybe")  # the route's auth dependency reports it, as without a limit
    client.cookies.clear()
    assert client.get("/me/open").status_code == 429, "all three counted by address"

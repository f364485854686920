"""Control characters (NUL, line breaks…) and lone surrogates in what ``tausestack.contrib.auth``
stores or looks up: a clear 4xx and nothing stored, on SQLite and on a real PostgreSQL (which
refuses NUL in text, so an unchecked one was an unauthenticated 500)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from tausestack import Settings, create_app
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import AbstractAuthBackend, InvalidUserDataError
from tausestack.sdk.database import Database
from tausestack.testing import TestClient
from tests.contrib.test_auth_app import PASSWORD, SECRET, bearer, login, register

NUL_EMAIL = "nul\u0000@example.com"


def client_on(tmp_path: Path, url: str) -> Iterator[TestClient]:
    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": url},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
    )
    app = create_app(settings)
    engine = app.container.get(Database).engine
    tables: Any = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(engine, tables=tables)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from client_on(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")


@pytest.fixture
def postgres_client(tmp_path: Path, postgres_url: str) -> Iterator[TestClient]:
    yield from client_on(tmp_path, postgres_url)


def check_refused_everywhere(client: TestClient) -> None:
    register(client)
    headers = bearer(login(client))

    def refused(answer: Any, status: int, reason: str | None = None) -> None:
        assert answer.status_code == status, answer.text
        if reason is not None:
            assert answer.json()["detail"]["reason"] == reason

    body = {"email": NUL_EMAIL, "password": PASSWORD}
    refused(client.post("/auth/register", json=body), 422, "invalid_user_data")
    named = {"email": "bo@example.com", "password": PASSWORD, "display_name": "B\u0000o"}
    answer = client.post("/auth/register", json=named)
    refused(answer, 422, "invalid_user_data")
    assert "control character" in answer.json()["detail"]["message"]
    for name in ("A\u0000na", "Ana\nSmith", "Ana\u2028", "\u0085"):
        patch = client.patch("/auth/me", json={"display_name": name}, headers=headers)
        refused(patch, 422, "invalid_user_data")
    for route in ("/auth/login", "/auth/session"):
        form = {"username": NUL_EMAIL, "password": PASSWORD}
        refused(client.post(route, data=form), 401, "invalid_credentials")
    for token in ("a" * 32 + ".\u0000", "\u0000" * 32 + ".secret"):
        refused(client.post("/auth/refresh", json={"refresh_token": token}), 401, "invalid_token")
        refused(client.post("/auth/logout", json={"refresh_token": token}), 204)
    # Nothing was stored: bo has no account, ana's name is unchanged.
    form = {"username": "bo@example.com", "password": PASSWORD}
    refused(client.post("/auth/login", data=form), 401, "invalid_credentials")
    assert client.get("/auth/me", headers=headers).json()["display_name"] is None


def test_control_characters_are_refused_on_sqlite(sqlite_client: TestClient) -> None:
    check_refused_everywhere(sqlite_client)


@pytest.mark.postgres
def test_control_characters_are_refused_on_postgres(postgres_client: TestClient) -> None:
    check_refused_everywhere(postgres_client)


def test_the_backend_refuses_them_from_code_too(sqlite_client: TestClient) -> None:
    backend: Any = sqlite_client.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]
    with pytest.raises(InvalidUserDataError, match="control character"):
        backend.create_user("cy@example.com", PASSWORD, display_name="\ud800")
    with pytest.raises(InvalidUserDataError, match="control character"):
        backend.create_user("cy@example.com", PASSWORD, roles=["ad\u0000min"])
    assert backend.get_user_by_email("cy@example.com") is None

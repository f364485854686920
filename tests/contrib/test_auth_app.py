"""``tausestack.contrib.auth`` over HTTP: register, the OAuth2 password flow, refresh with
rotation, logout, ``me``, cookie sessions with CSRF, and the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Form
from sqlmodel import SQLModel

from tausestack import Controller, Settings, TauseStackApp, create_app, get, post
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.discovery import discover
from tausestack.errors import SettingsError
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    AuthConfigurationError,
    CurrentUser,
    OptionalUser,
)
from tausestack.sdk.database import Database
from tausestack.sdk.database.migrations import table_metadata
from tausestack.testing import TestClient

SECRET = "contrib-auth-test-secret-of-32-bytes-or-more"
PASSWORD = "correct horse battery"


@Controller("/notes")
class Notes:
    @get("/")
    def index(self, user: CurrentUser) -> dict[str, str]:
        return {"owner": user.id}

    @post("/")
    def create(self, user: CurrentUser, text: str = Form()) -> dict[str, str]:
        return {"owner": user.id, "text": text}


def build(tmp_path: Path, **auth: Any) -> TauseStackApp:
    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}, **auth},
    )
    app = create_app(settings, components=[Notes])
    tables = [AuthAccount.__table__, AuthToken.__table__]
    engine = app.container.get(Database).engine
    SQLModel.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build(tmp_path)) as test_client:
        yield test_client


def register(client: TestClient, email: str = "ana@example.com") -> dict[str, Any]:
    answer = client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    account: dict[str, Any] = answer.json()
    return account


def login(client: TestClient, email: str = "ana@example.com") -> dict[str, Any]:
    answer = client.post("/auth/login", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# -- register, login, refresh, logout, me -----------------------------------------------------


def test_register_login_and_me(client: TestClient) -> None:
    account = register(client)
    assert account["email"] == "ana@example.com"
    assert account["roles"] == []
    assert "password" not in str(account)
    tokens = login(client)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = client.get("/auth/me", headers=bearer(tokens))
    assert me.json() == account
    assert client.get("/notes/", headers=bearer(tokens)).json() == {"owner": account["id"]}


def test_registration_cannot_grant_roles_and_leaves_nothing_behind(client: TestClient) -> None:
    for extra in ({"roles": ["admin"]}, {"claims": {"admin": True}}, {"disabled": False}):
        body = {"email": "eve@example.com", "password": PASSWORD, **extra}
        answer = client.post("/auth/register", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["type"] == "extra_forbidden"
    failed = client.post("/auth/login", data={"username": "eve@example.com", "password": PASSWORD})
    assert failed.status_code == 401  # no account was created


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, 422, "invalid_user_data"),
        ({"email": "bo@example.com", "password": "short"}, 422, "invalid_user_data"),
        ({"email": "ana@example.com", "password": PASSWORD}, 409, "user_exists"),
    ],
)
def test_registration_errors(
    client: TestClient, body: dict[str, str], status: int, reason: str
) -> None:
    register(client)
    answer = client.post("/auth/register", json=body)
    assert answer.status_code == status
    assert answer.json()["detail"]["reason"] == reason


def test_registration_can_be_closed(tmp_path: Path) -> None:
    with TestClient(build(tmp_path, registration=False)) as client:
        answer = client.post(
            "/auth/register", json={"email": "a@example.com", "password": PASSWORD}
        )
        assert answer.status_code == 403
        assert answer.json()["detail"]["reason"] == "registration_closed"


def test_login_failures(client: TestClient) -> None:
    register(client)
    for username, password in [("ana@example.com", "wrong password"), ("x@example.com", PASSWORD)]:
        answer = client.post("/auth/login", data={"username": username, "password": password})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["detail"]["reason"] == "invalid_credentials"
    assert client.post("/auth/login", json={"username": "ana@example.com"}).status_code == 422


def test_refresh_rotates_and_reuse_is_refused(client: TestClient) -> None:
    register(client)
    tokens = login(client)
    renewed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != tokens["refresh_token"]
    replay = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["detail"]["reason"] == "token_reused"
    after = client.post("/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]})
    assert after.json()["detail"]["reason"] == "token_revoked"


def test_logout_revokes_the_refresh_token(client: TestClient) -> None:
    register(client)
    tokens = login(client)
    assert (
        client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 204
    )
    answer = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "token_revoked"


def test_me_can_change_its_name_and_password_but_not_its_roles(client: TestClient) -> None:
    register(client)
    headers = bearer(login(client))
    renamed = client.patch("/auth/me", json={"display_name": "Ana"}, headers=headers)
    assert renamed.json()["display_name"] == "Ana"
    grab = client.patch("/auth/me", json={"roles": ["admin"]}, headers=headers)
    assert grab.status_code == 422
    assert client.get("/auth/me", headers=headers).json()["roles"] == []

    no_current = client.patch("/auth/me", json={"password": "a new password"}, headers=headers)
    assert no_current.status_code == 422
    wrong = {"password": "a new password", "current_password": "not it"}
    assert client.patch("/auth/me", json=wrong, headers=headers).status_code == 403
    change = {"password": "a new password", "current_password": PASSWORD}
    assert client.patch("/auth/me", json=change, headers=headers).status_code == 200
    old = client.post("/auth/login", data={"username": "ana@example.com", "password": PASSWORD})
    assert old.status_code == 401
    new = {"username": "ana@example.com", "password": "a new password"}
    assert client.post("/auth/login", data=new).status_code == 200


def test_me_needs_a_token(client: TestClient) -> None:
    answer = client.get("/auth/me")
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "missing_token"


# -- cookie sessions and CSRF -----------------------------------------------------------------


def open_session(client: TestClient) -> str:
    register(client)
    answer = client.post(
        "/auth/session", data={"username": "ana@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 204
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("tausestack_session="))
    csrf = next(c for c in cookies if c.startswith("tausestack_csrf="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "HttpOnly" not in csrf
    token: str = client.cookies["tausestack_csrf"]
    return token


def test_a_session_cookie_authenticates_safe_requests(client: TestClient) -> None:
    open_session(client)
    assert client.get("/auth/me").json()["email"] == "ana@example.com"
    assert client.get("/notes/").status_code == 200


def test_unsafe_requests_with_a_session_need_the_csrf_token(client: TestClient) -> None:
    csrf = open_session(client)
    refused = client.post("/notes/", data={"text": "hello"})
    assert refused.status_code == 403
    assert refused.json()["detail"]["reason"] == "csrf_failed"
    wrong = client.post("/notes/", data={"text": "hello"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    by_header = client.post("/notes/", data={"text": "hello"}, headers={"X-CSRF-Token": csrf})
    assert by_header.json()["text"] == "hello"
    by_field = client.post("/notes/", data={"text": "hi", "csrf_token": csrf})
    assert by_field.status_code == 200
    assert by_field.json()["text"] == "hi"


def test_closing_a_session_clears_and_revokes_it(client: TestClient) -> None:
    csrf = open_session(client)
    session = client.cookies["tausestack_session"]
    cross_site = client.delete("/auth/session", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert client.get("/auth/me").status_code == 200  # still logged in
    assert client.delete("/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert "tausestack_session" not in client.cookies
    client.cookies.set("tausestack_session", session)
    answer = client.get("/auth/me")
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "token_revoked"


def test_session_cookies_are_secure_over_https(tmp_path: Path) -> None:
    with TestClient(build(tmp_path), base_url="https://testserver") as client:
        register(client)
        answer = client.post(
            "/auth/session", data={"username": "ana@example.com", "password": PASSWORD}
        )
        assert all("Secure" in cookie for cookie in answer.headers.get_list("set-cookie"))


# -- audit, secrets, wiring -------------------------------------------------------------------


def test_logins_and_revocations_are_audited_without_secrets(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        account = register(client)
        client.post("/auth/login", data={"username": "ana@example.com", "password": "wrong pass"})
        tokens = login(client)
        client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    events = [
        (record.audit["event"], record.audit.get("reason"), record.audit.get("user_id"))  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "tausestack.audit"
    ]
    assert events == [
        ("user_registered", None, account["id"]),
        ("login_failed", "invalid_credentials", None),
        ("login_succeeded", None, account["id"]),
        ("token_revoked", "logout", account["id"]),
    ]
    failed = next(r for r in caplog.records if r.getMessage() == "login_failed")
    assert failed.audit["email"] == "a***@example.com"  # type: ignore[attr-defined]
    everything = " ".join(
        f"{record.getMessage()} {getattr(record, 'audit', '')}" for record in caplog.records
    )
    for secret in (PASSWORD, "wrong pass", tokens["access_token"], tokens["refresh_token"], SECRET):
        assert secret not in everything


def test_the_app_needs_the_jwt_backend(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        auth={"backend": "oidc", "oidc": {"issuer": "https://id.example.com", "audience": "x"}},
    )
    with pytest.raises(AuthConfigurationError, match="endpoints need auth.backend: jwt"):
        create_app(settings)


def test_the_tables_belong_to_the_app_for_migrations() -> None:
    _, tables = table_metadata(discover(["tausestack.contrib.auth"]))
    assert {table.name for table in tables} == {"tausestack_auth_account", "tausestack_auth_token"}


def test_the_backend_is_injectable_and_shared(tmp_path: Path) -> None:
    app = build(tmp_path)
    with TestClient(app) as client:
        register(client)
        backend = app.container.get(AbstractAuthBackend)
        user = backend.get_user_by_email("ana@example.com")
        assert user is not None
        backend.set_roles(user.id, ["editor"])
        assert client.get("/auth/me", headers=bearer(login(client))).json()["roles"] == ["editor"]


# -- review fixes: cross-site sessions, stale cookies, deleted accounts, cookie flags ----------


@Controller("/pages")
class Pages:
    @get("/")
    def home(self, user: OptionalUser) -> dict[str, str | None]:
        return {"user": user.id if user else None}


def test_sessions_cannot_be_opened_or_closed_from_another_site(client: TestClient) -> None:
    register(client)
    form = {"username": "ana@example.com", "password": PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/auth/session", data=form, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["detail"]["reason"] == "cross_site_request"
        assert "set-cookie" not in refused.headers
    same_site = client.post("/auth/session", data=form, headers={"Origin": "http://testserver"})
    assert same_site.status_code == 204
    closed = client.delete("/auth/session", headers={"Origin": "https://evil.example"})
    assert closed.status_code == 403
    assert client.get("/auth/me").status_code == 200


def test_trusted_cors_origins_may_open_sessions(tmp_path: Path) -> None:
    with TestClient(build(tmp_path)) as client:
        register(client)
    trusted = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
        security={"cors": {"allow_origins": ["https://app.example"]}},
    )
    with TestClient(create_app(trusted)) as client:
        answer = client.post(
            "/auth/session",
            data={"username": "ana@example.com", "password": PASSWORD},
            headers={"Origin": "https://app.example"},
        )
        assert answer.status_code == 204


def test_origins_matching_the_cors_regex_may_open_and_close_sessions(tmp_path: Path) -> None:
    with TestClient(build(tmp_path)) as client:
        register(client)
    trusted = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
        security={"cors": {"allow_origin_regex": r"https://[a-z]+\.app\.example"}},
    )
    credentials = {"username": "ana@example.com", "password": PASSWORD}
    with TestClient(create_app(trusted)) as client:
        for origin in ("https://evil.example", "https://shop.app.example.evil.example"):
            refused = client.post("/auth/session", data=credentials, headers={"Origin": origin})
            assert refused.status_code == 403
            assert refused.json()["detail"]["reason"] == "cross_site_request"
        origin = {"Origin": "https://shop.app.example"}
        assert client.post("/auth/session", data=credentials, headers=origin).status_code == 204
        assert client.delete("/auth/session", headers=origin).status_code == 204


def test_a_stale_session_cookie_is_anonymous_where_optional_and_can_be_cleared(
    tmp_path: Path,
) -> None:
    app = build(tmp_path)
    app_with_pages = create_app(app.container.get(Settings), components=[Notes, Pages])
    with TestClient(app_with_pages) as client:
        csrf = open_session(client)
        account = client.get("/auth/me").json()
        app_with_pages.container.get(AbstractAuthBackend).revoke_tokens(account["id"])
        assert client.get("/pages/").json() == {"user": None}
        required = client.get("/auth/me")
        assert required.status_code == 401
        assert required.json()["detail"]["reason"] == "token_revoked"
        cleared = client.delete("/auth/session", headers={"X-CSRF-Token": csrf})
        assert cleared.status_code == 204
        assert "tausestack_session" not in client.cookies
        assert "tausestack_csrf" not in client.cookies


def test_patching_a_deleted_account_is_a_401(client: TestClient) -> None:
    account = register(client)
    headers = bearer(login(client))
    client.app.container.get(AbstractAuthBackend).delete_user(account["id"])  # type: ignore[attr-defined]
    answer = client.patch("/auth/me", json={"display_name": "Ghost"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "unknown_user"


def test_session_cookies_are_secure_by_default_outside_dev(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        profile="prod",
        installed_apps=["tausestack.contrib.auth"],
        database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
    )
    app = create_app(settings)
    engine = app.container.get(Database).engine
    SQLModel.metadata.create_all(engine, tables=[AuthAccount.__table__, AuthToken.__table__])  # type: ignore[list-item]
    with TestClient(app) as client:  # plain http, as behind a TLS proxy
        register(client)
        answer = client.post(
            "/auth/session", data={"username": "ana@example.com", "password": PASSWORD}
        )
        cookies = answer.headers.get_list("set-cookie")
        assert cookies
        assert all("Secure" in cookie for cookie in cookies)


def test_same_site_none_without_secure_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="same_site 'none' needs secure cookies"):
        Settings(config_dir=tmp_path, auth={"sessions": {"same_site": "none", "secure": False}})

"""The OpenAPI document of an app with auth: 401/403 answers and their body on the operations
that authenticate, optional users as optional security, and with ``tausestack.contrib.auth``
an OAuth2 password flow Swagger's Authorize can log in with (tests/e2e/test_swagger.py clicks
it in Chromium). Tokens are verified once per request however many guards a route has."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from fastapi import Depends
from sqlmodel import SQLModel

from tausestack import Controller, Settings, TauseStackApp, create_app, get, provider
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    CurrentUser,
    OptionalUser,
    User,
    require_permissions,
)
from tausestack.sdk.auth._openapi import AuthRefusal
from tausestack.sdk.database import Database
from tausestack.testing import TestClient

SECRET = "openapi-test-secret-of-at-least-32-bytes"
PASSWORD = "correct horse battery"


@Controller("/desk")
class Desk:
    @get("/me")
    def me(self, user: CurrentUser) -> dict[str, str | None]:
        return {"email": user.email}

    @get("/maybe")
    def maybe(self, user: OptionalUser) -> dict[str, bool]:
        return {"signed_in": user is not None}

    @get("/admin", roles=["admin"])
    def admin(self, user: CurrentUser) -> dict[str, bool]:
        return {"admin": True}

    @get("/write", dependencies=[Depends(require_permissions("articles:write"))])
    def write(self) -> dict[str, bool]:
        return {"write": True}

    @get("/open")
    def open(self) -> dict[str, bool]:
        return {"open": True}

    @get("/teapot", auth_required=True, responses={401: {"description": "Mine"}})
    def teapot(self) -> dict[str, bool]:
        return {"teapot": True}


def with_accounts(tmp_path: Path, **app: Any) -> TauseStackApp:
    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.contrib.auth"],
        database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
        app=app,
    )
    application = create_app(settings, components=[Desk])
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(application.container.get(Database).engine, tables=tables)  # type: ignore[arg-type]
    return application


def operation(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_guarded_operations_list_their_refusals(tmp_path: Path) -> None:
    """Any authenticated operation can answer 403 (a disabled account, ``user_disabled``);
    those with roles or permissions say so in the 403's description."""
    document = with_accounts(tmp_path).openapi()
    refusal = {"application/json": {"schema": {"$ref": "#/components/schemas/AuthRefusal"}}}
    guarded = [("/desk/me", "get"), ("/desk/maybe", "get"), ("/auth/me", "get")]
    guarded += [("/auth/me", "patch"), ("/auth/ws-ticket", "post")]
    for path, method in guarded:
        responses = operation(document, path, method)["responses"]
        assert responses["401"]["content"] == refusal
        assert responses["403"]["content"] == refusal
        assert "user_disabled" in responses["403"]["description"]
        assert "missing_role" not in responses["403"]["description"]
    for path in ("/desk/admin", "/desk/write"):
        responses = operation(document, path)["responses"]
        assert responses["401"]["content"] == refusal
        assert responses["403"]["content"] == refusal
        assert "missing_role" in responses["403"]["description"]
    assert set(operation(document, "/desk/open")["responses"]) == {"200"}
    assert operation(document, "/desk/teapot")["responses"]["401"] == {"description": "Mine"}
    schemas = document["components"]["schemas"]
    assert schemas["AuthRefusal"]["properties"]["detail"] == {
        "$ref": "#/components/schemas/AuthRefusalDetail"
    }
    assert schemas["AuthRefusalDetail"]["required"] == ["reason", "message"]


def test_with_contrib_auth_authorize_logs_in_at_the_login_route(tmp_path: Path) -> None:
    document = with_accounts(tmp_path).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "description": "A token from the configured auth backend.",
            "flows": {"password": {"tokenUrl": "auth/login", "scopes": {}}},
        }
    }
    assert operation(document, "/desk/me")["security"] == [{"OAuth2PasswordBearer": []}]
    assert operation(document, "/desk/maybe")["security"] == [{}, {"OAuth2PasswordBearer": []}]
    assert "security" not in operation(document, "/desk/open")
    assert "HTTPBearer" not in str(document)


def test_without_contrib_auth_the_scheme_stays_bearer(tmp_path: Path) -> None:
    app = create_app(
        Settings(config_dir=tmp_path, auth={"backend": "oidc", "oidc": _oidc()}),
        components=[Desk],
    )
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from the configured auth backend.",
        }
    }
    assert operation(document, "/desk/admin")["security"] == [{"HTTPBearer": []}]
    assert "403" in operation(document, "/desk/admin")["responses"]


def test_an_app_without_auth_gets_nothing_added(tmp_path: Path) -> None:
    @Controller("/plain")
    class Plain:
        @get("/")
        def index(self) -> dict[str, bool]:
            return {"ok": True}

    document = create_app(Settings(config_dir=tmp_path), components=[Plain]).openapi()
    assert "AuthRefusal" not in str(document)
    assert "securitySchemes" not in document.get("components", {})


@pytest.mark.parametrize("root_path", ["", "/api"])
def test_the_password_flow_of_the_document_works(tmp_path: Path, root_path: str) -> None:
    """Follow the document as Swagger UI does: the token URL relative to the server URL,
    the form of the OAuth2 password grant, then the bearer token on a guarded operation."""
    app = with_accounts(tmp_path, root_path=root_path)
    with TestClient(app) as client:
        app.container.get(AbstractAuthBackend).create_user(
            "ana@example.com", PASSWORD, roles=["admin"]
        )
        document = client.get(f"{root_path}/openapi.json").json()
        server = document.get("servers", [{"url": "/"}])[0]["url"]
        assert server == (root_path or "/")
        flow = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
        token_url = urljoin(server.rstrip("/") + "/", flow["password"]["tokenUrl"])
        assert token_url == f"{root_path}/auth/login"
        form = {"grant_type": "password", "username": "ana@example.com", "password": PASSWORD}
        answer = client.post(token_url, data=form)
        assert answer.status_code == 200, answer.text
        bearer = {"Authorization": f"{answer.json()['token_type']} {answer.json()['access_token']}"}
        assert client.get(f"{root_path}/desk/admin", headers=bearer).json() == {"admin": True}
        refused = client.get(f"{root_path}/desk/admin")
        assert refused.status_code == 401
        AuthRefusal.model_validate(refused.json())  # the body the document describes


def test_the_docs_page_under_a_root_path_may_load_swagger(tmp_path: Path) -> None:
    with TestClient(with_accounts(tmp_path, root_path="/api")) as client:
        page = client.get("/api/docs")
        assert page.status_code == 200
        assert "https://cdn.jsdelivr.net" in page.headers["content-security-policy"]


def test_a_token_is_verified_once_per_request(tmp_path: Path) -> None:
    verified: list[str] = []

    class Counting(AbstractAuthBackend):
        def describe(self) -> str:
            return "a counting backend"

        def verify_token(self, token: str) -> User:
            verified.append(token)
            return User(id="1", email="ana@example.com", roles=("admin",))

    @provider
    def backend() -> AbstractAuthBackend:
        return Counting()

    @Controller("/guarded", roles=["admin"])
    class Guarded:
        @get("/", dependencies=[Depends(require_permissions("x"))])
        def index(self, user: CurrentUser, maybe: OptionalUser) -> dict[str, str]:
            return {"id": user.id}

    settings = Settings(config_dir=tmp_path, auth={"permissions": {"admin": ["*"]}})
    with TestClient(create_app(settings, components=[Guarded, backend])) as client:
        answer = client.get("/guarded/", headers={"Authorization": "Bearer t"})
        assert answer.json() == {"id": "1"}
        assert verified == ["t"]
        client.get("/openapi.json")
        assert verified == ["t"]


def _oidc() -> dict[str, str]:
    return {"issuer": "https://issuer.example.com", "audience": "api://shop"}

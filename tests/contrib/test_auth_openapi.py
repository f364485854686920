"""The OpenAPI document of ``tausestack.contrib.auth`` declares what its routes answer: each real
error response has a status its operation lists, a body valid against that status's schema
(checked with jsonschema against the served document) and the headers it declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tausestack.sdk.auth import AbstractAuthBackend
from tausestack.testing import TestClient
from tests.contrib.test_auth_app import PASSWORD, bearer, login, register
from tests.contrib.test_auth_login_throttle import build_with_storage

THROTTLED = {"username": "zed@example.com", "password": "wrong password"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = build_with_storage(tmp_path, "memory://", {"per_account": "1/minute"})
    with TestClient(app) as test_client:
        yield test_client


def error_responses(client: TestClient) -> list[tuple[str, str, Any]]:
    """(method, path template, response) for every kind of refusal the routes give."""
    register(client)
    headers = bearer(login(client))
    other = register(client, "bo@example.com")
    backend: Any = client.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]
    backend.update_user(other["id"], disabled=True)
    wrong = {"username": "ana@example.com", "password": "wrong password"}
    cross_site = {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"}
    weak = {"password": "short", "current_password": PASSWORD}
    bad_current = {"password": "a new password", "current_password": "not it"}

    def ask(method: str, path: str, **options: Any) -> tuple[str, str, Any]:
        return method, path, client.request(method.upper(), path, **options)

    ana = {"email": "ana@example.com", "password": PASSWORD}
    disabled = {"username": "bo@example.com", "password": PASSWORD}
    unknown = {"username": "cy@example.com", "password": "x"}
    return [
        ask("post", "/auth/register", json={"email": "x"}),
        ask("post", "/auth/register", json={"email": "x", "password": PASSWORD}),
        ask("post", "/auth/register", json=ana),
        ask("post", "/auth/login", data=wrong),
        ask("post", "/auth/login", data=disabled),
        ask("post", "/auth/login", data={}),
        ask("post", "/auth/login", data=THROTTLED),
        ask("post", "/auth/login", data=THROTTLED),
        ask("post", "/auth/session", data=THROTTLED),
        ask("post", "/auth/session", data=unknown),
        ask("post", "/auth/session", data={}),
        ask("post", "/auth/session", data=wrong, headers=cross_site),
        ask("delete", "/auth/session", headers=cross_site),
        ask("post", "/auth/refresh", json={"refresh_token": "x"}),
        ask("post", "/auth/refresh", json={}),
        ask("post", "/auth/logout", json={}),
        ask("get", "/auth/me"),
        ask("patch", "/auth/me", json={"roles": ["admin"]}, headers=headers),
        ask("patch", "/auth/me", json=weak, headers=headers),
        ask("patch", "/auth/me", json=bad_current, headers=headers),
        ask("patch", "/auth/me", json=bad_current, headers=headers),
        ask("patch", "/auth/me", json={}, headers={"Authorization": "Bearer x"}),
        ask("post", "/auth/ws-ticket"),
    ]


def test_every_error_response_matches_its_declared_schema(client: TestClient) -> None:
    answers = error_responses(client)
    document = client.get("/openapi.json").json()
    seen = set()
    for method, path, answer in answers:
        where = f"{method.upper()} {path} -> {answer.status_code} {answer.text}"
        declared = document["paths"][path][method]["responses"]
        status = str(answer.status_code)
        assert answer.status_code >= 400, where
        assert status in declared, f"{where}: undeclared (declared: {sorted(declared)})"
        schema = declared[status]["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(answer.json())]
        assert not errors, f"{where}: {errors}"
        for header in declared[status].get("headers", {}):
            assert header in answer.headers, f"{where}: no {header} header"
        seen.add((path, status))
    # Both kinds of 422, 401, 403, 409 and 429 were checked.
    assert {("/auth/register", "409"), ("/auth/login", "429"), ("/auth/me", "422")} <= seen
    assert {status for _, status in seen} == {"401", "403", "409", "422", "429"}


def test_no_auth_route_declares_fastapi_validation_error(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if not path.startswith("/auth/"):
            continue
        for method, operation in operations.items():
            for status, declared in operation["responses"].items():
                schema = declared.get("content", {}).get("application/json", {}).get("schema", {})
                assert schema.get("$ref") != "#/components/schemas/HTTPValidationError", (
                    f"{method.upper()} {path} {status}"
                )


def test_the_rate_limiters_429_on_login_matches_the_declared_schema(tmp_path: Path) -> None:
    """With ``/auth/login`` limited by the rate-limit middleware (docs/security.md), its 429
    (``{"detail": "Too many requests…"}``) is one of the forms the route declares."""
    limits = {"enabled": True, "default": None, "paths": {"/auth/login": "1/minute"}}
    app = build_with_storage(tmp_path, "memory://", {}, **limits)
    with TestClient(app) as c:
        assert c.post("/auth/login", data=THROTTLED).status_code == 401
        answer = c.post("/auth/login", data=THROTTLED)
        document = c.get("/openapi.json").json()
    assert answer.status_code == 429
    declared = document["paths"]["/auth/login"]["post"]["responses"]["429"]
    schema = declared["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    assert not [error.message for error in validator.iter_errors(answer.json())], answer.text

"""The ``oidc`` backend against a JWKS served over HTTP by a test server, and the FastAPI
dependencies that use it: 401 with a reason for bad tokens, 403 for missing roles."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import Depends
from jwt.algorithms import RSAAlgorithm

from tausestack import Controller, Settings, create_app, get
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    AuthConfigurationError,
    CurrentUser,
    OptionalUser,
    User,
    require_permissions,
    require_roles,
)
from tausestack.testing import TestClient
from tests.jwks_server import AUDIENCE, Keys, jwks_provider, token


@pytest.fixture
def provider() -> Iterator[tuple[str, Keys]]:
    """A JWKS endpoint on a free loopback port: the issuer is its base URL + /issuer."""
    with jwks_provider() as served:
        yield served


@Controller("/shop")
class Shop:
    @get("/me")
    def me(self, user: CurrentUser) -> dict[str, Any]:
        return {"id": user.id, "roles": list(user.roles), "email": user.email}

    @get("/maybe")
    def maybe(self, user: OptionalUser) -> dict[str, Any]:
        return {"id": user.id if user else None}

    @get("/admin", dependencies=[Depends(require_roles("admin"))])
    def admin(self) -> dict[str, bool]:
        return {"admin": True}

    @get("/articles", dependencies=[Depends(require_permissions("articles:write"))])
    def articles(self) -> dict[str, bool]:
        return {"write": True}


@Controller("/accounts")
class Accounts:
    """Asks for the backend by type, so the app registers it as a singleton."""

    def __init__(self, auth: AbstractAuthBackend) -> None:
        self.auth = auth

    @get("/check")
    def check(self, token: str) -> dict[str, str]:
        return {"id": self.auth.verify_token(token).id}


def client(issuer: str, tmp_path: Path, **auth: Any) -> TestClient:
    options = {
        "backend": "oidc",
        "oidc": {"issuer": issuer, "audience": AUDIENCE},
        "permissions": {"editor": ["articles:write"], "owner": ["*"]},
        **auth,
    }
    settings = Settings(config_dir=tmp_path, auth=options)
    return TestClient(create_app(settings, components=[Shop, Accounts]))


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def test_a_valid_token_gives_the_user(provider: tuple[str, Keys], tmp_path: Path) -> None:
    issuer, keys = provider
    signed = token(issuer, keys.current, email="ada@example.com", roles=["editor"])
    with client(issuer, tmp_path) as http:
        response = http.get("/shop/me", headers=bearer(signed))
        assert response.status_code == 200
        assert response.json() == {"id": "user-1", "roles": ["editor"], "email": "ada@example.com"}
        assert http.get("/shop/maybe").json() == {"id": None}
        assert http.get("/shop/maybe", headers=bearer(signed)).json() == {"id": "user-1"}
        assert http.get("/accounts/check", params={"token": signed}).json() == {"id": "user-1"}
        user = http.app.container.get(AbstractAuthBackend).verify_token(signed)  # type: ignore[attr-defined]
        assert isinstance(user, User)
        assert user.has_roles("editor")
        assert not user.has_roles("editor", "admin")


def unsigned(issuer: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "admin", "iat": now, "exp": now + 300}
    return f"{part({'alg': 'none', 'kid': 'key-1'})}.{part({**claims, 'roles': ['admin']})}."


def hs256_with_the_public_key(issuer: str, keys: Keys) -> str:
    public = json.loads(RSAAlgorithm.to_jwk(keys.current.public_key()))["n"].encode()
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 300}
    return jwt.encode(claims, public, algorithm="HS256", headers={"kid": "key-1"})


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda issuer, keys: token(issuer, keys.current, exp=int(time.time()) - 120),
            "token_expired",
        ),
        (lambda issuer, keys: token(issuer, keys.other), "invalid_signature"),
        (lambda issuer, keys: token(issuer, keys.current, aud="api://other"), "invalid_audience"),
        (lambda issuer, keys: token(issuer, keys.current, iss="https://evil"), "invalid_issuer"),
        (lambda issuer, keys: unsigned(issuer), "algorithm_not_allowed"),
        (hs256_with_the_public_key, "algorithm_not_allowed"),
        (lambda issuer, keys: token(issuer, keys.other, kid="key-9"), "unknown_key"),
        (lambda issuer, keys: token(issuer, keys.current, sub=None), "missing_claim"),
        (lambda issuer, keys: "not-a-jwt", "malformed_token"),
        (lambda issuer, keys: "a.b.c", "malformed_token"),
    ],
    ids=[
        "expired",
        "forged-signature",
        "wrong-audience",
        "wrong-issuer",
        "alg-none",
        "hs256-with-public-key",
        "unknown-kid",
        "no-subject",
        "not-a-jwt",
        "garbage-segments",
    ],
)
def test_bad_tokens_get_401_with_a_reason(
    provider: tuple[str, Keys], tmp_path: Path, make: Any, reason: str
) -> None:
    issuer, keys = provider
    with client(issuer, tmp_path) as http:
        response = http.get("/shop/me", headers=bearer(make(issuer, keys)))
        assert response.status_code == 401
        assert response.json()["detail"]["reason"] == reason
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        optional = http.get("/shop/maybe", headers=bearer(make(issuer, keys)))
        assert optional.status_code == 401, "a bad token is refused even where a user is optional"


def test_a_missing_token_is_401(provider: tuple[str, Keys], tmp_path: Path) -> None:
    issuer, _ = provider
    with client(issuer, tmp_path) as http:
        response = http.get("/shop/me")
        assert response.status_code == 401
        assert response.json()["detail"]["reason"] == "missing_token"
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_request"')


def test_roles_and_permissions_are_403_when_missing(
    provider: tuple[str, Keys], tmp_path: Path
) -> None:
    issuer, keys = provider
    editor = token(issuer, keys.current, roles=["editor"])
    owner = token(issuer, keys.current, roles=["owner"])
    with client(issuer, tmp_path) as http:
        denied = http.get("/shop/admin", headers=bearer(editor))
        assert denied.status_code == 403
        assert denied.json()["detail"] == {
            "reason": "missing_role",
            "message": "This needs the role(s): admin.",
        }
        assert http.get("/shop/admin").status_code == 401
        assert http.get("/shop/articles", headers=bearer(editor)).json() == {"write": True}
        assert http.get("/shop/articles", headers=bearer(owner)).json() == {"write": True}
        viewer = token(issuer, keys.current, roles=["viewer"])
        assert http.get("/shop/articles", headers=bearer(viewer)).status_code == 403


def test_key_rotation_is_picked_up(provider: tuple[str, Keys], tmp_path: Path) -> None:
    issuer, keys = provider
    with client(
        issuer, tmp_path, oidc={"issuer": issuer, "audience": AUDIENCE, "jwks_cooldown": 0}
    ) as http:
        assert http.get("/shop/me", headers=bearer(token(issuer, keys.current))).status_code == 200
        keys.published = [("key-2", keys.other)]  # the provider rotates its key
        rotated = token(issuer, keys.other, kid="key-2")
        assert http.get("/shop/me", headers=bearer(rotated)).status_code == 200
        assert keys.fetches == 2, "fetched again once, for the unknown kid"


def test_a_key_set_that_cannot_be_read_is_401_keys_unavailable(
    provider: tuple[str, Keys], tmp_path: Path
) -> None:
    issuer, keys = provider
    signed = bearer(token(issuer, keys.current))
    keys.published = []  # mid-rotation or misconfigured: PyJWT's PyJWKSetError
    (tmp_path / "jwks.json").write_text("{not json")
    files = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), files) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        not_json = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        for jwks_url in (None, not_json):
            oidc = {"issuer": issuer, "audience": AUDIENCE, "jwks_url": jwks_url}
            with client(issuer, tmp_path, oidc=oidc) as http:
                answer = http.get("/shop/me", headers=signed)
            assert answer.status_code == 401, answer.text
            assert answer.json()["detail"]["reason"] == "keys_unavailable"
        server.shutdown()


def test_configuration_errors(tmp_path: Path) -> None:
    half = {"backend": "oidc", "oidc": {"issuer": "https://x"}}
    with pytest.raises(AuthConfigurationError, match=r"auth.oidc.audience is not set"):
        create_app(Settings(config_dir=tmp_path, auth=half), components=[Shop, Accounts])
    app = create_app(Settings(config_dir=tmp_path), components=[Shop])
    with (
        pytest.raises(AuthConfigurationError, match="auth.backend is not set"),
        TestClient(app) as http,
    ):
        http.get("/shop/me", headers=bearer("a.b.c"))
    with pytest.raises(ValueError, match="one or more role names"):
        require_roles()


@Controller("/staff", roles=["staff"])
class Staff:
    @get("/")
    def index(self) -> dict[str, str]:
        return {"area": "staff"}

    @get("/payroll", roles=["payroll"])
    def payroll(self) -> dict[str, str]:
        return {"area": "payroll"}


@Controller("/members", auth_required=True)
class Members:
    @get("/")
    def index(self) -> dict[str, str]:
        return {"area": "members"}


def test_controllers_and_routes_declare_auth_and_roles(
    provider: tuple[str, Keys], tmp_path: Path
) -> None:
    issuer, keys = provider
    options = {"backend": "oidc", "oidc": {"issuer": issuer, "audience": AUDIENCE}}
    app = create_app(Settings(config_dir=tmp_path, auth=options), components=[Staff, Members])
    staff = bearer(token(issuer, keys.current, roles=["staff"]))
    both = bearer(token(issuer, keys.current, roles=["staff", "payroll"]))
    nobody = bearer(token(issuer, keys.current))
    with TestClient(app) as http:
        assert http.get("/members/").status_code == 401
        assert http.get("/members/", headers=nobody).json() == {"area": "members"}
        assert http.get("/staff/", headers=nobody).status_code == 403
        assert http.get("/staff/", headers=staff).json() == {"area": "staff"}
        assert http.get("/staff/payroll", headers=staff).status_code == 403
        assert http.get("/staff/payroll", headers=both).json() == {"area": "payroll"}
        schema = http.get("/openapi.json").json()
        assert schema["paths"]["/members/"]["get"]["security"] == [{"HTTPBearer": []}]


def test_auth_keywords_are_checked_when_declared() -> None:
    from tausestack.errors import ControllerDefinitionError

    with pytest.raises(ControllerDefinitionError, match="roles must be a non-empty list"):
        Controller("/x", roles="admin")  # type: ignore[arg-type]

    def route(self: object) -> None: ...

    with pytest.raises(ControllerDefinitionError, match="roles must be a non-empty list"):
        get("/", roles=[])(route)
    with pytest.raises(ControllerDefinitionError, match="auth_required must be True or False"):
        get("/", auth_required="yes")(route)  # type: ignore[typeddict-item]


def test_refusals_are_audit_events_without_tokens(
    provider: tuple[str, Keys], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issuer, keys = provider
    expired = token(issuer, keys.current, exp=int(time.time()) - 120)
    editor = token(issuer, keys.current, sub="editor-7", roles=["editor"])
    with client(issuer, tmp_path) as http, caplog.at_level("INFO", logger="tausestack.audit"):
        http.get("/shop/me", headers=bearer(expired))
        http.get("/shop/me")
        http.get("/shop/admin", headers=bearer(editor))
    events = [record.audit for record in caplog.records if record.name == "tausestack.audit"]  # type: ignore[attr-defined]
    assert [(event["event"], event["reason"]) for event in events] == [
        ("authentication_failed", "token_expired"),
        ("authentication_failed", "missing_token"),
        ("permission_denied", "missing_role"),
    ]
    assert events[2]["user_id"] == "editor-7"
    assert events[0]["path"] == "/shop/me"
    assert events[0]["method"] == "GET"
    assert all(record.levelname == "WARNING" for record in caplog.records)
    assert expired not in caplog.text
    assert editor not in caplog.text

"""Secure by default: security headers on every response, CORS from settings, a body limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException, Request, Response

from tausestack import Controller, Settings, create_app, get, post
from tausestack.errors import SettingsError
from tausestack.testing import TestClient


@Controller("/things")
class Things:
    @get("/")
    def ok(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/forbidden")
    def forbidden(self) -> None:
        raise HTTPException(status_code=403, detail="no")

    @get("/crash")
    def crash(self) -> None:
        raise RuntimeError("boom")

    @get("/items/{number}")
    def item(self, number: int) -> dict[str, int]:
        return {"number": number}

    @get("/own-policy")
    def own_policy(self, response: Response) -> dict[str, str]:
        response.headers["Content-Security-Policy"] = "sandbox"
        return {}

    @post("/echo")
    async def echo(self, request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}


def client(tmp_path: Path, base_url: str = "http://testserver", **settings: Any) -> TestClient:
    app = create_app(Settings(config_dir=tmp_path, **settings), components=[Things])
    return TestClient(app, base_url=base_url, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/things/", 200),
        ("/things/forbidden", 403),
        ("/things/items/x", 422),
        ("/nowhere", 404),
        ("/things/crash", 500),
    ],
)
def test_every_response_has_the_security_headers(tmp_path: Path, path: str, status: int) -> None:
    with client(tmp_path) as http:
        response = http.get(path)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers, "HSTS only over HTTPS"


def test_hsts_over_https(tmp_path: Path) -> None:
    with client(tmp_path, base_url="https://testserver") as http:
        response = http.get("/things/")
    assert response.headers["strict-transport-security"] == ("max-age=63072000; includeSubDomains")


def test_a_route_keeps_its_own_header(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        response = http.get("/things/own-policy")
    assert response.headers.get_list("content-security-policy") == ["sandbox"]


def test_the_docs_still_load_their_scripts(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        docs = http.get("/docs")
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in docs.text


def test_headers_are_configurable(tmp_path: Path) -> None:
    options = {"headers": {"frame_options": None, "referrer_policy": "no-referrer"}}
    with client(tmp_path, security=options) as http:
        response = http.get("/things/")
    assert "x-frame-options" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    with client(tmp_path, security={"headers": {"enabled": False}}) as http:
        assert "x-content-type-options" not in http.get("/things/").headers


def test_cors_is_off_until_origins_are_listed(tmp_path: Path) -> None:
    preflight = {"origin": "https://app.example", "access-control-request-method": "POST"}
    with client(tmp_path) as http:
        assert (
            "access-control-allow-origin" not in http.options("/things/", headers=preflight).headers
        )
    options = {"cors": {"allow_origins": ["https://app.example"]}}
    with client(tmp_path, security=options) as http:
        allowed = http.options("/things/", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = http.options("/things/", headers={**preflight, "origin": "https://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


def test_cors_credentials_with_any_origin_is_refused(tmp_path: Path) -> None:
    cors = {"allow_origins": ["*"], "allow_credentials": True}
    with pytest.raises(SettingsError, match="security.cors.*list the origins"):
        Settings(config_dir=tmp_path, security={"cors": cors})


def test_bodies_over_the_limit_get_413(tmp_path: Path) -> None:
    with client(tmp_path, security={"max_body_size": 1000}) as http:
        assert http.post("/things/echo", content=b"x" * 1000).json() == {"size": 1000}
        declared = http.post("/things/echo", content=b"x" * 1001)
        assert declared.status_code == 413
        assert declared.json() == {"detail": "Request body larger than 1000 bytes."}
        assert declared.headers["x-content-type-options"] == "nosniff"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it is read
            for _ in range(5):
                yield b"y" * 300

        streamed = http.post("/things/echo", content=chunks())
        assert streamed.status_code == 413
        assert streamed.json() == {"detail": "Request body larger than 1000 bytes."}
    with client(tmp_path, security={"max_body_size": None}) as http:
        assert http.post("/things/echo", content=b"x" * 20_000_000).json() == {"size": 20_000_000}

"""CORS by default lets a trusted front end on another origin use cookie sessions: the
preflight of an unsafe request allows the CSRF header that sessions need."""

from __future__ import annotations

from pathlib import Path

from tausestack import Controller, Settings, create_app, post
from tausestack.sdk.auth import AuthSessionSettings
from tausestack.testing import TestClient

FRONT_END = "https://app.example.com"


@Controller("/notes")
class Notes:
    @post("/")
    def create(self) -> dict[str, str]:
        return {"status": "created"}


def test_the_preflight_of_a_session_request_allows_the_csrf_header(tmp_path: Path) -> None:
    csrf_header = AuthSessionSettings().csrf_header
    cors = {"allow_origins": [FRONT_END], "allow_credentials": True}
    app = create_app(Settings(config_dir=tmp_path, security={"cors": cors}), components=[Notes])
    with TestClient(app) as http:
        preflight = http.options(
            "/notes/",
            headers={
                "Origin": FRONT_END,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": f"content-type,{csrf_header.lower()}",
            },
        )
        assert preflight.status_code == 200, preflight.text
        allowed = preflight.headers["access-control-allow-headers"].lower().split(", ")
        assert csrf_header.lower() in allowed
        assert preflight.headers["access-control-allow-origin"] == FRONT_END
        assert preflight.headers["access-control-allow-credentials"] == "true"
        refused = http.options(
            "/notes/",
            headers={
                "Origin": FRONT_END,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-something-else",
            },
        )
        assert refused.status_code == 400, "other headers still need listing"

"""Swagger UI's Authorize button logs in with ``tausestack.contrib.auth``'s login route, in
Chromium (Playwright), against uvicorn, for an app served under a root path.

FastAPI's docs page loads Swagger UI from a CDN, which tests cannot reach: the browser is given
the same files from the ``swagger-ui-bundle-v2`` package instead. Needs ``pip install
playwright swagger-ui-bundle-v2`` (the dev extra) and Chromium at /usr/bin/chromium (``apt-get
install chromium``; .ci/run installs it). Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.processes import free_port, serving
from tests.services import require_binary, require_module

pytestmark = pytest.mark.e2e

CHROMIUM_HINT = "install Chromium: `apt-get install -y chromium` (.ci/run does this)"
PASSWORD = "correct horse battery"
ROOT = "/api"

APP = """
from pathlib import Path

from sqlmodel import SQLModel

from tausestack import Controller, Settings, create_app, get
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import CurrentUser
from tausestack.sdk.database import Database

HERE = Path(__file__).parent


@Controller("/desk")
class Desk:
    @get("/me")
    def me(self, user: CurrentUser) -> dict[str, str | None]:
        return {"email": user.email}


settings = Settings(
    config_dir=HERE,
    installed_apps=["tausestack.contrib.auth"],
    database={"url": f"sqlite:///{HERE / 'app.db'}"},
    auth={"backend": "jwt", "jwt": {"secret": "swagger-test-secret-of-at-least-32-bytes"}},
    app={"root_path": "/api"},
)
app = create_app(settings, components=[Desk])
engine = app.container.get(Database).engine
SQLModel.metadata.create_all(engine, tables=[AuthAccount.__table__, AuthToken.__table__])
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "docs_app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "docs_app:app", "--port", str(port)]
    with serving(command, tmp_path, port, tmp_path / "uvicorn.log", f"{ROOT}/openapi.json") as base:
        yield base


def swagger_files() -> Path:
    bundle = require_module("swagger_ui_bundle", "pip install swagger-ui-bundle-v2 (dev extra)")
    folders = sorted(Path(bundle.__file__).parent.glob("vendor/swagger-ui-5.*"))
    if not folders:
        pytest.fail(f"swagger-ui-bundle has no Swagger UI 5 in {Path(bundle.__file__).parent}")
    return folders[-1]


def test_authorize_logs_in_and_try_it_out_sends_the_token(server: str) -> None:
    chromium = require_binary("chromium", CHROMIUM_HINT, ["/usr/bin"])
    playwright = require_module("playwright.sync_api", "pip install playwright (dev extra)")
    files = swagger_files()
    registered = httpx2.post(
        f"{server}{ROOT}/auth/register", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    logins: list[str] = []

    def from_the_package(route: Any) -> None:
        route.fulfill(path=str(files / route.request.url.rsplit("/", 1)[1]))

    with playwright.sync_playwright() as browser_driver:
        browser = browser_driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/*", from_the_package)
            page.route("https://fastapi.tiangolo.com/**", lambda route: route.abort())
            page.on(
                "request",
                lambda request: logins.append(request.url) if "login" in request.url else None,
            )
            page.goto(f"{server}{ROOT}/docs")
            page.get_by_role("button", name="Authorize").first.click()
            page.fill("#oauth_username", "ana@example.com")
            page.fill("#oauth_password", PASSWORD)
            page.locator(".auth-btn-wrapper button.authorize").click()
            page.get_by_role("button", name="Remove authorization").wait_for()  # logged in
            page.locator(".auth-btn-wrapper button.btn-done").click()

            page.locator("#operations-default-desk_me").click()
            page.get_by_role("button", name="Try it out").click()
            page.get_by_role("button", name="Execute").click()
            response = page.locator(".live-responses-table .response").first
            response.locator(".response-col_status").get_by_text("200").wait_for()
            assert '"email": "ana@example.com"' in response.inner_text()
        finally:
            browser.close()
    assert logins == [f"{server}{ROOT}/auth/login"]

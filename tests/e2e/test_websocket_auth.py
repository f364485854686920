"""Websocket authentication against a real uvicorn server, with a real websocket client (the
``websockets`` library): bearer header, one-use ticket, session cookie from an allowed Origin,
403 denial responses with the reason, and no live ticket in the server's access log, whichever
of uvicorn's HTTP and websocket protocols serves it."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tausestack import Settings
from tausestack.sdk.auth._providers import auth_backend
from tests.processes import free_port, serving

websockets = pytest.importorskip("websockets", reason="pip install websockets (in the dev extra)")
from websockets.exceptions import InvalidStatus  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

pytestmark = pytest.mark.e2e

SECRET = "websocket-e2e-secret-of-at-least-32-bytes"
PASSWORD = "correct horse battery"

APP = """
from pathlib import Path

from fastapi import WebSocket
from sqlmodel import SQLModel

from tausestack import Controller, Settings, create_app, websocket
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import CurrentUser
from tausestack.sdk.database import Database

HERE = Path(__file__).parent


@Controller("/live")
class Live:
    @websocket("/me")
    async def me(self, socket: WebSocket, user: CurrentUser) -> None:
        await socket.accept()
        await socket.send_json({"id": user.id})
        await socket.close()

    @websocket("/staff", roles=["staff"])
    async def staff(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"staff": True})
        await socket.close()

    @websocket("/open")
    async def open(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"open": True})
        await socket.close()


app = create_app(Settings(config_dir=HERE, **SETTINGS), components=[Live])
engine = app.container.get(Database).engine
SQLModel.metadata.create_all(engine, tables=[AuthAccount.__table__, AuthToken.__table__])
"""


def settings_for(folder: Path) -> dict[str, Any]:
    return {
        "installed_apps": ["tausestack.contrib.auth"],
        "database": {"url": f"sqlite:///{folder / 'app.db'}"},
        "auth": {"backend": "jwt", "jwt": {"secret": SECRET}},
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app served by uvicorn; yields its base URL and its log file."""
    with serve(tmp_path) as served:
        yield served


@contextmanager
def serve(folder: Path, *options: str) -> Iterator[tuple[str, Path]]:
    settings = f"SETTINGS = {settings_for(folder)!r}\n"
    (folder / "live_app.py").write_text(settings + textwrap.dedent(APP), encoding="utf-8")
    port = free_port()
    log = folder / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "live_app:app", "--port", str(port), *options]
    with serving(command, folder, port, log) as base:
        yield base, log


def make_account(folder: Path, email: str, roles: list[str]) -> Any:
    backend: Any = auth_backend(Settings(config_dir=folder, **settings_for(folder)))
    try:
        return backend.create_user(email, PASSWORD, roles=roles)
    finally:
        backend.database.engine.dispose()


def token(base: str, email: str) -> str:
    answer = httpx2.post(f"{base}/auth/login", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    access: str = answer.json()["access_token"]
    return access


def refusal(url: str, **options: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body with which the server refuses a handshake."""
    with pytest.raises(InvalidStatus) as refused, connect(url, **options):
        pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")["detail"]


def test_bearer_header_and_roles(server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = server
    ws = base.replace("http://", "ws://")
    ana = make_account(tmp_path, "ana@example.com", [])
    headers = {"Authorization": f"Bearer {token(base, 'ana@example.com')}"}
    with connect(f"{ws}/live/me", additional_headers=headers) as socket:
        assert json.loads(socket.recv()) == {"id": ana.id}
    status, detail = refusal(f"{ws}/live/me")
    assert (status, detail["reason"]) == (403, "missing_token")
    status, detail = refusal(f"{ws}/live/staff", additional_headers=headers)
    assert (status, detail["reason"]) == (403, "missing_role")
    forged = {"Authorization": "Bearer not.a.token"}
    status, detail = refusal(f"{ws}/live/me", additional_headers=forged)
    assert (status, detail["reason"]) == (403, "malformed_token")


def test_a_ticket_opens_one_websocket_and_is_not_logged(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, log = server
    ws = base.replace("http://", "ws://")
    ana = make_account(tmp_path, "ana@example.com", [])
    headers = {"Authorization": f"Bearer {token(base, 'ana@example.com')}"}
    ticket = httpx2.post(f"{base}/auth/ws-ticket", headers=headers).json()["ticket"]
    with connect(f"{ws}/live/me?ws_ticket={ticket}") as socket:  # no header: as a browser
        assert json.loads(socket.recv()) == {"id": ana.id}
    status, detail = refusal(f"{ws}/live/me?ws_ticket={ticket}")
    assert (status, detail["reason"]) == (403, "invalid_ticket")
    logged = log.read_text()
    assert "ws_ticket=REDACTED" in logged  # uvicorn logs the handshake's URL...
    assert ticket not in logged  # ...without the ticket
    assert ticket.split(".")[1] not in logged


def test_the_session_cookie_needs_this_sites_origin(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = server
    ws = base.replace("http://", "ws://")
    ana = make_account(tmp_path, "ana@example.com", [])
    opened = httpx2.post(
        f"{base}/auth/session", data={"username": "ana@example.com", "password": PASSWORD}
    )
    assert opened.status_code == 204, opened.text
    cookie = {"Cookie": f"tausestack_session={opened.cookies['tausestack_session']}"}
    with connect(f"{ws}/live/me", additional_headers=cookie, origin=base) as socket:  # type: ignore[arg-type]
        assert json.loads(socket.recv()) == {"id": ana.id}
    for origin in ("https://evil.example.net", None):
        status, detail = refusal(f"{ws}/live/me", additional_headers=cookie, origin=origin)
        assert (status, detail["reason"]) == (403, "cross_site_request")


@pytest.mark.parametrize(
    ("http", "ws"),
    [
        ("h11", "websockets"),
        ("h11", "websockets-sansio"),
        ("h11", "wsproto"),
        ("httptools", "wsproto"),
    ],
)
def test_no_live_ticket_reaches_the_access_log(tmp_path: Path, http: str, ws: str) -> None:
    """uvicorn logs each handshake and request from the ASGI scope once the app answered: a
    ticket is masked there whether or not anything reads it."""
    if importlib.util.find_spec(http) is None:
        pytest.skip(f"uvicorn's {http} protocol needs {http}: pip install {http}")
    with serve(tmp_path, "--http", http, "--ws", ws) as (base, log):
        make_account(tmp_path, "ana@example.com", [])
        ws_base = base.replace("http://", "ws://")
        headers = {"Authorization": f"Bearer {token(base, 'ana@example.com')}"}
        tickets = [
            httpx2.post(f"{base}/auth/ws-ticket", headers=headers).json()["ticket"]
            for _ in range(6)
        ]
        with connect(f"{ws_base}/live/me?ws_ticket={tickets[0]}") as socket:
            assert "id" in json.loads(socket.recv())
        with connect(f"{ws_base}/live/open?ws_ticket={tickets[1]}") as socket:  # not read
            assert json.loads(socket.recv()) == {"open": True}
        url = f"{ws_base}/live/me?ws_ticket={tickets[2]}"
        with connect(url, additional_headers=headers) as socket:  # the header wins
            assert "id" in json.loads(socket.recv())
        with pytest.raises(InvalidStatus), connect(f"{ws_base}/nope?ws_ticket={tickets[3]}"):
            pass
        me = httpx2.get(f"{base}/auth/me?ws_ticket={tickets[4]}", headers=headers)
        assert me.status_code == 200
        assert httpx2.get(f"{base}/nope?ws_ticket={tickets[5]}").status_code == 404
    logged = log.read_text()
    assert logged.count("ws_ticket=REDACTED") == 6, logged
    for ticket in tickets:
        assert ticket.split(".")[1] not in logged

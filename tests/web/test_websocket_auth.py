"""Websockets authenticate at the handshake: bearer header, one-use ticket, session cookie
from an allowed Origin; refusals are 403 denial responses (close 1008 without the extension).

Over TestClient here; tests/e2e/test_websocket_auth.py does the same against uvicorn with a
real websocket client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import Depends, Request, WebSocket
from sqlmodel import SQLModel, update
from starlette.testclient import TestClient as ServerClient
from starlette.testclient import WebSocketDenialResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from tausestack import Controller, Settings, TauseStackApp, create_app, get, websocket
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.errors import RouteError
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    CurrentUser,
    OptionalUser,
    require_permissions,
)
from tausestack.sdk.database import Database
from tausestack.testing import TestClient

SECRET = "websocket-auth-test-secret-of-32-bytes"
PASSWORD = "correct horse battery"
OWN_ORIGIN = "http://testserver"


@Controller("/live")
class Live:
    @websocket("/me")
    async def me(self, socket: WebSocket, user: CurrentUser) -> None:
        await socket.accept()
        query = socket.scope["query_string"].decode()
        parameter = socket.query_params.get("ws_ticket")
        await socket.send_json({"id": user.id, "query": query, "parameter": parameter})
        await socket.close()

    @websocket("/maybe")
    async def maybe(self, socket: WebSocket, user: OptionalUser) -> None:
        await socket.accept()
        await socket.send_json({"id": user.id if user else None})
        await socket.close()

    @websocket("/staff", roles=["staff"])
    async def staff(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"staff": True})
        await socket.close()

    @websocket("/write", dependencies=[Depends(require_permissions("articles:write"))])
    async def write(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"write": True})
        await socket.close()


@Controller("/members", auth_required=True)
class Members:
    @websocket("/feed")
    async def feed(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"member": True})
        await socket.close()

    @websocket("/me", roles=["staff"])  # three guards: the controller's, the route's, the user
    async def me(self, socket: WebSocket, user: CurrentUser) -> None:
        await socket.accept()
        await socket.send_json({"id": user.id, "query": socket.scope["query_string"].decode()})
        await socket.close()


@Controller("/open")
class Open:
    """Routes that never read a ticket: nothing authenticates them."""

    @websocket("/feed")
    async def feed(self, socket: WebSocket) -> None:
        await socket.accept()
        query = socket.scope["query_string"].decode()
        await socket.send_json({"query": query, "parameter": socket.query_params.get("ws_ticket")})
        await socket.close()

    @get("/page")
    async def page(self, request: Request) -> dict[str, Any]:
        return {"query": request.url.query, "parameter": request.query_params.get("ws_ticket")}


def build(tmp_path: Path, **settings: Any) -> TauseStackApp:
    app = create_app(
        Settings(
            config_dir=tmp_path,
            installed_apps=["tausestack.contrib.auth"],
            database={"url": f"sqlite:///{tmp_path / 'app.db'}"},
            auth={
                "backend": "jwt",
                "jwt": {"secret": SECRET},
                "permissions": {"editor": ["articles:write"]},
            },
            **settings,
        ),
        components=[Live, Members, Open],
    )
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(app.container.get(Database).engine, tables=tables)  # type: ignore[arg-type]
    return app


@pytest.fixture
def app(tmp_path: Path) -> TauseStackApp:
    return build(tmp_path, security={"cors": {"allow_origins": ["https://app.example.com"]}})


@pytest.fixture
def client(app: TauseStackApp) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def backend(client: TestClient) -> Any:
    return client.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]


def account(client: TestClient, email: str = "ana@example.com", roles: list[str] = ()) -> Any:  # type: ignore[assignment]
    return backend(client).create_user(email, PASSWORD, roles=list(roles))


def bearer(client: TestClient, email: str = "ana@example.com") -> dict[str, str]:
    tokens = client.post("/auth/login", data={"username": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def ticket_for(client: TestClient, email: str = "ana@example.com") -> str:
    answer = client.post("/auth/ws-ticket", headers=bearer(client, email))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["expires_in"] <= 60
    assert body["parameter"] == "ws_ticket"
    ticket: str = body["ticket"]
    return ticket


def denied(client: TestClient, path: str, **kwargs: Any) -> dict[str, Any]:
    """The body of a 403 denial response to a websocket handshake."""
    with pytest.raises(WebSocketDenialResponse) as denial, client.websocket_connect(path, **kwargs):
        pass
    assert denial.value.status_code == 403
    detail: dict[str, Any] = denial.value.json()["detail"]
    return detail


def received(client: TestClient, path: str, **kwargs: Any) -> Any:
    with client.websocket_connect(path, **kwargs) as socket:
        return socket.receive_json()


# -- bearer header, optional users, auth_required, roles, permissions --------------------------


def test_optional_user_and_auth_required_controller(client: TestClient) -> None:
    ana = account(client)
    headers = bearer(client)
    assert received(client, "/live/maybe") == {"id": None}
    assert received(client, "/live/maybe", headers=headers) == {"id": ana.id}
    bad = {"Authorization": "Bearer not.a.token"}
    assert denied(client, "/live/maybe", headers=bad)["reason"] == "malformed_token"
    assert denied(client, "/members/feed")["reason"] == "missing_token"
    assert received(client, "/members/feed", headers=headers) == {"member": True}


def test_roles_and_permissions_apply_as_for_http(client: TestClient) -> None:
    account(client, "ana@example.com", ["staff"])
    account(client, "bo@example.com", ["editor"])
    ana, bo = bearer(client, "ana@example.com"), bearer(client, "bo@example.com")
    assert received(client, "/live/staff", headers=ana) == {"staff": True}
    assert denied(client, "/live/staff", headers=bo)["reason"] == "missing_role"
    assert received(client, "/live/write", headers=bo) == {"write": True}
    assert denied(client, "/live/write", headers=ana)["reason"] == "missing_permission"


def test_a_disabled_user_is_refused(client: TestClient) -> None:
    ana = account(client)
    headers = bearer(client)
    ticket = ticket_for(client)
    backend(client).update_user(ana.id, disabled=True)
    settings = client.app.settings  # type: ignore[attr-defined]
    assert not settings.auth.jwt.check_account  # the token still verifies: the ticket must not
    assert denied(client, f"/live/me?ws_ticket={ticket}")["reason"] in {
        "invalid_ticket",
        "user_disabled",
    }
    answer = client.post("/auth/ws-ticket", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["detail"]["reason"] == "user_disabled"


# -- tickets -----------------------------------------------------------------------------------


def test_a_ticket_opens_one_websocket_as_its_user(client: TestClient) -> None:
    ana = account(client)
    ticket = ticket_for(client)
    answer = received(client, f"/live/me?ws_ticket={ticket}&room=7")
    assert answer["id"] == ana.id
    assert ticket not in answer["query"]  # masked in the scope, which servers log from
    assert answer["query"] == "ws_ticket=REDACTED&room=7"
    assert denied(client, f"/live/me?ws_ticket={ticket}")["reason"] == "invalid_ticket"


def test_a_ticket_is_used_once_by_a_websocket_with_several_guards(client: TestClient) -> None:
    ana = account(client, roles=["staff"])
    answer = received(client, f"/members/me?ws%5Fticket={ticket_for(client)}")  # encoded name
    assert answer == {"id": ana.id, "query": "ws_ticket=REDACTED"}


def test_tickets_are_bound_to_their_user(client: TestClient) -> None:
    ana = account(client, "ana@example.com")
    bo = account(client, "bo@example.com")
    for user, email in ((bo, "bo@example.com"), (ana, "ana@example.com")):
        ticket = ticket_for(client, email)
        assert received(client, f"/live/me?ws_ticket={ticket}")["id"] == user.id


def test_forged_expired_and_revoked_tickets_are_refused(client: TestClient) -> None:
    ana = account(client)
    ticket = ticket_for(client)
    ident, _ = ticket.split(".")
    for forged in (f"{ident}.guessed-secret", "not-a-ticket", ""):
        assert denied(client, f"/live/me?ws_ticket={forged}")["reason"] == "invalid_ticket"
    database = client.app.container.get(Database)  # type: ignore[attr-defined]
    with database.new_session() as session:
        session.exec(
            update(AuthToken).where(AuthToken.id == ident).values(expires_at=time.time() - 1)  # type: ignore[arg-type]
        )
        session.commit()
    assert denied(client, f"/live/me?ws_ticket={ticket}")["reason"] == "invalid_ticket"
    revoked = ticket_for(client)
    backend(client).revoke_tokens(ana.id)
    assert denied(client, f"/live/me?ws_ticket={revoked}")["reason"] == "invalid_ticket"


def test_a_ticket_needs_an_authenticated_user(client: TestClient) -> None:
    answer = client.post("/auth/ws-ticket")
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "missing_token"


def test_a_ticket_is_not_accepted_by_http_routes(client: TestClient) -> None:
    account(client)
    answer = client.get(f"/auth/me?ws_ticket={ticket_for(client)}")
    assert answer.status_code == 401
    assert answer.json()["detail"]["reason"] == "missing_token"


class ServerView:
    """What an ASGI server keeps of each connection: the scope it handed the app, as it is
    once the app has answered. uvicorn writes its access log line (HTTP and websocket) from
    that scope's path and query string when the response starts or the handshake ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            self.scopes.append(scope)
        await self.app(scope, receive, send)


def test_no_live_ticket_stays_in_the_scope_a_server_logs(app: TauseStackApp) -> None:
    """Wherever a ticket is sent, read or not: guarded and open websockets, with a bearer
    header too, unknown paths, HTTP routes."""
    view = ServerView(app)
    with ServerClient(view) as client:
        app.container.get(AbstractAuthBackend).create_user("ana@example.com", PASSWORD)
        headers = bearer(client)
        tickets = [ticket_for(client) for _ in range(6)]
        view.scopes.clear()
        received(client, f"/live/me?ws_ticket={tickets[0]}")
        received(client, f"/open/feed?room=1&ws_ticket={tickets[1]}")
        received(client, f"/live/me?ws_ticket={tickets[2]}", headers=headers)
        with (
            pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)),
            client.websocket_connect(f"/nope?ws_ticket={tickets[3]}"),
        ):
            pass
        assert client.get(f"/open/page?ws_ticket={tickets[4]}").status_code == 200
        assert client.get(f"/nope?ws_ticket={tickets[5]}&x=1").status_code == 404
    assert len(view.scopes) == 6
    for scope, ticket in zip(view.scopes, tickets, strict=True):
        logged = f"{scope['path']}?{scope['query_string'].decode()}"
        assert "ws_ticket=REDACTED" in logged
        assert ticket not in logged
        assert ticket.split(".")[1] not in logged


def test_handlers_do_not_see_the_ticket(client: TestClient) -> None:
    ana = account(client)
    answer = received(client, f"/live/me?ws_ticket={ticket_for(client)}")
    assert (answer["id"], answer["parameter"]) == (ana.id, "REDACTED")
    ticket = ticket_for(client)
    answer = received(client, f"/open/feed?ws_ticket={ticket}&room=7")
    assert answer == {"query": "ws_ticket=REDACTED&room=7", "parameter": "REDACTED"}
    answer = client.get(f"/open/page?ws_ticket={ticket}").json()
    assert answer == {"query": "ws_ticket=REDACTED", "parameter": "REDACTED"}


def test_a_ticket_sent_with_a_bearer_header_is_not_used_up(client: TestClient) -> None:
    """The bearer header wins; the ticket, masked, stays valid for its own websocket."""
    ana = account(client)
    ticket = ticket_for(client)
    answer = received(client, f"/live/me?ws_ticket={ticket}", headers=bearer(client))
    assert (answer["id"], answer["query"]) == (ana.id, "ws_ticket=REDACTED")
    assert received(client, f"/live/me?ws_ticket={ticket}")["id"] == ana.id


def test_refusals_are_audited_with_the_websocket_method(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    account(client)
    ticket = ticket_for(client)
    received(client, f"/live/me?ws_ticket={ticket}")
    with caplog.at_level(logging.WARNING, logger="tausestack.audit"):
        denied(client, f"/live/me?ws_ticket={ticket}")
    [record] = [entry for entry in caplog.records if entry.name == "tausestack.audit"]
    assert record.audit["method"] == "WEBSOCKET"  # type: ignore[attr-defined]
    assert record.audit["reason"] == "invalid_ticket"  # type: ignore[attr-defined]
    assert ticket not in caplog.text


# -- the session cookie and its Origin ---------------------------------------------------------


def session_cookie(client: TestClient) -> None:
    opened = client.post(
        "/auth/session", data={"username": "ana@example.com", "password": PASSWORD}
    )
    assert opened.status_code == 204, opened.text


def test_a_session_cookie_opens_a_websocket_from_this_site(client: TestClient) -> None:
    ana = account(client)
    session_cookie(client)
    for origin in (OWN_ORIGIN, "https://app.example.com"):  # this site, a trusted origin
        answer = received(client, "/live/me", headers={"Origin": origin})
        assert answer["id"] == ana.id


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example.net"},
        {"Origin": "null"},
        {"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "cross-site"},
        {},  # browsers always send Origin with a websocket
    ],
)
def test_a_cross_site_websocket_with_the_cookie_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    account(client)
    session_cookie(client)
    assert denied(client, "/live/me", headers=headers)["reason"] == "cross_site_request"
    assert denied(client, "/live/maybe", headers=headers)["reason"] == "cross_site_request"


def test_origins_matching_the_cors_regex_may_use_the_cookie(tmp_path: Path) -> None:
    """As the CORS preflight allows them: the whole Origin must match the regex."""
    cors = {
        "allow_origins": ["https://app.example.com"],
        "allow_origin_regex": r"https://.*\.example\.com",
    }
    with TestClient(build(tmp_path, security={"cors": cors})) as client:
        ana = account(client)
        session_cookie(client)
        for origin in ("https://app.example.com", "https://shop.example.com"):
            preflight = client.options(
                "/auth/me", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
            )
            assert preflight.headers["access-control-allow-origin"] == origin
            assert received(client, "/live/me", headers={"Origin": origin})["id"] == ana.id
        for origin in ("https://shop.example.com.evil.net", "https://example.com"):
            refused = denied(client, "/live/me", headers={"Origin": origin})
            assert refused["reason"] == "cross_site_request"


def test_a_revoked_session_cookie_is_refused_where_a_user_is_required(client: TestClient) -> None:
    account(client)
    session_cookie(client)
    client.delete("/auth/session", headers={"Origin": OWN_ORIGIN})
    client.cookies.set("tausestack_session", "0" * 32 + ".stale")
    headers = {"Origin": OWN_ORIGIN}
    assert denied(client, "/live/me", headers=headers)["reason"] == "invalid_token"
    assert received(client, "/live/maybe", headers=headers) == {"id": None}


# -- servers without the denial-response extension, and startup checks ------------------------


def test_without_the_denial_extension_a_refusal_closes_with_1008(app: TauseStackApp) -> None:
    sent: list[dict[str, Any]] = []

    async def handshake() -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 5000),
            "root_path": "",
            "path": "/live/me",
            "raw_path": b"/live/me",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": [],
            "state": {},
        }
        messages = [{"type": "websocket.connect"}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "websocket.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    anyio.run(handshake)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "missing_token"}]


def test_a_websocket_dependency_that_takes_a_request_fails_at_startup(tmp_path: Path) -> None:
    def tenant(request: Request) -> str:
        return request.headers.get("x-tenant", "")

    @Controller("/t")
    class Tenanted:
        @websocket("/ws", dependencies=[Depends(tenant)])
        async def feed(self, socket: WebSocket) -> None: ...

    with pytest.raises(RouteError) as error:
        create_app(Settings(config_dir=tmp_path), components=[Tenanted])
    message = str(error.value)
    assert "tenant" in message
    assert "HTTPConnection" in message
    assert "/t/ws" in message

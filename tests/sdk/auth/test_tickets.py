"""Websocket tickets are taken out of every URL by the outermost middleware, in apps whose auth
backend issues them (tests/web/test_websocket_auth.py and tests/e2e/test_websocket_auth.py show
it over TestClient and uvicorn's access log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import Request

from tausestack import Controller, Settings, create_app, get
from tausestack.sdk.auth import AbstractAuthBackend, User
from tausestack.sdk.auth._tickets import TICKET_KEY, take_ticket
from tausestack.testing import TestClient


@pytest.mark.parametrize(
    ("query", "kept", "ticket"),
    [
        (b"ws_ticket=abc.def&room=7", b"ws_ticket=REDACTED&room=7", "abc.def"),
        (b"room=7&ws%5Fticket=abc.def", b"room=7&ws_ticket=REDACTED", "abc.def"),
        (b"ws_ticket=one&ws_ticket=two", b"ws_ticket=REDACTED&ws_ticket=REDACTED", "two"),
        (b"ws_ticket=a%2Bb+c", b"ws_ticket=REDACTED", "a+b c"),
        (b"ws_ticket", b"ws_ticket=REDACTED", ""),
    ],
    ids=["plain", "encoded name", "several", "encoded value", "no value"],
)
def test_the_ticket_moves_to_a_private_scope_key(query: bytes, kept: bytes, ticket: str) -> None:
    scope: dict[str, Any] = {"type": "websocket", "query_string": query}
    take_ticket(scope)
    assert (scope["query_string"], scope[TICKET_KEY]) == (kept, ticket)


@pytest.mark.parametrize("query", [b"", b"room=7", b"my_ws_ticket=1&a=%20", b"ws_tickets=1"])
def test_a_query_without_a_ticket_is_left_alone(query: bytes) -> None:
    scope: dict[str, Any] = {"type": "http", "query_string": query}
    take_ticket(scope)
    assert scope == {"type": "http", "query_string": query}


class TicketBackend(AbstractAuthBackend):
    """A backend of this module that issues tickets (only that)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return "the ticket test backend"

    def verify_token(self, token: str) -> User:
        raise NotImplementedError

    def get_user(self, user_id: str) -> User | None:
        return None

    def issue_ticket(self, user_id: str) -> str:
        return "ticket"


@Controller("/echo")
class Echo:
    @get("/")
    async def echo(self, request: Request) -> dict[str, str]:
        return {"query": request.url.query}


@pytest.mark.parametrize(
    ("backend", "masked"),
    [
        ({"backend": "jwt", "jwt": {"secret": "s" * 32}}, True),
        ({"backend": f"{__name__}:TicketBackend"}, True),
        ({"backend": "oidc", "oidc": {"issuer": "https://id.example", "audience": "api"}}, False),
    ],
    ids=["jwt", "a backend that issues tickets", "oidc issues none"],
)
def test_apps_whose_backend_issues_tickets_mask_them(
    tmp_path: Path, backend: dict[str, Any], masked: bool
) -> None:
    app = create_app(Settings(config_dir=tmp_path, auth=backend), components=[Echo])
    with TestClient(app) as client:
        query = client.get("/echo/?ws_ticket=abc.def").json()["query"]
    assert query == ("ws_ticket=REDACTED" if masked else "ws_ticket=abc.def")

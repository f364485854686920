"""Websocket tickets never stay in a request's URL, where servers log them.

A ticket (``?ws_ticket=``, from ``POST /auth/ws-ticket``) opens one websocket within 30 s.
Servers log the URL of every request and handshake: uvicorn writes its access log line from the
ASGI scope's path and query string once the app has answered (the response starts, the
handshake is accepted or refused). :class:`TicketRedactionMiddleware`, the outermost layer of
an app whose auth backend issues tickets, moves the ticket out of the query string of every
HTTP and websocket scope, before anything else sees the request, into a private scope key, and
leaves ``ws_ticket=REDACTED`` in its place: the log, the other middleware and the handlers see
no live ticket, whether or not the route reads one, and the auth dependency reads it from the
private key.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["TICKET_KEY", "TICKET_PARAMETER", "TicketRedactionMiddleware", "take_ticket"]

#: The query parameter of a websocket handshake that carries a ticket.
TICKET_PARAMETER = "ws_ticket"
#: The scope key that holds the ticket taken out of the query string.
TICKET_KEY = "tausestack.ws_ticket"
_NAME = TICKET_PARAMETER.encode()
_REDACTED = _NAME + b"=REDACTED"


class TicketRedactionMiddleware:
    """Move any ``ws_ticket`` out of the query string of HTTP and websocket scopes (see the
    module docstring). A request without one costs a substring search."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            query: bytes = scope["query_string"]
            if _NAME in query or b"%" in query:  # the name may come percent-encoded
                take_ticket(scope)
        await self.app(scope, receive, send)


def take_ticket(scope: Scope) -> None:
    """Put the ticket of ``scope``'s query string in ``scope[TICKET_KEY]`` (the last one when
    there are several, as Starlette's ``query_params`` reads it) and ``REDACTED`` in its
    place; the scope is left alone when it has none."""
    parts = scope.get("query_string", b"").split(b"&")
    ticket: str | None = None
    for index, part in enumerate(parts):
        name, _, value = part.partition(b"=")
        if unquote_plus(name.decode("latin-1")) == TICKET_PARAMETER:
            ticket = unquote_plus(value.decode("latin-1"))
            parts[index] = _REDACTED
    if ticket is not None:
        scope[TICKET_KEY] = ticket
        scope["query_string"] = b"&".join(parts)

"""A 413 for request bodies larger than a limit, checked before and while they are read.

A ``Content-Length`` over the limit is refused before the application runs. A body sent
without one (chunked) is counted as the application reads it; the read that passes the limit
raises a 413 ``HTTPException`` inside the application, which its exception handler answers.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._responses import send_error


class BodyTooLargeError(HTTPException):
    """Raised into the application when a streamed body passes the limit: an HTTPException,
    so FastAPI lets it through body parsing and the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuses HTTP request bodies over ``max_body_size`` bytes with 413."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body_size:
                    await self._refuse(send)
                    return
                # The server delivers no more than the declared length: nothing to count.
                await self.app(scope, receive, send)
                return
            if name == b"transfer-encoding":
                chunked = True
        if not chunked and scope.get("http_version") in {"1.0", "1.1"}:
            # HTTP/1 without Content-Length or chunked encoding: the body is empty.
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_size:
                    raise BodyTooLargeError(self.max_body_size)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        detail = f"Request body larger than {self.max_body_size} bytes."
        await send_error(send, 413, detail, [(b"connection", b"close")])

"""Security headers on every HTTP response, including the 500s Starlette sends for errors.

The headers are computed once. A header the application already set (a route's own
``Content-Security-Policy``, say) is kept. HSTS is sent only over HTTPS (``scope["scheme"]``;
behind a proxy, run uvicorn with ``--proxy-headers``), since browsers ignore it over HTTP. The
interactive docs (``app.docs_url``, ``app.redoc_url``) load their scripts from a CDN and get a
CSP that allows it.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]

#: What Swagger UI and ReDoc, as FastAPI serves them, need: their CDN and inline scripts.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """Adds ``headers`` to every HTTP response that does not set them itself.

    Args:
        app: the application to wrap.
        headers: name and value pairs for every response.
        https_headers: added only to responses over HTTPS (HSTS).
        docs_paths: paths that get ``docs_policy`` as their CSP instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        headers: Iterable[tuple[str, str]],
        https_headers: Iterable[tuple[str, str]] = (),
        docs_paths: Iterable[str] = (),
        docs_policy: str = DOCS_POLICY,
    ) -> None:
        self.app = app
        self.headers: Headers = [(k.lower().encode(), v.encode()) for k, v in headers]
        self.https_headers: Headers = self.headers + [
            (k.lower().encode(), v.encode()) for k, v in https_headers
        ]
        self.docs_paths = frozenset(path for path in docs_paths if path)
        docs_headers = [
            (name, docs_policy.encode() if name == b"content-security-policy" else value)
            for name, value in self.headers
        ]
        self.docs_headers = docs_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # the docs of an app served under a prefix
            path = path[len(root) :]
        if path in self.docs_paths:
            extra = self.docs_headers
        elif scope.get("scheme") == "https":
            extra = self.https_headers
        else:
            extra = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # ASGI header names are lowercase, as ours are.
                present = {name for name, _ in headers}
                headers += [header for header in extra if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

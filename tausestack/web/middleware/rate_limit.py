"""Rate limiting by client IP, user or route, with the ``limits`` library.

``limits`` rather than a counter of our own: it implements fixed, moving and sliding windows
on memory, Redis and other storages, atomically on Redis, so a limit holds across every worker
and machine that shares the Redis server. On ``memory://`` a limit holds per process only.

Requests over the limit get a 429 with ``Retry-After``; every limited response carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from limits import RateLimitItem, parse
from limits.aio import storage as storages
from limits.aio import strategies
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._responses import send_error
from .settings import RateLimitSettings

STRATEGIES: dict[str, Any] = {
    "fixed-window": strategies.FixedWindowRateLimiter,
    "moving-window": strategies.MovingWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}


def build_storage(url: str) -> storages.Storage:
    """A ``limits`` async storage for ``memory://`` or ``redis://`` / ``rediss://`` URLs (the
    settings have checked the scheme)."""
    if url == "memory://":
        return storages.MemoryStorage()
    return storages.RedisStorage(f"async+{url}", implementation="redispy", key_prefix="tausestack")


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it, by whole segments: ``/docs`` holds
    ``/docs`` and ``/docs/oauth2-redirect``, not ``/docsearch``."""
    stem = prefix.rstrip("/")
    return path == stem or path.startswith(f"{stem}/")


class RateLimitMiddleware:
    """Counts requests per key (client IP, user, route) and refuses those over the limit."""

    def __init__(self, app: ASGIApp, settings: RateLimitSettings) -> None:
        self.app = app
        self.key = settings.key
        self.default = parse(settings.default) if settings.default else None
        self.paths: list[tuple[str, RateLimitItem]] = sorted(
            ((prefix, parse(limit)) for prefix, limit in settings.paths.items()),
            key=lambda pair: -len(pair[0]),
        )
        self.exempt: tuple[str, ...] = tuple(settings.exempt_paths)
        self.limiter = STRATEGIES[settings.strategy](build_storage(settings.storage))

    def _limit(self, path: str) -> tuple[str, RateLimitItem] | None:
        for prefix, limit in self.paths:
            if under(path, prefix):
                return prefix, limit
        return ("*", self.default) if self.default is not None else None

    def _identity(self, scope: Scope) -> str:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self.key == "ip":
            return address
        if self.key == "user":
            user = scope.get("user") or scope.get("state", {}).get("user")
            user_id = getattr(user, "id", None)
            return f"user:{user_id}" if user_id is not None else address
        return "route"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(under(scope["path"], path) for path in self.exempt):
            await self.app(scope, receive, send)
            return
        chosen = self._limit(scope["path"])
        if chosen is None:
            await self.app(scope, receive, send)
            return
        prefix, limit = chosen
        identifiers: Iterable[str] = (prefix, self._identity(scope))
        if self.key == "route":
            identifiers = (prefix, scope["method"], scope["path"])
        allowed = await self.limiter.hit(limit, *identifiers)
        reset, remaining = await self.limiter.get_window_stats(limit, *identifiers)
        headers = [
            (b"x-ratelimit-limit", str(limit.amount).encode()),
            (b"x-ratelimit-remaining", str(max(remaining, 0)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(reset)).encode()),
        ]
        if not allowed:
            await self._refuse(send, headers, max(1, math.ceil(reset - time.time())))
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send: Send, headers: list[tuple[bytes, bytes]], retry: int) -> None:
        detail = f"Too many requests; retry in {retry} s."
        await send_error(send, 429, detail, [(b"retry-after", str(retry).encode()), *headers])

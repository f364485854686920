"""Rate limiting by client IP, user or route, with the ``limits`` library.

``limits`` rather than a counter of our own: it implements fixed, moving and sliding windows
on memory, Redis and other storages, atomically on Redis, so a limit holds across every worker
and machine that shares the Redis server. On ``memory://`` a limit holds per process only.

Requests over the limit get a 429 with ``Retry-After``; every counted response carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``.

Redis is reached through a *blocking* pool of ``pool_size`` connections: a burst waits for a
free connection (up to ``pool_timeout``) instead of failing, as redis-py's default pool does past
100 connections. When the storage fails all the same (Redis down, a timeout, no free
connection), ``on_storage_error`` decides: ``open`` serves the request uncounted and logs a
warning at most once a minute; ``closed`` answers 503 with ``Retry-After``. Never a 500.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from limits import RateLimitItem, parse
from limits.aio import storage as storages
from limits.aio import strategies
from limits.errors import StorageError
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..._redaction import mask_url_secrets
from ...errors import SettingsError
from ._responses import send_error
from .settings import RateLimitSettings

__all__ = [
    "STRATEGIES",
    "RateLimitMiddleware",
    "RateLimiter",
    "Verdict",
    "build_storage",
    "under",
]

logger = logging.getLogger("tausestack.rate_limit")

STRATEGIES: dict[str, Any] = {
    "fixed-window": strategies.FixedWindowRateLimiter,
    "moving-window": strategies.MovingWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}

#: Seconds a client refused because the storage failed (``on_storage_error: closed``) is told
#: to wait.
STORAGE_RETRY_AFTER = 5

#: Who a request is counted as, when ``key`` is ``user``: a user (with an ``id``) or None.
Identify = Callable[[Scope], Awaitable[Any]]


def build_storage(url: str, *, pool_size: int = 50, pool_timeout: float = 2.0) -> storages.Storage:
    """A ``limits`` async storage for ``memory://`` or ``redis://`` / ``rediss://`` URLs (the
    settings have checked the scheme).

    Redis is reached through a blocking pool of ``pool_size`` connections: a command waits up to
    ``pool_timeout`` seconds for a free one, and as long for Redis to connect and answer. Its
    errors come out as ``limits.errors.StorageError`` or ``redis.RedisError``. Each event loop
    that uses the storage gets a pool of its own (redis-py's connections belong to one loop).
    """
    if url == "memory://":
        return storages.MemoryStorage()
    try:
        from redis.asyncio import BlockingConnectionPool
    except ImportError:
        raise SettingsError(
            f"security.rate_limit.storage {mask_url_secrets(url)} needs redis-py: "
            "pip install 'tausestack[redis]'"
        ) from None
    from ...sdk._redis import reconnecting
    from ._redis_storage import PerLoopRedisStorage

    def new_pool() -> BlockingConnectionPool:
        return BlockingConnectionPool.from_url(
            url,
            max_connections=pool_size,
            timeout=pool_timeout,
            socket_timeout=pool_timeout,
            socket_connect_timeout=pool_timeout,
            **reconnecting(asynchronous=True),
        )

    return PerLoopRedisStorage(url, new_pool, key_prefix="tausestack")


@dataclass(frozen=True)
class Verdict:
    """What a :class:`RateLimiter` says of one request.

    Attributes:
        allowed: whether to serve it.
        remaining: hits left in the window; None when the storage failed.
        reset: when the window resets (epoch seconds); None when the storage failed.
        retry_after: seconds a refused client should wait.
        storage_failed: the storage failed, and ``allowed`` is the failure policy's answer.
    """

    allowed: bool
    remaining: int | None
    reset: float | None
    retry_after: int
    storage_failed: bool = False


class RateLimiter:
    """A ``limits`` strategy on a storage whose failures follow a policy, never raising.

    ``storage_errors`` counts the failures (for metrics). A failure is logged as a warning at
    most once every ``warning_interval`` seconds, naming the storage with its password masked.

    Example::

        limiter = RateLimiter.from_settings(settings.security.rate_limit)
        verdict = await limiter.hit(parse("5/minute"), "login", client_address)
        if not verdict.allowed:
            status = 503 if verdict.storage_failed else 429
    """

    warning_interval = 60.0

    def __init__(
        self,
        storage: storages.Storage,
        *,
        strategy: str = "sliding-window-counter",
        on_storage_error: Literal["open", "closed"] = "open",
        name: str = "memory://",
    ) -> None:
        self.storage = storage
        self.strategy = STRATEGIES[strategy](storage)
        self.on_storage_error = on_storage_error
        self.name = mask_url_secrets(name)
        self.storage_errors = 0
        self._warned_at: float | None = None
        failures: tuple[type[Exception], ...] = (StorageError,)
        base = storage.base_exceptions
        self._failures = failures + (base if isinstance(base, tuple) else (base,))

    @classmethod
    def from_settings(cls, settings: RateLimitSettings) -> RateLimiter:
        """The limiter of ``security.rate_limit``: its storage, pool, strategy and policy."""
        storage = build_storage(
            settings.storage, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout
        )
        return cls(
            storage,
            strategy=settings.strategy,
            on_storage_error=settings.on_storage_error,
            name=settings.storage,
        )

    async def hit(self, limit: RateLimitItem, *identifiers: str, cost: int = 1) -> Verdict:
        """Count ``cost`` hits of ``identifiers`` against ``limit``; allowed if within it."""
        try:
            allowed = await self.strategy.hit(limit, *identifiers, cost=cost)
            return await self._verdict(allowed, limit, identifiers)
        except self._failures as exc:
            return self._failed(exc)

    async def test(self, limit: RateLimitItem, *identifiers: str, cost: int = 1) -> Verdict:
        """Whether ``cost`` more hits would be within ``limit``, counting nothing."""
        try:
            allowed = await self.strategy.test(limit, *identifiers, cost=cost)
            return await self._verdict(allowed, limit, identifiers)
        except self._failures as exc:
            return self._failed(exc)

    async def aclose(self) -> None:
        """Close the storage's connections (a later hit opens new ones)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.connection_pool.disconnect()

    async def _verdict(
        self, allowed: bool, limit: RateLimitItem, identifiers: tuple[str, ...]
    ) -> Verdict:
        reset, remaining = await self.strategy.get_window_stats(limit, *identifiers)
        retry_after = max(1, math.ceil(reset - time.time()))
        return Verdict(allowed, max(remaining, 0), reset, retry_after)

    def _failed(self, error: Exception) -> Verdict:
        self.storage_errors += 1
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= self.warning_interval:
            self._warned_at = now
            outcome = (
                "serving requests without counting them"
                if self.on_storage_error == "open"
                else "refusing requests with 503"
            )
            logger.warning(
                "The rate-limit storage %s failed (%s: %s); %s (security.rate_limit."
                "on_storage_error: %s). %d failure(s) so far; this warning repeats at most "
                "every %d s.",
                self.name,
                type(error).__name__,
                mask_url_secrets(str(error)),
                outcome,
                self.on_storage_error,
                self.storage_errors,
                self.warning_interval,
            )
        allowed = self.on_storage_error == "open"
        return Verdict(allowed, None, None, STORAGE_RETRY_AFTER, storage_failed=True)


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it, by whole segments: ``/docs`` holds
    ``/docs`` and ``/docs/oauth2-redirect``, not ``/docsearch``."""
    stem = prefix.rstrip("/")
    return path == stem or path.startswith(f"{stem}/")


class RateLimitMiddleware:
    """Counts requests per key (client IP, user, route) and refuses those over the limit.

    With ``key: user``, ``identify`` names the request's user (by default the app's auth
    backend verifies the bearer token or session cookie, once for the whole request); a
    request without one is counted per address.
    """

    def __init__(
        self, app: ASGIApp, settings: RateLimitSettings, identify: Identify | None = None
    ) -> None:
        self.app = app
        self.key = settings.key
        self.default = parse(settings.default) if settings.default else None
        self.paths: list[tuple[str, RateLimitItem]] = sorted(
            ((prefix, parse(limit)) for prefix, limit in settings.paths.items()),
            key=lambda pair: -len(pair[0]),
        )
        self.exempt: tuple[str, ...] = tuple(settings.exempt_paths)
        self.limiter = RateLimiter.from_settings(settings)
        if identify is None and self.key == "user":
            from ...sdk.auth._integration import identify
        self.identify = identify

    def _limit(self, path: str) -> tuple[str, RateLimitItem] | None:
        for prefix, limit in self.paths:
            if under(path, prefix):
                return prefix, limit
        return ("*", self.default) if self.default is not None else None

    async def _identity(self, scope: Scope) -> str:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self.key == "ip":
            return address
        user = scope.get("user") or scope.get("state", {}).get("user")
        if getattr(user, "id", None) is None and self.identify is not None:
            user = await self.identify(scope)
        user_id = getattr(user, "id", None)
        return f"user:{user_id}" if user_id is not None else address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_at_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)  # without the root path, as routing matches it
        if any(under(path, exempt) for exempt in self.exempt):
            await self.app(scope, receive, send)
            return
        chosen = self._limit(path)
        if chosen is None:
            await self.app(scope, receive, send)
            return
        prefix, limit = chosen
        if self.key == "route":
            verdict = await self.limiter.hit(limit, prefix, scope["method"], path)
        else:
            verdict = await self.limiter.hit(limit, prefix, await self._identity(scope))
        headers = _headers(limit, verdict)
        if verdict.storage_failed and not verdict.allowed:
            detail = f"The rate limit cannot be checked now; retry in {verdict.retry_after} s."
            retry = [(b"retry-after", str(verdict.retry_after).encode())]
            await send_error(send, 503, detail, retry)
            return
        if not verdict.allowed:
            detail = f"Too many requests; retry in {verdict.retry_after} s."
            retry = [(b"retry-after", str(verdict.retry_after).encode())]
            await send_error(send, 429, detail, [*retry, *headers])
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers if headers else send)

    def _closing_at_shutdown(self, send: Send) -> Send:
        async def send_after_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.limiter.aclose()
            await send(message)

        return send_after_closing


def _headers(limit: RateLimitItem, verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The ``X-RateLimit-*`` headers of a counted request; none when the storage failed."""
    if verdict.remaining is None or verdict.reset is None:
        return []
    return [
        (b"x-ratelimit-limit", str(limit.amount).encode()),
        (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
        (b"x-ratelimit-reset", str(math.ceil(verdict.reset)).encode()),
    ]

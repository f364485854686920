"""Failed password attempts, counted per account and per client address (``auth.login_throttle``).

The counts are ``limits`` windows on ``security.rate_limit.storage``, built as the rate-limit
middleware builds its own, so with Redis they hold across every worker and machine (whether or
not ``security.rate_limit`` is enabled). Only failures are counted; a success clears its
account's count but not its address's, so an attacker cannot reset the address count with an
account of their own. A storage that fails (Redis down or hung) fails open: the attempt goes on
to the password check and a warning is logged, at most once a minute. After a failure the
storage is left alone for ``BREAK_SECONDS`` (a circuit breaker), and the rest of that attempt
skips it, so a hung Redis costs a login one storage timeout at most, not one per call.

The storage's connections are opened on first use and closed by :meth:`LoginThrottle.aclose`
(at application shutdown); the next use opens new ones, on the event loop then running.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import RateLimiter
from limits.errors import StorageError

from ..._redaction import mask_url_secrets
from ...sdk.auth.errors import AuthConfigurationError
from ...sdk.settings import LoginThrottleSettings
from ...web.middleware.rate_limit import STRATEGIES, build_storage
from ...web.middleware.settings import RateLimitSettings

__all__ = ["Attempt", "LoginThrottle"]

logger = logging.getLogger("tausestack.auth")

T = TypeVar("T")

#: Seconds between two warnings about a failing storage.
WARNING_INTERVAL = 60.0

#: Seconds the storage is left alone after it failed (attempts are then not limited).
BREAK_SECONDS = 5.0


class LoginThrottle:
    """Counts failed password attempts and says when an account or an address must wait.

    Args:
        settings: ``auth.login_throttle``.
        rate_limit: ``security.rate_limit``: its ``storage`` (``memory://`` or a Redis URL),
            ``pool_size`` and ``pool_timeout`` (whether or not it is enabled).
    """

    def __init__(self, settings: LoginThrottleSettings, rate_limit: RateLimitSettings) -> None:
        storage_url = rate_limit.storage
        self._storage_url = storage_url
        self._rate_limit = rate_limit
        self._strategy = settings.strategy
        self._storage: Storage | None = None
        self._limiter: RateLimiter | None = None
        self._errors: tuple[type[Exception], ...] = (StorageError, OSError)
        self._warned_at = -math.inf
        self._broken_until = -math.inf
        #: Storage calls that failed, each after up to ``pool_timeout`` (for metrics and tests).
        self.storage_failures = 0
        self.enabled = settings.enabled
        self.per_account = _limit(settings.per_account, "per_account") if self.enabled else None
        self.per_address = _limit(settings.per_address, "per_address") if self.enabled else None
        if not (self.per_account or self.per_address):
            self.enabled = False
            return
        scheme = storage_url.partition("://")[0]
        if storage_url != "memory://" and scheme not in {"redis", "rediss"}:
            raise AuthConfigurationError(
                "auth.login_throttle counts on security.rate_limit.storage, which must be "
                "memory:// or redis://host:port/db."
            )
        self._strategy_on_storage()  # a missing redis extra stops the app now

    def attempt(self, email: str, address: str) -> Attempt:
        """The throttle's calls for one password check of ``email`` from ``address``."""
        return Attempt(self, email, address)

    async def aclose(self) -> None:
        """Close the storage's connections; the next attempt opens new ones."""
        storage, self._storage, self._limiter = self._storage, None, None
        client = getattr(getattr(storage, "bridge", None), "storage", None)
        if client is not None:
            await client.connection_pool.disconnect()

    def _strategy_on_storage(self) -> RateLimiter:
        if self._limiter is None:
            rate_limit = self._rate_limit
            storage = build_storage(
                self._storage_url,
                pool_size=rate_limit.pool_size,
                pool_timeout=rate_limit.pool_timeout,
            )
            base = storage.base_exceptions
            self._errors = (StorageError, OSError, *(base if isinstance(base, tuple) else (base,)))
            self._storage = storage
            self._limiter = STRATEGIES[self._strategy](storage)
        return self._limiter

    async def _retry_after(self, email: str, address: str) -> int | None:
        limiter = self._strategy_on_storage()
        waits = []
        for limit, identifiers in self._counters(email, address):
            if not await limiter.test(limit, *identifiers):
                reset, _ = await limiter.get_window_stats(limit, *identifiers)
                waits.append(max(1, math.ceil(float(reset) - time.time())))
        return max(waits, default=None)

    async def _failed(self, email: str, address: str) -> None:
        limiter = self._strategy_on_storage()
        for limit, identifiers in self._counters(email, address):
            await limiter.hit(limit, *identifiers)

    async def _succeeded(self, email: str) -> None:
        if self.per_account is not None:
            await self._strategy_on_storage().clear(self.per_account, *_account(email))

    def _counters(self, email: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        counters = []
        if self.per_account is not None:
            counters.append((self.per_account, _account(email)))
        if self.per_address is not None:
            counters.append((self.per_address, ("login-failures", "address", address)))
        return counters

    async def _guarded(self, call: Callable[[], Awaitable[T]], fallback: T) -> tuple[T, bool]:
        """``call()``'s result and True; ``fallback`` and False when the storage failed (now
        or less than ``BREAK_SECONDS`` ago)."""
        if time.monotonic() < self._broken_until:
            return fallback, False
        try:
            return await call(), True
        except self._errors as exc:
            self.storage_failures += 1
            now = time.monotonic()
            self._broken_until = now + BREAK_SECONDS
            if now - self._warned_at >= WARNING_INTERVAL:
                self._warned_at = now
                logger.warning(
                    "auth.login_throttle: the rate-limit storage failed (%s); failed password "
                    "attempts are not limited until it answers again.",
                    type(exc).__name__,
                )
            return fallback, False


class Attempt:
    """One password check's calls to the throttle; once the storage failed, the rest skip it.

    Args:
        throttle: the :class:`LoginThrottle`.
        email: the email address the check is for.
        address: the client's address.
    """

    def __init__(self, throttle: LoginThrottle, email: str, address: str) -> None:
        self.throttle = throttle
        self.email = email
        self.address = address
        self._skip = not throttle.enabled

    async def retry_after(self) -> int | None:
        """Seconds before the account or the address may try again (the longest wait of the
        limits they are over); None when they may now."""
        return await self._call(lambda: self.throttle._retry_after(self.email, self.address), None)

    async def failed(self) -> None:
        """Count one failed attempt against the account and the address."""
        await self._call(lambda: self.throttle._failed(self.email, self.address), None)

    async def succeeded(self) -> None:
        """Clear the account's failures (not the address's)."""
        await self._call(lambda: self.throttle._succeeded(self.email), None)

    async def _call(self, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        if self._skip:
            return fallback
        result, answered = await self.throttle._guarded(call, fallback)
        self._skip = not answered
        return result


def _limit(value: str | None, name: str) -> RateLimitItem | None:
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise AuthConfigurationError(
            mask_url_secrets(
                f"auth.login_throttle.{name}: {value!r} is not a rate limit; write it as "
                "'10/15 minutes', '5/minute' or '100 per hour'."
            )
        ) from None


def _account(email: str) -> tuple[str, ...]:
    # A digest: the storage's keys hold no email address, and have one length.
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return ("login-failures", "account", digest[:32])

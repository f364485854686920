"""Failed password attempts, counted per account and per client address (``auth.login_throttle``).

The counts are ``limits`` windows on ``security.rate_limit.storage``, built as the rate-limit
middleware builds its own, so with Redis they hold across every worker and machine (whether or
not ``security.rate_limit`` is enabled). Only failures are counted; a success clears its
account's count but not its address's, so an attacker cannot reset the address count with an
account of their own. A storage that fails (Redis down) fails open: the attempt goes on to the
password check and a warning is logged, at most once a minute.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.errors import StorageError

from ..._redaction import mask_url_secrets
from ...sdk.auth.errors import AuthConfigurationError
from ...sdk.settings import LoginThrottleSettings
from ...web.middleware.rate_limit import STRATEGIES, build_storage
from ...web.middleware.settings import RateLimitSettings

__all__ = ["LoginThrottle"]

logger = logging.getLogger("tausestack.auth")

T = TypeVar("T")

#: Seconds between two warnings about a failing storage.
WARNING_INTERVAL = 60.0


class LoginThrottle:
    """Counts failed password attempts and says when an account or an address must wait.

    Args:
        settings: ``auth.login_throttle``.
        rate_limit: ``security.rate_limit``: its ``storage`` (``memory://`` or a Redis URL),
            ``pool_size`` and ``pool_timeout`` (whether or not it is enabled).
    """

    def __init__(self, settings: LoginThrottleSettings, rate_limit: RateLimitSettings) -> None:
        storage_url = rate_limit.storage
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
        storage = build_storage(
            storage_url, pool_size=rate_limit.pool_size, pool_timeout=rate_limit.pool_timeout
        )
        base = storage.base_exceptions
        self._errors: tuple[type[Exception], ...] = (
            StorageError,
            OSError,
            *(base if isinstance(base, tuple) else (base,)),
        )
        self.limiter = STRATEGIES[settings.strategy](storage)
        self._warned_at = -math.inf

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds before ``email`` or ``address`` may try again; None when they may now."""
        if not self.enabled:
            return None
        return await self._guarded(self._retry_after(email, address), None)

    async def failed(self, email: str, address: str) -> None:
        """Count one failed attempt against the account and the address."""
        if self.enabled:
            await self._guarded(self._failed(email, address), None)

    async def succeeded(self, email: str) -> None:
        """Clear the account's failures (not the address's)."""
        if self.enabled and self.per_account is not None:
            await self._guarded(self.limiter.clear(self.per_account, *_account(email)), None)

    async def _retry_after(self, email: str, address: str) -> int | None:
        for limit, identifiers in self._counters(email, address):
            if not await self.limiter.test(limit, *identifiers):
                reset, _ = await self.limiter.get_window_stats(limit, *identifiers)
                return max(1, math.ceil(float(reset) - time.time()))
        return None

    async def _failed(self, email: str, address: str) -> None:
        for limit, identifiers in self._counters(email, address):
            await self.limiter.hit(limit, *identifiers)

    def _counters(self, email: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        counters = []
        if self.per_account is not None:
            counters.append((self.per_account, _account(email)))
        if self.per_address is not None:
            counters.append((self.per_address, ("login-failures", "address", address)))
        return counters

    async def _guarded(self, call: Awaitable[T], fallback: T) -> T:
        try:
            return await call
        except self._errors as exc:
            now = time.monotonic()
            if now - self._warned_at >= WARNING_INTERVAL:
                self._warned_at = now
                logger.warning(
                    "auth.login_throttle: the rate-limit storage failed (%s); failed password "
                    "attempts are not limited until it answers again.",
                    type(exc).__name__,
                )
            return fallback


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

"""Pure ASGI middleware that ``create_app()`` adds from the ``security:`` settings.

- :class:`SecurityHeadersMiddleware` — security headers on every response, errors included.
- :class:`BodySizeLimitMiddleware` — a 413 for request bodies over ``security.max_body_size``.
- :class:`RateLimitMiddleware` — a 429 past ``security.rate_limit`` (``limits``; memory or Redis).
- :class:`RateLimiter` — the counting behind it, for code that limits something else (a
  :class:`Verdict` per hit; storage failures follow ``on_storage_error``).

CORS uses Starlette's ``CORSMiddleware``, configured from ``security.cors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_names

if TYPE_CHECKING:
    from .body_limit import BodySizeLimitMiddleware
    from .rate_limit import RateLimiter, RateLimitMiddleware, Verdict
    from .security_headers import SecurityHeadersMiddleware

__all__ = [
    "BodySizeLimitMiddleware",
    "RateLimitMiddleware",
    "RateLimiter",
    "SecurityHeadersMiddleware",
    "Verdict",
]


# Imported on first use: the settings import ``middleware.settings`` without Starlette, and
# ``limits`` takes ~80 ms to import, so only apps with rate limits turned on pay for it.
if not TYPE_CHECKING:  # type checkers read the imports above
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            ".body_limit": ("BodySizeLimitMiddleware",),
            ".rate_limit": ("RateLimitMiddleware", "RateLimiter", "Verdict"),
            ".security_headers": ("SecurityHeadersMiddleware",),
        },
    )

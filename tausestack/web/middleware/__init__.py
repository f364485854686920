"""Pure ASGI middleware that ``create_app()`` adds from the ``security:`` settings.

- :class:`SecurityHeadersMiddleware` — security headers on every response, errors included.
- :class:`BodySizeLimitMiddleware` — a 413 for request bodies over ``security.max_body_size``.
- :class:`RateLimitMiddleware` — a 429 past ``security.rate_limit`` (``limits``; memory or Redis).

CORS uses Starlette's ``CORSMiddleware``, configured from ``security.cors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .body_limit import BodySizeLimitMiddleware
from .security_headers import SecurityHeadersMiddleware

if TYPE_CHECKING:
    from .rate_limit import RateLimitMiddleware

__all__ = ["BodySizeLimitMiddleware", "RateLimitMiddleware", "SecurityHeadersMiddleware"]


def __getattr__(name: str) -> object:
    # ``limits`` takes ~80 ms to import: only apps with rate limits turned on pay for it.
    if name == "RateLimitMiddleware":
        from .rate_limit import RateLimitMiddleware

        return RateLimitMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

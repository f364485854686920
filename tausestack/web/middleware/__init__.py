"""Pure ASGI middleware that ``create_app()`` adds from the ``security:`` settings.

- :class:`SecurityHeadersMiddleware` — security headers on every response, errors included.
- :class:`BodySizeLimitMiddleware` — a 413 for request bodies over ``security.max_body_size``.
- :class:`RateLimitMiddleware` — a 429 past ``security.rate_limit`` (``limits``; memory or Redis).

CORS uses Starlette's ``CORSMiddleware``, configured from ``security.cors``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .body_limit import BodySizeLimitMiddleware
    from .rate_limit import RateLimitMiddleware
    from .security_headers import SecurityHeadersMiddleware

__all__ = ["BodySizeLimitMiddleware", "RateLimitMiddleware", "SecurityHeadersMiddleware"]


#: Imported on first use: the settings import ``middleware.settings`` without Starlette, and
#: ``limits`` takes ~80 ms to import, so only apps with rate limits turned on pay for it.
_MODULES = {
    "BodySizeLimitMiddleware": ".body_limit",
    "RateLimitMiddleware": ".rate_limit",
    "SecurityHeadersMiddleware": ".security_headers",
}


def __getattr__(name: str) -> object:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name], __name__), name)

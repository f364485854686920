"""Pure ASGI middleware that ``create_app()`` adds from the ``security:`` settings.

- :class:`SecurityHeadersMiddleware` — security headers on every response, errors included.
- :class:`BodySizeLimitMiddleware` — a 413 for request bodies over ``security.max_body_size``.

CORS uses Starlette's ``CORSMiddleware``, configured from ``security.cors``.
"""

from __future__ import annotations

from .body_limit import BodySizeLimitMiddleware
from .security_headers import SecurityHeadersMiddleware

__all__ = ["BodySizeLimitMiddleware", "SecurityHeadersMiddleware"]

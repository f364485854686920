"""The cache's providers, added to an app's container when something in it asks for them.

``create_app()`` registers them when a component or route needs ``Cache`` or
``AbstractCacheBackend``, or when a module of an installed app uses ``tausestack.sdk.cache``
(``@cached``, the module functions). ``Cache`` is a singleton whose hooks reach the backend at
startup (a Redis that is down fails there, naming its URL) and close its connections at
shutdown.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ...settings import Settings
from ._backends import build_backend
from ._cache import Cache
from .base import AbstractCacheBackend
from .errors import InvalidCacheKeyError

APP = "tausestack.sdk.cache"


def cache_backend(settings: Settings) -> AbstractCacheBackend:
    """The backend ``cache.backend`` names: ``memory``, ``disk``, ``redis`` or a dotted path."""
    return build_backend(settings)


async def invalid_key(request: Request, exc: Exception) -> JSONResponse:
    """A key that breaks the rules is the client's error when a request's data made it (as a
    storage key is): a 400 that names the problem, not the backend. A ``@cached`` definition
    that cannot key its arguments stays the server's error."""
    problem = getattr(exc, "problem", None)
    if problem is None:
        raise exc
    return JSONResponse({"detail": f"Invalid cache key: {problem}."}, status_code=400)


def exception_handlers() -> dict[type[Exception], Any]:
    """An invalid cache key is a 400; the cache's other errors are the server's, a 500."""
    return {InvalidCacheKeyError: invalid_key}


def providers(wanted: set[Any]) -> list[Provider]:
    """The cache's providers for one container: ``Cache`` and the backend under it."""
    return [
        class_provider(Cache, ComponentSpec(kind="component"), app=APP),
        function_provider(cache_backend, ComponentSpec(kind="provider"), app=APP),
    ]

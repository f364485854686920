"""The cache's providers, added to an app's container when something in it asks for them.

``create_app()`` registers them when a component or route needs ``Cache`` or
``AbstractCacheBackend``, or when a module of an installed app uses ``tausestack.sdk.cache``
(``@cached``, the module functions). ``Cache`` is a singleton whose hooks reach the backend at
startup (a Redis that is down fails there, naming its URL) and close its connections at
shutdown.
"""

from __future__ import annotations

from typing import Any

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ...settings import Settings
from ._backends import build_backend
from ._cache import Cache
from .base import AbstractCacheBackend

APP = "tausestack.sdk.cache"


def cache_backend(settings: Settings) -> AbstractCacheBackend:
    """The backend ``cache.backend`` names: ``memory``, ``disk``, ``redis`` or a dotted path."""
    return build_backend(settings)


def exception_handlers() -> dict[type[Exception], Any]:
    """Exception handlers the app gets with cache support: none (a cache error is a 500)."""
    return {}


def providers(wanted: set[Any]) -> list[Provider]:
    """The cache's providers for one container: ``Cache`` and the backend under it."""
    return [
        class_provider(Cache, ComponentSpec(kind="component"), app=APP),
        function_provider(cache_backend, ComponentSpec(kind="provider"), app=APP),
    ]

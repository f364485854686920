"""The cache of the current application, for code without DI (module functions, ``@cached``)."""

from __future__ import annotations

import threading
import weakref

from ...di._container import Container
from ...di._keys import DependencyKey
from ...settings import Settings
from .._context import current_container
from ._cache import Cache

__all__ = ["cache_for", "current_cache", "generation"]

_STANDALONE: weakref.WeakKeyDictionary[Container, Cache] = weakref.WeakKeyDictionary()
_WATCHED: weakref.WeakSet[Container] = weakref.WeakSet()
_LOCK = threading.Lock()
_CACHE_KEY = DependencyKey(Cache)

#: Bumped whenever a container that served a cache changes its singletons (startup, shutdown,
#: an override), so that callers that remembered its cache look it up again.
generation = [0]


_last: tuple[Container, int, Cache] | None = None


def current_cache() -> Cache:
    """The current application's cache (see ``tausestack.sdk``), remembered for the last app."""
    global _last
    container = current_container()
    last = _last
    if last is not None and last[0] is container and last[1] == generation[0]:
        return last[2]
    stamp = generation[0]
    cache = cache_for(container)
    _last = (container, stamp, cache)
    return cache


def cache_for(container: Container) -> Cache:
    """``container``'s ``Cache``; an app with no cache support gets one built from its settings
    on first use, kept for the app's lifetime."""
    if container not in _WATCHED:
        with _LOCK:
            if container not in _WATCHED:
                container.add_listener(_changed)
                _WATCHED.add(container)
    if container.graph.lookup(_CACHE_KEY) is not None:
        cache: Cache = container.get(Cache)
        return cache
    standalone = _STANDALONE.get(container)
    if standalone is None:
        with _LOCK:
            standalone = _STANDALONE.get(container)
            if standalone is None:
                standalone = _STANDALONE[container] = Cache(container.get(Settings))
    return standalone


def _changed() -> None:
    generation[0] += 1

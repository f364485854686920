"""Fixtures of the cache contract: one ``cache`` per backend (memory, disk, a real Redis).

The contract modules (``tests/contract/test_cache*.py``) import these fixtures, so every test in
them runs on each backend.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tausestack import Settings
from tausestack.sdk.cache import Cache

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("disk", id="disk"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]
MISSING = object()
SHORT = 0.3  # seconds: a ttl that expires within a test
PAUSE = 0.6  # seconds: long enough for SHORT to have passed on every backend

CacheFactory = Callable[..., Cache]


class Unserializable:
    """No JSON form, and a lock inside so that pickle refuses it too."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(
    backend_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[CacheFactory]:
    """Build caches on this test's backend; ``share`` puts them on the first one's storage.

    Memory storage lives in one backend object, so sharing reuses it; disk and Redis caches
    built from the same settings meet in the same folder or server, as two apps would.
    """
    redis_url = request.getfixturevalue("redis_url") if backend_name == "redis" else None
    built: list[Cache] = []

    def factory(**options: Any) -> Cache:
        share = options.pop("share", False)
        cache_options: dict[str, Any] = {"backend": backend_name, **options}
        if redis_url is not None:
            cache_options["redis"] = {"url": redis_url, **cache_options.get("redis", {})}
        cache_options.setdefault("disk", {"directory": "cache"})
        settings = Settings(config_dir=tmp_path, cache=cache_options)
        backend = built[0].backend if share and backend_name == "memory" else None
        cache = Cache(settings, backend)
        built.append(cache)
        return cache

    yield factory
    for cache in built:
        cache.close()


@pytest.fixture
def cache(make_cache: CacheFactory) -> Cache:
    return make_cache()


class Item(BaseModel):
    """A pydantic model the contract stores and rebuilds."""

    id: int
    name: str
    created: datetime


@dataclass
class Point:
    """A dataclass the contract stores (as its JSON form)."""

    x: int
    y: int

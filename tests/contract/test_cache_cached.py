"""The cache contract, continued: ``@cached`` on every backend."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tausestack.sdk.cache import Cache, CacheSerializationError, cached
from tests.contract.cache_backends import (
    Item,
    Point,
    Unserializable,
    backend_name,
    cache,
    make_cache,
)

__all__ = ["backend_name", "cache", "make_cache"]  # fixtures, imported for pytest


def unique(name: str) -> str:
    """A namespace of its own, so a test never meets entries of another on a shared server."""
    return f"{name}-{uuid.uuid4().hex}"


def test_cached_def_rebuilds_its_return_type_and_caches_none(cache: Cache) -> None:
    calls: list[int] = []
    created = datetime(2026, 1, 1, tzinfo=UTC)

    @cached(cache=cache, ttl=60, namespace=f"items-{uuid.uuid4().hex}")
    def find(item_id: int) -> Item | None:
        calls.append(item_id)
        return Item(id=item_id, name="pen", created=created) if item_id > 0 else None

    assert find(1) == find(1) == Item(id=1, name="pen", created=created)
    assert isinstance(find(1), Item)
    assert find(0) is None
    assert find(0) is None
    assert calls == [1, 0]
    assert (find.stats().hits, find.stats().misses) == (3, 2)
    assert find.invalidate(1) is True
    find(1)
    assert calls == [1, 0, 1]
    assert find.cache_clear() == 2
    find(0)
    assert calls == [1, 0, 1, 0]


@pytest.mark.anyio
async def test_cached_async_def(cache: Cache) -> None:
    calls: list[str] = []

    @cached(cache=cache, namespace=f"points-{uuid.uuid4().hex}")
    async def locate(name: str) -> Point:
        calls.append(name)
        return Point(len(name), 0)

    assert await locate("abc") == Point(3, 0)
    assert await locate("abc") == Point(3, 0)
    assert calls == ["abc"]
    assert await locate.ainvalidate("abc") is True
    assert await locate("abc") == Point(3, 0)
    assert calls == ["abc", "abc"]
    assert await locate.acache_clear() == 1


def test_cached_refuses_a_result_it_cannot_store(cache: Cache) -> None:
    @cached(cache=cache, namespace=unique("make"))
    def make() -> Any:
        return Unserializable()

    with pytest.raises(CacheSerializationError, match="make"):
        make()


@pytest.mark.anyio
async def test_concurrent_async_misses_of_one_key_run_the_function_once(cache: Cache) -> None:
    calls = 0

    @cached(cache=cache, namespace=unique("slow"))
    async def slow(key: str) -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"calls": calls}

    results = await asyncio.gather(*(slow("same") for _ in range(100)))
    assert calls == 1
    assert results == [{"calls": 1}] * 100
    # A caller that starts its lookup after the value was stored (a loaded machine, a disk
    # cache answering from a thread) counts as a hit; every other one waited for the flight.
    stats = slow.stats()
    assert stats.hits + stats.misses == 100
    assert stats.misses >= 1
    assert await slow("same") == {"calls": 1}
    await asyncio.gather(slow("a"), slow("b"))  # other keys are not held back by each other
    assert calls == 3


def test_a_miss_gives_what_a_hit_gives(cache: Cache) -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)

    @cached(cache=cache, namespace=unique("raw"))
    def raw():  # type: ignore[no-untyped-def]
        return Item(id=2, name="Bob", created=created)

    @cached(cache=cache, namespace=unique("anything"))
    def anything() -> Any:
        return {"when": created}

    expected = {"id": 2, "name": "Bob", "created": "2026-01-01T00:00:00Z"}
    assert raw() == expected  # without an annotation: the JSON form, on the miss too
    assert raw() == expected
    assert anything() == anything() == {"when": "2026-01-01T00:00:00+00:00"}


def test_callers_get_their_own_copy(cache: Cache) -> None:
    @cached(cache=cache, namespace=unique("tags"))
    def tags() -> list[str]:
        return ["a"]

    first = tags()
    first.append("changed by the caller")
    assert tags() == ["a"]


def test_a_result_that_does_not_fit_the_annotation_is_reported(cache: Cache) -> None:
    @cached(cache=cache, namespace=unique("count"))
    def count() -> int:
        return "many"  # type: ignore[return-value]

    with pytest.raises(
        CacheSerializationError,
        match=r"count returned a value that does not fit its return annotation int.*a stored str",
    ):
        count()

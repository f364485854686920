"""The cache contract, continued: how values are stored and rebuilt, on every backend."""

import uuid
from datetime import UTC, datetime

import pytest

from tausestack.sdk.cache import (
    Cache,
    CacheConfigurationError,
    CacheSerializationError,
    cached,
)
from tests.contract.cache_backends import (
    MISSING,
    CacheFactory,
    Item,
    Point,
    Unserializable,
    backend_name,
    cache,
    make_cache,
)

__all__ = ["backend_name", "cache", "make_cache"]  # fixtures, imported for pytest


class Plain:
    """An ordinary class: pickle stores it, pydantic has no schema for it."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plain) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


def test_json_stores_models_and_gives_json_back_or_the_type_asked(cache: Cache) -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    item = Item(id=1, name="pen", created=created)
    cache.set("item", item)
    cache.set("items", [item, item])
    cache.set("point", Point(1, 2))
    cache.set("when", created)
    cache.set("ids", {3, 1})
    assert cache.get("item") == {"id": 1, "name": "pen", "created": "2026-01-02T03:04:05Z"}
    assert cache.get("item", type=Item) == item
    assert cache.get("items", type=list[Item]) == [item, item]
    assert cache.get("point", type=Point) == Point(1, 2)
    assert cache.get("when", type=datetime) == created
    assert cache.get_many(["ids"], type=set[int]) == {"ids": {1, 3}}


@pytest.mark.anyio
async def test_aget_with_type(cache: Cache) -> None:
    item = Item(id=2, name="ink", created=datetime(2026, 1, 1, tzinfo=UTC))
    await cache.aset("item", item)
    assert await cache.aget("item", type=Item) == item
    assert await cache.aget_many(["item"], type=Item) == {"item": item}


def test_a_value_json_cannot_hold_is_refused_naming_key_and_backend(cache: Cache) -> None:
    with pytest.raises(CacheSerializationError) as caught:
        cache.set("lock", Unserializable())
    message = str(caught.value)
    assert "'lock'" in message
    assert cache.describe() in message
    assert "cache.serializer: pickle" in message
    assert cache.get("lock", MISSING) is MISSING


@pytest.mark.anyio
async def test_aset_refuses_an_unserializable_value(cache: Cache) -> None:
    with pytest.raises(CacheSerializationError, match="'k'"):
        await cache.aset("k", object())
    assert await cache.aget("k", MISSING) is MISSING


def test_a_type_that_does_not_fit_is_an_error(cache: Cache) -> None:
    cache.set("k", {"id": "not a number"})
    with pytest.raises(CacheSerializationError, match=r"'k'.*is not a valid"):
        cache.get("k", type=Item)


def test_json_refuses_to_read_a_pickle(make_cache: CacheFactory) -> None:
    pickled = make_cache(serializer="pickle")
    plain = make_cache(share=True)
    pickled.set("k", Point(1, 2))
    with pytest.raises(CacheSerializationError, match="cannot be read as json"):
        plain.get("k")


def test_pickle_mode_gives_objects_back(make_cache: CacheFactory) -> None:
    cache = make_cache(serializer="pickle")
    item = Item(id=1, name="pen", created=datetime(2026, 1, 1, tzinfo=UTC))
    values = {"point": Point(1, 2), "item": item, "set": {1, 2}, "bytes": b"\x00\xff", "n": 7}
    cache.set_many(values)
    assert cache.get_many(list(values)) == values
    assert type(cache.get("point")) is Point
    assert cache.incr("n") == 8
    assert cache.get("n") == 8


def test_pickle_mode_refuses_what_pickle_cannot_hold(make_cache: CacheFactory) -> None:
    cache = make_cache(serializer="pickle")
    with pytest.raises(CacheSerializationError, match="'k'.*cannot be serialized as pickle"):
        cache.set("k", Unserializable())
    assert cache.get("k", MISSING) is MISSING


def test_pickle_rebuilds_an_ordinary_class(make_cache: CacheFactory) -> None:
    cache = make_cache(serializer="pickle")
    cache.set("plain", Plain(3))
    assert cache.get("plain", type=Plain) == Plain(3)
    assert cache.get_many(["plain"], type=Plain | None) == {"plain": Plain(3)}
    cache.set("other", 5)
    with pytest.raises(CacheSerializationError, match=r"'other'.*not a .*Plain"):
        cache.get("other", type=Plain)


def test_pickle_caches_a_function_returning_an_ordinary_class(make_cache: CacheFactory) -> None:
    cache = make_cache(serializer="pickle")
    calls: list[int] = []

    @cached(cache=cache, namespace="plain")
    def build(value: int) -> Plain:
        calls.append(value)
        return Plain(value)

    @cached(cache=cache, namespace="plains")
    def build_all(value: int) -> list[Plain]:
        return [Plain(value)]

    assert build(1) == build(1) == Plain(1)
    assert isinstance(build(1), Plain)
    assert calls == [1]
    assert build_all(2) == build_all(2) == [Plain(2)]
    assert build_all.stats().hits == 1


def test_json_cannot_rebuild_an_ordinary_class_and_says_so(cache: Cache) -> None:
    cache.set("k", {"value": 1})
    with pytest.raises(CacheConfigurationError, match=r"type=.*Plain.*cannot be rebuilt"):
        cache.get("k", type=Plain)

    @cached(cache=cache, namespace="plain")
    def build() -> Plain:
        raise AssertionError("not run: the annotation cannot work with json")

    with pytest.raises(CacheConfigurationError, match=r"return annotation .*Plain"):
        build()
    assert cache.get("plain:[]", MISSING) is MISSING


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "the value"),
        (float("inf"), "the value"),
        ([1.5, float("-inf")], "[1]"),
        ({"price": {"amount": float("nan")}, "note": None}, "['price']['amount']"),
        (Point(float("inf"), 0), "['x']"),
    ],
)
def test_json_refuses_nan_and_infinities_instead_of_storing_null(
    cache: Cache, value: object, where: str
) -> None:
    """orjson writes NaN and ±inf as null, which would come back as None."""
    cache.set("ratio", 0.5)
    with pytest.raises(CacheSerializationError) as caught:
        cache.set("ratio", value)
    message = str(caught.value)
    assert "'ratio'" in message
    assert where in message
    assert "NaN" in message
    assert cache.get("ratio") == 0.5
    cache.set("none", [None, 1.0, {"a": None}])  # a real null is still fine
    assert cache.get("none") == [None, 1.0, {"a": None}]


def test_cached_refuses_an_infinite_result_instead_of_recomputing_it(cache: Cache) -> None:
    calls = []

    @cached(cache=cache, namespace=f"ratio-{uuid.uuid4().hex}")
    def ratio(x: int) -> float:
        calls.append(x)
        return float("inf") if x == 0 else 1 / x

    assert ratio(2) == 0.5
    assert ratio(2) == 0.5
    with pytest.raises(CacheSerializationError, match="NaN"):
        ratio(0)
    assert calls == [2, 0]


def test_pickle_stores_nan_and_infinities(make_cache: CacheFactory) -> None:
    cache = make_cache(serializer="pickle")
    cache.set("inf", float("inf"))
    assert cache.get("inf") == float("inf")


def test_json_refuses_a_nan_or_infinite_mapping_key(cache: Cache) -> None:
    """orjson writes a float key as its text, NaN and ±inf as "null": ``{nan: 1}`` would come
    back as ``{"null": 1}``, silently."""
    with pytest.raises(CacheSerializationError, match="NaN"):
        cache.set("by-ratio", {float("nan"): 1, 0.5: 2})
    assert cache.get("by-ratio", MISSING) is MISSING

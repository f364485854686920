"""The cache contract: every test runs against the memory, disk and (real) Redis backends."""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from tausestack import Settings
from tausestack.sdk.cache import (
    Cache,
    CacheSerializationError,
    CacheValueError,
    InvalidCacheKeyError,
    cached,
)

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("disk", id="disk"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]
MISSING = object()
SHORT = 0.3  # seconds: a ttl that expires within a test
PAUSE = 0.6  # seconds: long enough for SHORT to have passed on every backend


class Item(BaseModel):
    id: int
    name: str
    created: datetime


@dataclass
class Point:
    x: int
    y: int


class Unserializable:
    """No JSON form, and a lock inside so that pickle refuses it too."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()


CacheFactory = Callable[..., Cache]


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
            cache_options["redis"] = {"url": redis_url}
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


VALUES = [
    {"name": "Ada", "tags": ["x", "y"], "nested": {"n": 1.5, "ok": True, "none": None}},
    [1, "two", 3.0, False, None],
    "text with ünïcode",
    42,
    -7,
    3.25,
    True,
    None,
]


# -- get / set / delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALUES)
def test_set_then_get_gives_the_value_back(cache: Cache, value: Any) -> None:
    cache.set("k", value)
    assert cache.get("k", MISSING) == value
    assert type(cache.get("k", MISSING)) is type(value)


@pytest.mark.anyio
@pytest.mark.parametrize("value", VALUES)
async def test_aset_then_aget_gives_the_value_back(cache: Cache, value: Any) -> None:
    await cache.aset("k", value)
    assert await cache.aget("k", MISSING) == value


def test_a_miss_returns_the_default(cache: Cache) -> None:
    assert cache.get("absent") is None
    assert cache.get("absent", MISSING) is MISSING


def test_none_is_cached_and_told_apart_from_a_miss(cache: Cache) -> None:
    cache.set("nothing", None)
    assert cache.get("nothing", MISSING) is None
    assert cache.get_many(["nothing", "absent"]) == {"nothing": None}


def test_set_overwrites(cache: Cache) -> None:
    cache.set("k", 1)
    cache.set("k", {"v": 2})
    assert cache.get("k") == {"v": 2}


def test_delete_says_whether_the_key_was_there(cache: Cache) -> None:
    cache.set("k", "v")
    assert cache.delete("k") is True
    assert cache.get("k", MISSING) is MISSING
    assert cache.delete("k") is False


@pytest.mark.anyio
async def test_adelete(cache: Cache) -> None:
    await cache.aset("k", "v")
    assert await cache.adelete("k") is True
    assert await cache.aget("k", MISSING) is MISSING
    assert await cache.adelete("k") is False


def test_keys_are_stored_under_the_prefix(make_cache: CacheFactory) -> None:
    cache = make_cache(key_prefix="shop:")
    cache.set("k", "v")
    assert cache.backend.get("shop:k") == b'"v"'
    assert cache.backend.get("k") is None


# -- expiry ---------------------------------------------------------------------------------------


def test_an_entry_expires_after_its_ttl(cache: Cache) -> None:
    cache.set("short", "v", ttl=SHORT)
    cache.set("long", "v", ttl=60)
    assert cache.get("short") == "v"
    time.sleep(PAUSE)
    assert cache.get("short", MISSING) is MISSING
    assert cache.get("long") == "v"


@pytest.mark.anyio
async def test_an_entry_expires_after_its_ttl_async(cache: Cache) -> None:
    await cache.aset("short", "v", ttl=timedelta(seconds=SHORT))
    assert await cache.aget("short") == "v"
    await anyio.sleep(PAUSE)
    assert await cache.aget("short", MISSING) is MISSING


def test_default_ttl_applies_and_none_means_no_expiry(make_cache: CacheFactory) -> None:
    cache = make_cache(default_ttl=SHORT)
    cache.set("default", 1)
    cache.set("forever", 2, ttl=None)
    cache.set_many({"many": 3})
    time.sleep(PAUSE)
    assert cache.get_many(["default", "forever", "many"]) == {"forever": 2}


@pytest.mark.parametrize("ttl", [0, -1, "60", True])
def test_a_ttl_must_be_positive(cache: Cache, ttl: Any) -> None:
    with pytest.raises(CacheValueError, match="a ttl is a positive number of seconds"):
        cache.set("k", "v", ttl=ttl)
    assert cache.get("k", MISSING) is MISSING


# -- get_many / set_many ------------------------------------------------------------------------


def test_get_many_returns_the_present_keys(cache: Cache) -> None:
    cache.set_many({"a": 1, "b": [2], "c": None})
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "b": [2], "c": None}
    assert cache.get_many([]) == {}


@pytest.mark.anyio
async def test_aget_many_and_aset_many(cache: Cache) -> None:
    await cache.aset_many({"a": 1, "b": "two"}, ttl=60)
    assert await cache.aget_many(["a", "b", "z"]) == {"a": 1, "b": "two"}


def test_set_many_with_an_unserializable_value_writes_nothing(cache: Cache) -> None:
    cache.set("a", "old")
    with pytest.raises(CacheSerializationError, match="'b'"):
        cache.set_many({"a": "new", "b": Unserializable(), "c": 3})
    assert cache.get_many(["a", "b", "c"]) == {"a": "old"}


@pytest.mark.anyio
async def test_aset_many_with_an_invalid_key_writes_nothing(cache: Cache) -> None:
    with pytest.raises(InvalidCacheKeyError):
        await cache.aset_many({"a": 1, "": 2})
    assert await cache.aget_many(["a"]) == {}


def test_set_many_ttl(cache: Cache) -> None:
    cache.set_many({"a": 1, "b": 2}, ttl=SHORT)
    time.sleep(PAUSE)
    assert cache.get_many(["a", "b"]) == {}


# -- incr ---------------------------------------------------------------------------------------


def test_incr_counts_from_zero_and_get_reads_the_count(cache: Cache) -> None:
    assert cache.incr("hits") == 1
    assert cache.incr("hits", 10) == 11
    assert cache.incr("hits", -20) == -9
    assert cache.get("hits") == -9


@pytest.mark.anyio
async def test_aincr(cache: Cache) -> None:
    assert await cache.aincr("hits") == 1
    assert await cache.aincr("hits", 4) == 5
    assert await cache.aget("hits") == 5


def test_incr_continues_a_stored_int(cache: Cache) -> None:
    cache.set("n", 41)
    assert cache.incr("n") == 42


def test_incr_gives_a_new_key_the_ttl_and_keeps_an_existing_expiry(cache: Cache) -> None:
    assert cache.incr("new", ttl=SHORT) == 1
    cache.set("existing", 5, ttl=SHORT)
    assert cache.incr("existing", ttl=60) == 6  # the 60 s does not extend it
    assert cache.incr("forever", ttl=None) == 1
    time.sleep(PAUSE)
    assert cache.get_many(["new", "existing", "forever"]) == {"forever": 1}


@pytest.mark.parametrize("stored", ["text", 1.5, {"a": 1}, True])
def test_incr_of_a_non_integer_fails_and_leaves_it(cache: Cache, stored: Any) -> None:
    cache.set("k", stored)
    with pytest.raises(CacheValueError, match=r"incr\('tausestack:k'\).*not an integer"):
        cache.incr("k")
    assert cache.get("k") == stored


@pytest.mark.parametrize("delta", [1.5, "1", True])
def test_incr_takes_an_int_delta(cache: Cache, delta: Any) -> None:
    with pytest.raises(CacheValueError, match="int delta"):
        cache.incr("k", delta)


def test_incr_is_atomic_under_threads(cache: Cache) -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: cache.incr("n"), range(200)))
    assert cache.get("n") == 200


# -- clear ----------------------------------------------------------------------------------------


def test_clear_removes_only_keys_under_the_prefix(make_cache: CacheFactory) -> None:
    ours = make_cache(key_prefix="app1:")
    theirs = make_cache(key_prefix="app2:", share=True)
    ours.set_many({"a": 1, "b": 2})
    ours.incr("n")
    theirs.set("a", "kept")
    ours.backend.set("app1", b"1", None)  # the prefix without its colon is another key
    ours.backend.set("foreign:key", b"1", None)
    assert ours.clear() == 3
    assert ours.get_many(["a", "b", "n"]) == {}
    assert theirs.get("a") == "kept"
    assert ours.backend.get("app1") == b"1"
    assert ours.backend.get("foreign:key") == b"1"


@pytest.mark.anyio
async def test_aclear(make_cache: CacheFactory) -> None:
    ours = make_cache(key_prefix="app1:")
    theirs = make_cache(key_prefix="app2:", share=True)
    await ours.aset("a", 1)
    await theirs.aset("a", 2)
    assert await ours.aclear() == 1
    assert await ours.aget("a", MISSING) is MISSING
    assert await theirs.aget("a") == 2


def test_clear_treats_pattern_characters_in_the_prefix_literally(make_cache: CacheFactory) -> None:
    ours = make_cache(key_prefix="a*[b]?:")
    other = make_cache(key_prefix="aXbY:", share=True)
    ours.set("k", 1)
    other.set("k", 2)
    assert ours.clear() == 1
    assert other.get("k") == 2


def test_clear_handles_many_keys(cache: Cache) -> None:
    cache.set_many({f"k{index}": index for index in range(2500)}, ttl=60)
    assert cache.clear() == 2500
    assert cache.get_many(["k0", "k2499"]) == {}


# -- serialization ------------------------------------------------------------------------------


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


# -- keys -----------------------------------------------------------------------------------------


BAD_KEYS = [
    pytest.param("", id="empty"),
    pytest.param(42, id="not-str"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param("x" * 251, id="too-long"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("nul\x00", id="nul"),
    pytest.param("tab\there", id="tab"),
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused_naming_key_and_backend(cache: Cache, key: Any) -> None:
    for call in (
        lambda: cache.get(key),
        lambda: cache.set(key, 1),
        lambda: cache.delete(key),
        lambda: cache.incr(key),
        lambda: cache.get_many(["ok", key]),
        lambda: cache.set_many({"ok": 1, key: 2}),
    ):
        with pytest.raises(InvalidCacheKeyError) as caught:
            call()
        assert cache.describe() in str(caught.value)
        assert repr(key)[:20] in str(caught.value)
    assert cache.get("ok", MISSING) is MISSING


@pytest.mark.anyio
@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_refused_async(cache: Cache, key: Any) -> None:
    with pytest.raises(InvalidCacheKeyError):
        await cache.aget(key)
    with pytest.raises(InvalidCacheKeyError):
        await cache.aset(key, 1)
    with pytest.raises(InvalidCacheKeyError):
        await cache.aincr(key)


def test_a_longest_key_and_unicode_keys_work(cache: Cache) -> None:
    cache.set("x" * 250, 1)
    cache.set("usuario:josé 🎉", 2)
    assert cache.get_many(["x" * 250, "usuario:josé 🎉"]) == {"x" * 250: 1, "usuario:josé 🎉": 2}


def test_a_str_enum_member_is_a_key(cache: Cache) -> None:
    class Key(StrEnum):
        RATES = "rates"

    cache.set(Key.RATES, 1)
    assert cache.get("rates") == cache.get(Key.RATES) == 1
    assert cache.delete(Key.RATES) is True


def test_get_many_wants_a_list_not_a_string(cache: Cache) -> None:
    with pytest.raises(InvalidCacheKeyError, match="list of keys"):
        cache.get_many("abc")


# -- statistics -----------------------------------------------------------------------------------


def test_hits_and_misses_are_counted(cache: Cache) -> None:
    cache.set("a", 1)
    cache.get("a")
    cache.get("a")
    cache.get("b")
    cache.get_many(["a", "b", "c"])
    stats = cache.stats()
    assert (stats.hits, stats.misses) == (3, 3)
    assert stats.hit_ratio == 0.5
    cache.reset_stats()
    assert cache.stats().hits == 0


# -- @cached on each backend ----------------------------------------------------------------------


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
    @cached(cache=cache)
    def make() -> Any:
        return Unserializable()

    with pytest.raises(CacheSerializationError, match="make"):
        make()

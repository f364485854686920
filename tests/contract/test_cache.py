"""The cache contract: every test runs against the memory, disk and (real) Redis backends.

Expiry and ``incr`` are in ``test_cache_expiry.py``, serialization in
``test_cache_serialization.py``, ``@cached`` on each backend in ``test_cache_cached.py``.
"""

from enum import StrEnum
from typing import Any

import pytest

from tausestack.sdk.cache import (
    Cache,
    CacheSerializationError,
    InvalidCacheKeyError,
)
from tests.contract.cache_backends import (
    MISSING,
    CacheFactory,
    Unserializable,
    backend_name,
    cache,
    make_cache,
)

__all__ = ["backend_name", "cache", "make_cache"]  # fixtures, imported for pytest


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

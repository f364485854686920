"""The cache contract, continued: expiry, ``ttl`` validation and ``incr`` on every backend."""

import concurrent.futures
import math
import time
from datetime import timedelta
from typing import Any

import anyio
import pytest

from tausestack.sdk.cache import Cache, CacheValueError
from tests.contract.cache_backends import (
    MISSING,
    PAUSE,
    SHORT,
    CacheFactory,
    backend_name,
    cache,
    make_cache,
)

__all__ = ["backend_name", "cache", "make_cache"]  # fixtures, imported for pytest

TEN_YEARS = 10 * 365 * 24 * 3600


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


def test_set_many_ttl(cache: Cache) -> None:
    cache.set_many({"a": 1, "b": 2}, ttl=SHORT)
    time.sleep(PAUSE)
    assert cache.get_many(["a", "b"]) == {}


# -- ttl validation -------------------------------------------------------------------------------

BAD_TTLS = [
    pytest.param(0, id="zero"),
    pytest.param(-1, id="negative"),
    pytest.param("60", id="str"),
    pytest.param(True, id="bool"),
    pytest.param(math.inf, id="inf"),
    pytest.param(math.nan, id="nan"),
    pytest.param(1e20, id="huge"),
    pytest.param(TEN_YEARS + 1, id="over-ten-years"),
    pytest.param(timedelta(days=4000), id="long-timedelta"),
]


@pytest.mark.parametrize("ttl", BAD_TTLS)
def test_a_bad_ttl_is_refused_alike_naming_the_key(cache: Cache, ttl: Any) -> None:
    for call in (
        lambda: cache.set("k", "v", ttl=ttl),
        lambda: cache.set_many({"k": "v"}, ttl=ttl),
        lambda: cache.incr("k", ttl=ttl),
    ):
        with pytest.raises(CacheValueError, match=r"ttl=.* for 'k'.*positive, finite") as caught:
            call()
        assert "10 years" in str(caught.value)
    assert cache.get("k", MISSING) is MISSING  # incr did not write half its change


@pytest.mark.anyio
@pytest.mark.parametrize("ttl", [math.inf, 1e20])
async def test_a_bad_ttl_is_refused_async(cache: Cache, ttl: float) -> None:
    with pytest.raises(CacheValueError, match="'k'"):
        await cache.aset("k", 1, ttl=ttl)
    with pytest.raises(CacheValueError, match="'k'"):
        await cache.aincr("k", ttl=ttl)
    assert await cache.aget("k", MISSING) is MISSING


def test_the_longest_ttl_is_accepted(cache: Cache) -> None:
    cache.set("k", "v", ttl=TEN_YEARS)
    assert cache.incr("n", ttl=timedelta(seconds=TEN_YEARS)) == 1
    assert cache.get_many(["k", "n"]) == {"k": "v", "n": 1}


# -- incr -----------------------------------------------------------------------------------------


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
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: cache.incr("n"), range(200)))
    assert cache.get("n") == 200


def test_a_bad_delta_names_the_key(cache: Cache) -> None:
    with pytest.raises(CacheValueError, match=r"incr\('counter'\) takes an int delta"):
        cache.incr("counter", 1.5)  # type: ignore[arg-type]

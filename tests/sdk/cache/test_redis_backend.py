"""The Redis backend: connections per event loop, errors that say what happened, and URLs
shown without their secrets. A real ``redis-server`` (``tests/servers.py``)."""

import asyncio
import gc
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

import pytest
import redis

from tausestack import Settings
from tausestack.sdk.cache import (
    Cache,
    CacheBackendError,
    CacheConfigurationError,
    CacheConnectionError,
)
from tausestack.sdk.cache.redis import RedisCacheBackend, redact
from tests.processes import free_port
from tests.servers import RedisServer


def build(tmp_path: Path, **cache: Any) -> Cache:
    return Cache(Settings(config_dir=tmp_path, cache=cache))


def named(redis_url: str) -> tuple[str, str]:
    """A URL whose connections carry a name of their own (CLIENT SETNAME), and that name."""
    name = f"cache-{uuid.uuid4().hex[:12]}"
    return f"{redis_url}?client_name={name}", name


def connections(raw: redis.Redis, name: str, at_most: int, within: float = 3.0) -> int:
    """How many connections named ``name`` the server has, once at most ``at_most`` (or after
    ``within`` s): the server notices a closed connection a moment after the client closes it."""
    deadline = time.monotonic() + within
    while True:
        count = sum(client["name"] == name for client in raw.client_list())
        if count <= at_most or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


# -- errors ---------------------------------------------------------------------------------------


def test_a_redis_that_is_down_names_key_and_url(tmp_path: Path) -> None:
    url = f"redis://:pw@127.0.0.1:{free_port()}/0"
    cache = build(tmp_path, backend="redis", redis={"url": url, "socket_timeout": 1})
    for call in (lambda: cache.get("user:1"), lambda: cache.set("user:1", 1)):
        with pytest.raises(CacheConnectionError) as caught:
            call()
        message = str(caught.value)
        assert "'tausestack:user:1'" in message
        assert "redis cache at redis://:***@127.0.0.1" in message
        assert ":pw@" not in message
    with pytest.raises(CacheConnectionError, match=r"get\('tausestack:user:1'\) failed"):
        asyncio.run(cache.aget("user:1"))


@pytest.mark.redis
def test_the_cache_works_again_as_soon_as_redis_restarted(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    """The pooled connections the restart closed are replaced on the first command: no error
    once Redis is back."""
    cache = build(tmp_path, backend="redis", redis={"url": own_redis.url()})

    async def warm_up() -> None:  # a pooled connection on this loop too
        await cache.aset("user:2", {"name": "Grace"})

    cache.set("user:1", {"name": "Ada"})
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(warm_up())
        own_redis.restart(down_for=0.2)
        assert cache.get("user:1") == {"name": "Ada"}
        assert loop.run_until_complete(cache.aget("user:2")) == {"name": "Grace"}
    finally:
        loop.run_until_complete(cache.aclose())
        loop.close()


@pytest.mark.redis
def test_one_redis_backend_serves_several_event_loops(redis_url: str, tmp_path: Path) -> None:
    cache = build(tmp_path, backend="redis", redis={"url": redis_url})

    async def roundtrip(value: int) -> Any:
        await cache.aset("k", value)
        return await cache.aget("k")

    assert asyncio.run(roundtrip(1)) == 1
    assert asyncio.run(roundtrip(2)) == 2  # a new loop gets its own connections
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(roundtrip(3))))
    thread.start()
    thread.join()
    assert results == [3]
    assert cache.get("k") == 3
    cache.close()


@pytest.mark.redis
def test_async_commands_wait_for_a_free_connection(redis_url: str, tmp_path: Path) -> None:
    import redis

    cache = build(tmp_path, backend="redis", redis={"url": redis_url, "max_connections": 2})
    raw = redis.Redis.from_url(redis_url)
    before = len(raw.client_list())  # connections other tests may still hold, and raw's own

    async def burst() -> None:
        await cache.aset("k", 1)
        tasks = [asyncio.create_task(cache.aget("k")) for _ in range(60)]
        await asyncio.sleep(0)
        for task in tasks[::3]:  # some give up while queued for a connection
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        answered = [
            result for task, result in zip(tasks, results, strict=True) if not task.cancelled()
        ]
        assert answered == [1] * len(answered)
        assert len(answered) >= 40
        assert len(raw.client_list()) <= before + 2  # at most 2 of the cache's
        # No slot was lost to the cancellations: a second burst completes in time.
        async with asyncio.timeout(10):
            assert await asyncio.gather(*(cache.aget("k") for _ in range(60))) == [1] * 60
        assert len(raw.client_list()) <= before + 2

    asyncio.run(burst())
    cache.close()
    raw.close()


def test_a_slot_handed_to_a_cancelled_waiter_goes_to_the_next() -> None:
    from tausestack.sdk.cache._slots import Slots

    async def scenario() -> None:
        slots = Slots(1)
        assert slots.take_nowait()
        first = asyncio.create_task(slots.take())
        second = asyncio.create_task(slots.take())
        await asyncio.sleep(0)  # both wait in line
        slots.give()  # the slot goes to the first...
        first.cancel()  # ...which is cancelled before it runs again
        await asyncio.wait_for(second, 1)  # the second one gets it
        assert first.cancelled()
        assert not slots.take_nowait()
        slots.give()
        assert slots.free == 1

    asyncio.run(scenario())


def test_waiting_for_a_slot_times_out_and_loses_none() -> None:
    from tausestack.sdk.cache._slots import Slots

    async def scenario() -> None:
        slots = Slots(1, timeout=0.05)
        assert slots.take_nowait()
        with pytest.raises(TimeoutError, match=r"no free connection within 0.05 s: all 1"):
            await slots.take()
        slots.give()
        assert slots.free == 1
        await slots.take()
        assert slots.free == 0

    asyncio.run(scenario())


# -- one pool per event loop, released ------------------------------------------------------------


@pytest.mark.redis
def test_closed_event_loops_release_their_connections(redis_url: str, tmp_path: Path) -> None:
    url, name = named(redis_url)
    cache = build(tmp_path, backend="redis", redis={"url": url})
    raw = redis.Redis.from_url(redis_url)
    for round_ in range(20):
        asyncio.run(cache.aset("k", round_))  # a new event loop each time
    assert connections(raw, name, 1) == 1  # only the last loop's is left
    backend = cache.backend
    assert isinstance(backend, RedisCacheBackend)
    assert len(backend._async_clients) == 1
    cache.close()
    assert connections(raw, name, 0) == 0
    assert cache.get("k") == 19
    cache.close()
    raw.close()


@pytest.mark.redis
def test_a_closed_loop_is_not_kept_alive(redis_url: str, tmp_path: Path) -> None:
    cache = build(tmp_path, backend="redis", redis={"url": redis_url})
    loop = asyncio.new_event_loop()
    loop.run_until_complete(cache.aset("k", 1))
    loop.close()
    dead = weakref.ref(loop)
    del loop
    asyncio.run(cache.aget("k"))  # another loop: the closed one's client is dropped
    gc.collect()
    assert dead() is None
    cache.close()


@pytest.mark.redis
def test_aclose_closes_the_pools_of_other_loops(redis_url: str, tmp_path: Path) -> None:
    url, name = named(redis_url)
    cache = build(tmp_path, backend="redis", redis={"url": url})
    raw = redis.Redis.from_url(redis_url)
    asyncio.run(cache.aset("k", 1))
    thread = threading.Thread(target=lambda: asyncio.run(cache.aset("j", 2)))
    thread.start()
    thread.join()

    async def use_and_close() -> None:
        assert await cache.aget("k") == 1
        await cache.aclose()

    asyncio.run(use_and_close())
    assert connections(raw, name, 0) == 0
    raw.close()


# -- errors the server replies with ---------------------------------------------------------------


@pytest.mark.redis
def test_taking_a_lock_again_with_its_own_token_succeeds(redis_url: str) -> None:
    """What a retried acquisition (its first reply lost with the connection) does: the lock is
    found to be the caller's own, instead of held by someone else until it expires."""
    backend = RedisCacheBackend(redis_url)
    acquire = backend._acquire
    try:
        assert acquire(keys=["lock:report"], args=["mine", 5000]) == 1
        assert acquire(keys=["lock:report"], args=["mine", 5000]) == 1  # the retry
        assert acquire(keys=["lock:report"], args=["theirs", 5000]) == 0
        with backend.lock("lock:other", 1.0) as acquired:
            assert acquired
    finally:
        backend.close()


@pytest.mark.redis
def test_a_refused_command_is_reported_as_such(redis_url: str, tmp_path: Path) -> None:
    raw = redis.Redis.from_url(redis_url)
    raw.acl_setuser(
        "limited", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all", "-set"]
    )
    try:
        limited = redis_url.replace("redis://", "redis://limited:s3cret@")
        cache = build(tmp_path, backend="redis", redis={"url": limited})
        for call in (lambda: cache.set("k", 1), lambda: cache.incr("n", ttl=60)):
            with pytest.raises(CacheBackendError) as caught:
                call()
            message = str(caught.value)
            assert "was refused by the redis cache" in message
            assert any(reply in message for reply in ("no permissions", "can't run this command"))
            assert "s3cret" not in message
            assert "Check that the server is running" not in message
            assert "not an integer" not in message
        with pytest.raises(CacheBackendError, match="refused"):
            asyncio.run(cache.aset("k", 1))
        cache.close()
    finally:
        raw.acl_deluser("limited")
        raw.close()


# -- URLs without secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host/0", "redis://user:***@host/0"),
        ("redis://user@host/0", "redis://user@host/0"),
        ("redis://h:6379/0?password=secret", "redis://h:6379/0?password=***"),
        ("redis://h/0?db=1&username=u&Password=p", "redis://h/0?db=1&username=***&Password=***"),
        ("redis://user:pw@[::1]:6379/0", "redis://user:***@[::1]:6379/0"),
        ("redis://:pw@host:notaport/0", "redis://:***@host:notaport/0"),
        ("redis://:pw@host:99999/0", "redis://:***@host:99999/0"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    "url", ["redis://:pw@host:notaport/0", "redis://:pw@host:99999/0", "http://user:pw@host/0"]
)
def test_a_bad_url_is_a_configuration_error_without_the_password(url: str) -> None:
    with pytest.raises(CacheConfigurationError, match="is not a Redis URL") as caught:
        RedisCacheBackend(url)
    assert "pw@" not in str(caught.value)


def test_describe_hides_a_password_in_the_query(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0?password=secret"
    cache = build(tmp_path, backend="redis", redis={"url": url, "socket_timeout": 1})
    assert "secret" not in cache.describe()
    with pytest.raises(CacheConnectionError) as caught:
        cache.get("k")
    assert "secret" not in str(caught.value)
    assert "password=***" in str(caught.value)

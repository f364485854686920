"""``@cached``: stampede protection, what it refuses, rebuilt values, and which cache it uses."""

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

from tausestack import Service, Settings, sdk
from tausestack.sdk.cache import (
    Cache,
    CacheConfigurationError,
    CacheValueError,
    MemoryCacheBackend,
    cached,
)
from tests.conftest import AppFactory

if TYPE_CHECKING:
    from decimal import Decimal  # only for the type checker: never evaluated by @cached


class User(BaseModel):
    id: int
    name: str


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(Settings(config_dir=tmp_path))


def test_concurrent_sync_misses_of_one_key_run_the_function_once(cache: Cache) -> None:
    calls = 0
    start = threading.Barrier(32)

    @cached(cache=cache, namespace="slow")
    def slow(key: str) -> int:
        nonlocal calls
        calls += 1
        time.sleep(0.1)
        return calls

    def call() -> int:
        start.wait()
        return slow("same")

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(call())) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == 1
    assert results == [1] * 32


def test_without_the_per_key_lock_threads_would_all_compute(cache: Cache) -> None:
    # The control for the test above: uncached, the same threads run the function 32 times.
    calls = 0
    start = threading.Barrier(32)

    def slow() -> None:
        nonlocal calls
        start.wait()
        calls += 1
        time.sleep(0.1)

    threads = [threading.Thread(target=slow) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == 32


@pytest.mark.anyio
async def test_a_failure_reaches_every_waiter_and_is_not_cached(cache: Cache) -> None:
    calls = 0

    @cached(cache=cache, namespace="flaky")
    async def flaky() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        if calls == 1:
            raise RuntimeError("boom")
        return calls

    results = await asyncio.gather(*(flaky() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert calls == 1
    assert await flaky() == 2


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_cancel_the_others(cache: Cache) -> None:
    @cached(cache=cache, namespace="slow")
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "done"

    first = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    second = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "done"
    assert await slow() == "done"
    assert slow.stats().hits == 1


def test_a_recursive_call_with_the_same_key_is_refused(cache: Cache) -> None:
    @cached(cache=cache, namespace="walk")
    def walk(node: int) -> int:
        return 0 if node == 0 else walk(node - 1) + walk(node)  # walk(node) waits for itself

    with pytest.raises(CacheConfigurationError, match=r"Recursive call of .*walk with the same"):
        walk(1)

    @cached(cache=cache, namespace="fib")
    def fib(n: int) -> int:  # recursion with other arguments is fine
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(20) == 6765


@pytest.mark.anyio
async def test_an_async_recursive_call_with_the_same_key_is_refused(cache: Cache) -> None:
    @cached(cache=cache, namespace="awalk")
    async def walk(node: int) -> int:
        return 0 if node == 0 else await walk(node - 1) + await walk(node)

    @cached(cache=cache, namespace="spawn")
    async def spawn() -> int:  # through a task it starts and awaits
        return await asyncio.create_task(spawn())

    async with asyncio.timeout(5):
        with pytest.raises(CacheConfigurationError, match="Recursive call"):
            await walk(1)
        with pytest.raises(CacheConfigurationError, match="Recursive call"):
            await spawn()
        results = await asyncio.gather(walk(0), walk(0))  # concurrent callers still share
        assert results == [0, 0]


# -- what @cached refuses -------------------------------------------------------------------------


def test_generator_functions_are_refused_at_decoration() -> None:
    def numbers() -> Iterator[int]:
        yield 1

    async def anumbers() -> AsyncIterator[int]:
        yield 1

    for function in (numbers, anumbers):
        with pytest.raises(CacheConfigurationError, match="generator function"):
            cached(namespace="numbers")(function)


@pytest.mark.parametrize("ttl", [0, -5, float("inf"), 1e20, "60"])
def test_a_bad_ttl_is_refused_at_decoration(ttl: object) -> None:
    with pytest.raises(CacheValueError, match=r"ttl=.* in @cached on .*compute"):

        @cached(ttl=ttl, namespace="compute")  # type: ignore[call-overload]
        def compute() -> int:
            return 1


def test_cached_goes_below_classmethod_and_staticmethod() -> None:
    with pytest.raises(CacheConfigurationError, match="below @classmethod or @staticmethod"):
        cached(staticmethod(lambda: 1))  # type: ignore[arg-type]


# -- values ---------------------------------------------------------------------------------------


def test_parameters_typed_for_the_type_checker_only_are_fine(cache: Cache) -> None:
    @cached(cache=cache, namespace="price")
    def price(amount: "Decimal") -> "int":
        return int(amount)

    assert price(3) == price(3) == 3
    assert price.stats().hits == 1


def test_hits_are_rebuilt_as_the_return_annotation(cache: Cache) -> None:
    @cached(cache=cache, namespace="users")
    def users() -> list[User]:
        return [User(id=1, name="Ada")]

    @cached(cache=cache, namespace="moment")
    def moment() -> datetime:
        return datetime(2026, 5, 1, tzinfo=UTC)

    assert users() == users() == [User(id=1, name="Ada")]
    assert isinstance(users()[0], User)
    assert moment() == moment() == datetime(2026, 5, 1, tzinfo=UTC)


def test_a_value_stored_by_an_older_version_is_recomputed(cache: Cache) -> None:
    @cached(cache=cache, namespace="profile")
    def profile() -> User:
        return User(id=1, name="Ada")

    cache.set("profile:[]", {"id": "one", "legacy": True})  # what a previous release stored
    assert profile() == User(id=1, name="Ada")
    assert cache.get("profile:[]") == {"id": 1, "name": "Ada"}

    @cached(cache=cache, namespace="names")
    def names() -> list[str] | None:
        return ["ada"]

    cache.set("names:[]", {"old": "shape"})
    assert names() == ["ada"]
    assert names() == ["ada"]
    assert names.stats().hits == 1


def test_a_return_annotation_that_cannot_be_read_is_reported(cache: Cache) -> None:
    @cached(cache=cache, namespace="broken")
    def broken() -> "Missing":  # type: ignore[name-defined] # noqa: F821
        return 1

    with pytest.raises(CacheConfigurationError, match="return annotation 'Missing' of .*broken"):
        broken()


def test_the_wrapper_looks_like_the_function() -> None:
    @cached(namespace="documented")
    async def documented(x: int) -> int:
        """Doubles x."""
        return 2 * x

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Doubles x."
    assert inspect.iscoroutinefunction(documented)
    assert list(inspect.signature(documented).parameters) == ["x"]


# -- which cache ----------------------------------------------------------------------------------


@cached(namespace="greeting")
def greeting(name: str) -> str:
    GREETINGS.append(name)
    return f"hello {name}"


GREETINGS: list[str] = []


def test_the_cache_is_the_current_apps(make_app: AppFactory) -> None:
    first = make_app(cache={"key_prefix": "first:"})
    second = make_app(cache={"key_prefix": "second:"})
    GREETINGS.clear()
    with sdk.use(first.container):
        greeting("ada")
        greeting("ada")
        assert sdk.cache.get('greeting:["ada"]') == "hello ada"
    with sdk.use(second.container):
        greeting("ada")
        assert sdk.cache.current().backend.get('second:greeting:["ada"]') is not None
    assert GREETINGS == ["ada", "ada"]


@Service
class NeedsCache:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache


def test_an_override_of_the_cache_is_followed(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(NeedsCache)
    replacement = Cache(Settings(config_dir=tmp_path), MemoryCacheBackend())
    GREETINGS.clear()
    with sdk.use(app.container):
        greeting("bob")
        with app.container.override(Cache, replacement):
            greeting("bob")
            assert replacement.get('greeting:["bob"]') == "hello bob"
        greeting("bob")
    assert GREETINGS == ["bob", "bob"]


def test_an_explicit_cache_wins(tmp_path: Path) -> None:
    mine = Cache(Settings(config_dir=tmp_path, cache={"key_prefix": "mine:"}))

    @cached(cache=mine, namespace="n")
    def value() -> int:
        return 1

    value()
    assert mine.backend.get("mine:n:[]") == b"1"

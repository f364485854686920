"""``@cached``: keys, methods, stampede protection, rebuilt values and which cache it uses."""

import asyncio
import inspect
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from tausestack import Service, Settings, sdk
from tausestack.sdk.cache import (
    MAX_KEY_LENGTH,
    Cache,
    CacheConfigurationError,
    InvalidCacheKeyError,
    MemoryCacheBackend,
    cached,
)
from tests.conftest import AppFactory


class User(BaseModel):
    id: int
    name: str


@dataclass
class Query:
    text: str
    tags: frozenset[str]


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(Settings(config_dir=tmp_path))


# -- stampede protection --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_async_misses_of_one_key_run_the_function_once(cache: Cache) -> None:
    calls = 0

    @cached(cache=cache)
    async def slow(key: str) -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"calls": calls}

    results = await asyncio.gather(*(slow("same") for _ in range(100)))
    assert calls == 1
    assert results == [{"calls": 1}] * 100
    assert (slow.stats().hits, slow.stats().misses) == (0, 100)
    assert await slow("same") == {"calls": 1}
    await asyncio.gather(slow("a"), slow("b"))  # other keys are not held back by each other
    assert calls == 3


def test_concurrent_sync_misses_of_one_key_run_the_function_once(cache: Cache) -> None:
    calls = 0
    start = threading.Barrier(32)

    @cached(cache=cache)
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

    @cached(cache=cache)
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
    @cached(cache=cache)
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


# -- keys -----------------------------------------------------------------------------------------


def test_equivalent_calls_share_one_key(cache: Cache) -> None:
    calls: list[tuple[int, int]] = []

    @cached(cache=cache)
    def add(x: int, y: int = 2) -> int:
        calls.append((x, y))
        return x + y

    assert add(1) == add(1, 2) == add(x=1) == add(y=2, x=1) == add(1, y=2) == 3
    assert calls == [(1, 2)]
    namespace = f"{add.__module__}.{add.__qualname__}"
    assert add.cache_key(1) == add.cache_key(x=1, y=2) == f"{namespace}:[1,2]"
    add(2)
    assert calls == [(1, 2), (2, 2)]


def test_keys_are_the_same_in_another_process() -> None:
    # String hashing is randomized per process; the keys must not depend on it.
    script = "from tests.sdk.cache.test_decorator import stable_key_call;print(stable_key_call())"
    keys = set()
    for seed in ("1", "2", "3"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=environment,
            cwd=Path(__file__).parents[3],
            check=True,
        )
        keys.add(result.stdout.strip())
    assert keys == {stable_key_call()}


@cached
def _search(query: Query, *, filters: dict[str, Any], since: date, owner: UUID, user: User) -> int:
    return 0


def stable_key_call() -> str:
    """The key of a call whose arguments hold sets, dicts, dates, UUIDs and models."""
    return _search.cache_key(
        Query("pen", frozenset({"red", "blue", "green", "ink"})),
        filters={"z": 1, "a": {"y", "x", "w"}, "m": [3, 2]},
        since=date(2026, 1, 2),
        owner=UUID(int=7),
        user=User(id=1, name="Ada"),
    )


def test_arguments_without_a_json_form_are_refused() -> None:
    @cached
    def describe(thing: object) -> str:
        return "x"

    with pytest.raises(InvalidCacheKeyError, match=r"arguments of .*describe cannot be part") as e:
        describe(object())
    assert "key=" in str(e.value)


def test_a_long_key_is_replaced_by_its_hash(cache: Cache) -> None:
    @cached(cache=cache, namespace="long")
    def echo(text: str) -> str:
        return text

    key = echo.cache_key("x" * 1000)
    assert key.startswith("long:sha256:")
    assert len(key) <= MAX_KEY_LENGTH
    assert echo("x" * 1000) == "x" * 1000
    assert echo.cache_key("x" * 1000) != echo.cache_key("x" * 999)


def test_a_key_template_names_the_entry(cache: Cache) -> None:
    @cached(cache=cache, key="user:{user_id}")
    def load(user_id: int, verbose: bool = False) -> User:
        return User(id=user_id, name="Ada")

    load(7)
    assert cache.get("user:7", type=User) == User(id=7, name="Ada")
    assert load.invalidate(user_id=7) is True
    assert cache.get("user:7") is None
    with pytest.raises(CacheConfigurationError, match="namespace="):
        load.cache_clear()


def test_a_key_callable_and_a_namespace(cache: Cache) -> None:
    @cached(cache=cache, namespace="users", key=lambda user_id, **_: f"id={user_id}")
    def load(user_id: int, verbose: bool = False) -> int:
        return user_id

    load(1, verbose=True)
    load(2)
    assert cache.get("users:id=1") == 1
    assert load.cache_clear() == 2


def test_a_key_callable_must_give_a_valid_key(cache: Cache) -> None:
    @cached(cache=cache, key=lambda text: text)
    def echo(text: str) -> str:
        return text

    with pytest.raises(InvalidCacheKeyError, match="cannot contain control characters"):
        echo("a\nb")


# -- methods --------------------------------------------------------------------------------------


class Directory:
    calls: list[int]

    def __init__(self, cache: Cache) -> None:
        self.calls = []
        self.cache = cache

    @cached(namespace="directory")
    def find(self, user_id: int) -> User:
        self.calls.append(user_id)
        return User(id=user_id, name=f"user {user_id}")

    @cached(namespace="directory-async")
    async def afind(self, user_id: int) -> User | None:
        self.calls.append(-user_id)
        return None

    @classmethod
    @cached(namespace="directory-class")
    def version(cls, major: int) -> str:
        return f"{cls.__name__} {major}"


def test_self_is_not_part_of_the_key(tmp_path: Path, make_app: AppFactory) -> None:
    app = make_app()
    with sdk.use(app.container):
        first, second = Directory(sdk.cache.current()), Directory(sdk.cache.current())
        assert first.find(1) == second.find(1) == User(id=1, name="user 1")
        assert first.calls + second.calls == [1]
        assert Directory.find.cache_key(1) == "directory:[1]"
        assert first.find.invalidate(1) is True
        second.find(1)
        assert second.calls == [1]
        assert Directory.version(3) == Directory.version(3) == "Directory 3"
        assert Directory.version.cache_key(3) == "directory-class:[3]"


@pytest.mark.anyio
async def test_async_methods(make_app: AppFactory) -> None:
    app = make_app()
    with sdk.use(app.container):
        directory = Directory(sdk.cache.current())
        assert await directory.afind(5) is None
        assert await directory.afind(5) is None
        assert directory.calls == [-5]
        assert await directory.afind.ainvalidate(5) is True


def test_cached_goes_below_classmethod_and_staticmethod() -> None:
    with pytest.raises(CacheConfigurationError, match="below @classmethod or @staticmethod"):
        cached(staticmethod(lambda: 1))  # type: ignore[arg-type]


# -- values ---------------------------------------------------------------------------------------


def test_hits_are_rebuilt_as_the_return_annotation(cache: Cache) -> None:
    @cached(cache=cache)
    def users() -> list[User]:
        return [User(id=1, name="Ada")]

    @cached(cache=cache)
    def moment() -> datetime:
        return datetime(2026, 5, 1, tzinfo=UTC)

    @cached(cache=cache)
    def raw():  # type: ignore[no-untyped-def]
        return User(id=2, name="Bob")

    assert users() == users() == [User(id=1, name="Ada")]
    assert isinstance(users()[0], User)
    assert moment() == moment() == datetime(2026, 5, 1, tzinfo=UTC)
    assert raw() == User(id=2, name="Bob")  # the miss returns what the function returned
    assert raw() == {"id": 2, "name": "Bob"}  # without an annotation, a hit is JSON


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
    @cached(cache=cache)
    def broken() -> "Missing":  # type: ignore[name-defined] # noqa: F821
        return 1

    with pytest.raises(CacheConfigurationError, match="cannot read the return annotation"):
        broken()


def test_the_wrapper_looks_like_the_function() -> None:
    @cached
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


def test_json_keys_are_readable() -> None:
    # Keys are plain JSON after the namespace, so an operator can find them in Redis.
    assert json.loads(stable_key_call().partition(":")[2])[1] == {
        "a": sorted(json.dumps(item) for item in ["w", "x", "y"]),
        "m": [3, 2],
        "z": 1,
    }

"""``@cached`` keys: stable across processes, unambiguous, valid, and ``key=`` forms."""

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from tausestack import Settings
from tausestack.sdk.cache import (
    MAX_KEY_LENGTH,
    Cache,
    CacheConfigurationError,
    InvalidCacheKeyError,
    cached,
)
from tausestack.sdk.cache._keys import key_problem


class User(BaseModel):
    id: int
    name: str


class Tagged(BaseModel):
    tags: set[str]
    owner: User
    nested: dict[str, frozenset[str]]


@dataclass
class Query:
    text: str
    tags: frozenset[str]


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(Settings(config_dir=tmp_path))


WORDS = {"red", "blue", "green", "ink", "amber", "teal", "navy", "plum", "rose", "sand"}


# -- arguments ------------------------------------------------------------------------------------


def test_equivalent_calls_share_one_key(cache: Cache) -> None:
    calls: list[tuple[int, int]] = []

    @cached(cache=cache, namespace="add")
    def add(x: int, y: int = 2) -> int:
        calls.append((x, y))
        return x + y

    assert add(1) == add(1, 2) == add(x=1) == add(y=2, x=1) == add(1, y=2) == 3
    assert calls == [(1, 2)]
    assert add.cache_key(1) == add.cache_key(x=1, y=2) == "add:[1,2]"
    add(2)
    assert calls == [(1, 2), (2, 2)]


def test_keys_are_the_same_in_another_process() -> None:
    # String hashing is randomized per process; the keys must not depend on it.
    script = "from tests.sdk.cache.test_cached_keys import stable_key_call;print(stable_key_call())"
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
def _search(
    query: Query, *, filters: dict[str, Any], since: date, owner: UUID, user: User, tagged: Tagged
) -> int:
    return 0


def stable_key_call() -> str:
    """The key of a call whose arguments hold sets (in models too), dicts, dates, UUIDs."""
    return _search.cache_key(
        Query("pen", frozenset(WORDS)),
        filters={"z": 1, "a": {"y", "x", "w"}, "m": [3, 2]},
        since=date(2026, 1, 2),
        owner=UUID(int=7),
        user=User(id=1, name="Ada"),
        tagged=Tagged(tags=WORDS, owner=User(id=2, name="Bob"), nested={"k": frozenset(WORDS)}),
    )


def test_arguments_without_a_json_form_are_refused() -> None:
    @cached(namespace="describe")
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


def test_json_keys_are_readable() -> None:
    # Keys are plain JSON after the namespace, so an operator can find them in Redis.
    assert stable_key_call().startswith(f"{_search.__module__}._search:sha256:")  # long

    @cached(namespace="short")
    def short(filters: dict[str, Any], tagged: Tagged) -> int:
        return 0

    key = short.cache_key(
        {"z": 1, "a": {"y", "x", "w"}, "m": [3, 2]},
        Tagged(tags={"b", "a"}, owner=User(id=2, name="Bob"), nested={}),
    )
    arguments = json.loads(key.partition(":")[2])
    assert arguments[0] == {"a": sorted(json.dumps(item) for item in "wxy"), "m": [3, 2], "z": 1}
    assert arguments[1]["tags"] == ['"a"', '"b"']


# -- unambiguous and valid ------------------------------------------------------------------------


def test_values_json_confuses_get_keys_of_their_own() -> None:
    @cached(namespace="values")
    def echo(value: Any) -> Any:
        return value

    values = [None, math.nan, math.inf, -math.inf, "NaN", [None], [math.nan], {"x": math.nan}]
    values += [{1: "a"}, {"1": "a"}, {True: "a"}, {None: "a"}, {"null": "a"}, {(1, 2): "a"}]
    keys = [echo.cache_key(value) for value in values]
    assert len(set(keys)) == len(values), keys
    assert echo.cache_key(math.nan) == echo.cache_key(float("nan"))  # stable
    assert echo.cache_key({2: "b", 1: "a"}) == echo.cache_key({1: "a", 2: "b"})
    assert all(key_problem(key) is None for key in keys)


def test_a_nan_inside_a_model_is_not_none(cache: Cache) -> None:
    class Reading(BaseModel):
        value: float | None

    @cached(cache=cache, namespace="reading")
    def show(reading: Reading) -> str:
        return repr(reading.value)

    assert show(Reading(value=None)) == "None"
    assert show(Reading(value=math.nan)) == "nan"


@pytest.mark.parametrize("text", ["zero\u200bwidth", "del\x7f", "line\nbreak", "tag\U000e0001"])
def test_keys_of_unprintable_arguments_are_valid(cache: Cache, text: str) -> None:
    @cached(cache=cache, namespace="echo")
    def echo(value: str) -> str:
        return value

    key = echo.cache_key(text)
    assert key_problem(key) is None, key
    assert json.loads(key.partition(":")[2]) == [text]  # still the arguments' JSON
    assert echo(text) == echo(text) == text
    assert echo.stats().hits == 1


@pytest.mark.parametrize("namespace", ["line\nbreak", "", "tab\t", "x" * 179])
def test_a_bad_namespace_is_refused_at_decoration(namespace: str) -> None:
    with pytest.raises(CacheConfigurationError, match="namespace="):

        @cached(namespace=namespace)
        def anything() -> int:
            return 1


def test_the_longest_namespace_still_gives_valid_keys(cache: Cache) -> None:
    @cached(cache=cache, namespace="n" * 178)
    def echo(text: str) -> str:
        return text

    key = echo.cache_key("x" * 500)
    assert len(key) <= MAX_KEY_LENGTH
    assert echo("x" * 500) == "x" * 500


def test_a_custom_key_longer_than_the_limit_with_its_namespace_is_refused(cache: Cache) -> None:
    @cached(cache=cache, namespace="n" * 100, key=lambda text: text)
    def echo(text: str) -> str:
        return text

    with pytest.raises(InvalidCacheKeyError, match="at most 250"):
        echo("x" * 200)


# -- key= -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("user:{uid}", "'uid', not a parameter"),
        ("user:{0}", "positional field"),
        ("user:{}", "positional field"),
        ("user:{user_id", "not a valid template"),
    ],
)
def test_a_bad_key_template_is_refused_at_decoration(template: str, message: str) -> None:
    with pytest.raises(CacheConfigurationError, match=message) as caught:

        @cached(key=template)
        def load(user_id: int) -> int:
            return user_id

    assert "{user_id}" in str(caught.value) or "valid template" in message


def test_a_key_template_may_reach_into_arguments(cache: Cache) -> None:
    @cached(cache=cache, key="user:{user.id}:{user.name}")
    def greet(user: User) -> str:
        return f"hi {user.name}"

    assert greet(User(id=3, name="Ada")) == "hi Ada"
    assert cache.get("user:3:Ada") == "hi Ada"

"""Cache settings: which backend, third-party backends, configuration errors, the public API."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tausestack.sdk.cache
from tausestack import Settings
from tausestack.sdk.cache import (
    AbstractCacheBackend,
    Cache,
    CacheConfigurationError,
    CacheConnectionError,
    MemoryCacheBackend,
)
from tausestack.sdk.cache.disk import DiskCacheBackend
from tausestack.sdk.cache.redis import RedisCacheBackend


def build(tmp_path: Path, **cache: Any) -> Cache:
    return Cache(Settings(config_dir=tmp_path, cache=cache))


class DictBackend(AbstractCacheBackend):
    """A third-party backend written against the interface: sync methods only."""

    name = "dict"

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.threads: set[str] = set()

    def get(self, key: str) -> bytes | None:
        self.threads.add(threading.current_thread().name)
        return self.data.get(key)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.data.get(key) for key in keys]

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        self.data[key] = data

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        self.data.update(items)

    def delete(self, keys: Sequence[str]) -> int:
        return sum(self.data.pop(key, None) is not None for key in keys)

    def clear(self, prefix: str) -> int:
        doomed = [key for key in self.data if key.startswith(prefix)]
        for key in doomed:
            del self.data[key]
        return len(doomed)

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        value = int(self.data.get(key, b"0")) + delta
        self.data[key] = str(value).encode()
        return value


class NotABackend:
    pass


# -- choosing the backend -----------------------------------------------------------------------


def test_memory_is_the_default(tmp_path: Path) -> None:
    cache = build(tmp_path)
    assert isinstance(cache.backend, MemoryCacheBackend)
    assert cache.backend.max_items == 10_000
    assert (cache.key_prefix, cache.default_ttl, cache.serializer.name) == (
        "tausestack:",
        300.0,
        "json",
    )


def test_the_disk_folder_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    cache = build(tmp_path, backend="disk", disk={"directory": "var/cache"})
    assert isinstance(cache.backend, DiskCacheBackend)
    assert cache.backend.directory == tmp_path / "var/cache"
    assert not (tmp_path / "var").exists()  # created on first use, not when the app is built
    cache.set("k", 1)
    assert (tmp_path / "var/cache").is_dir()
    cache.close()
    absolute = build(tmp_path, backend="disk", disk={"directory": str(tmp_path / "abs")})
    assert absolute.backend.directory == tmp_path / "abs"  # type: ignore[attr-defined]


def test_settings_come_from_yaml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "application.yaml").write_text(
        "cache:\n  backend: redis\n  redis:\n    url: redis://:pw@cache.internal:6380/2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TAUSESTACK_CACHE__KEY_PREFIX", "shop:")
    monkeypatch.setenv("TAUSESTACK_CACHE__REDIS__MAX_CONNECTIONS", "7")
    cache = Cache(Settings(config_dir=tmp_path))
    assert isinstance(cache.backend, RedisCacheBackend)
    assert cache.backend.max_connections == 7
    assert cache.key_prefix == "shop:"
    assert cache.describe() == "redis cache at redis://:***@cache.internal:6380/2"


def test_a_backend_by_dotted_path(tmp_path: Path) -> None:
    cache = build(tmp_path, backend="tests.sdk.cache.test_cache_config:DictBackend")
    assert isinstance(cache.backend, DictBackend)
    cache.set("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    assert cache.describe() == "dict cache"


def test_a_third_party_backend_gets_async_twins_in_worker_threads(tmp_path: Path) -> None:
    cache = build(tmp_path, backend="tests.sdk.cache.test_cache_config.DictBackend")

    async def use() -> Any:
        await cache.aset("k", [1, 2])
        assert await cache.aincr("n", 2) == 2
        return await cache.aget("k")

    assert asyncio.run(use()) == [1, 2]
    backend = cache.backend
    assert isinstance(backend, DictBackend)
    assert threading.main_thread().name not in backend.threads


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("tests.sdk.cache.nowhere:Backend", "cannot be imported"),
        ("tests.sdk.cache.test_cache_config:Missing", "cannot be imported"),
        ("tests.sdk.cache.test_cache_config:NotABackend", "is not a subclass"),
        ("Memory", "cannot be imported"),
    ],
)
def test_a_bad_backend_path_is_a_clear_error(tmp_path: Path, backend: str, message: str) -> None:
    with pytest.raises(CacheConfigurationError, match=message) as caught:
        build(tmp_path, backend=backend)
    assert "'memory', 'disk'" in str(caught.value)
    assert "(set in code (Settings(cache=...)))" in str(caught.value)


def test_a_missing_library_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    monkeypatch.delitem(sys.modules, "tausestack.sdk.cache.redis")
    with pytest.raises(CacheConfigurationError) as caught:
        build(tmp_path, backend="redis")
    assert "needs the redis library" in str(caught.value)
    assert "pip install 'tausestack[redis]'" in str(caught.value)


def test_a_malformed_redis_url_is_refused_with_the_password_hidden(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigurationError) as caught:
        build(tmp_path, backend="redis", redis={"url": "http://user:s3cret@host/0"})
    assert "'http://user:***@host/0' (set in code (Settings(cache=...))) is not a Redis URL" in str(
        caught.value
    )
    assert "s3cret" not in str(caught.value)


def test_an_unwritable_disk_folder_fails_at_startup(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    cache = build(tmp_path, backend="disk", disk={"directory": "file/cache"})
    with pytest.raises(CacheConnectionError, match=r"Cannot open the disk cache in .*file/cache"):
        asyncio.run(cache.start())


def test_clear_refuses_an_empty_prefix(tmp_path: Path) -> None:
    cache = build(tmp_path, key_prefix="")
    cache.set("k", 1)
    with pytest.raises(CacheConfigurationError, match="would remove every key"):
        cache.clear()
    assert cache.get("k") == 1


# -- public API -----------------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    module: ModuleType = tausestack.sdk.cache
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda name: (not name.isupper(), name))  # ruff's
    assert all(hasattr(module, name) for name in exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and str(getattr(value, "__module__", "")).startswith(module.__name__)
    }
    assert public <= set(exported), public - set(exported)


def test_using_the_memory_cache_imports_no_optional_library(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    for name in ("redis", "diskcache"):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text("", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, sys
        from tausestack import Service, Settings, create_app
        from tausestack.sdk import cache
        from tausestack.sdk.cache import Cache, cached

        @Service
        class Greeter:
            def __init__(self, cache: Cache) -> None:
                self.cache = cache

            @cached(ttl=5)
            def greet(self, name: str) -> str:
                return "hi " + name

        app = create_app(Settings(config_dir={str(tmp_path)!r}), components=[Greeter])
        from tausestack.sdk import use
        with use(app.container):
            assert app.container.get(Greeter).greet("a") == "hi a"
            cache.set("k", 1)
            assert cache.get("k") == 1
        print(json.dumps([name for name in ("redis", "diskcache") if name in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(stubs)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []

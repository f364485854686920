"""The memory backend: LRU eviction, expired entries first, copies, and safety under threads."""

import threading
import time
from pathlib import Path
from typing import Any

from tausestack import Settings
from tausestack.sdk.cache import Cache, MemoryCacheBackend


def build(tmp_path: Path, **cache: Any) -> Cache:
    return Cache(Settings(config_dir=tmp_path, cache=cache))


def test_memory_keeps_the_most_recently_used_items(tmp_path: Path) -> None:
    cache = build(tmp_path, memory={"max_items": 3})
    cache.set_many({"a": 1, "b": 2, "c": 3})
    cache.get("a")  # a is now the most recently used
    cache.set("d", 4)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    backend = cache.backend
    assert isinstance(backend, MemoryCacheBackend)
    assert backend.count() == 3


def test_memory_returns_copies(tmp_path: Path) -> None:
    cache = build(tmp_path)
    value = {"items": [1]}
    cache.set("k", value)
    value["items"].append(2)
    cache.get("k")["items"].append(3)
    assert cache.get("k") == {"items": [1]}


def test_expired_entries_go_before_live_ones(tmp_path: Path) -> None:
    cache = build(tmp_path, memory={"max_items": 4})
    cache.set("live-1", 1, ttl=60)
    cache.set_many({"short-1": 0, "short-2": 0, "short-3": 0}, ttl=0.05)
    time.sleep(0.1)
    cache.set("live-2", 2, ttl=60)  # over capacity: the three expired ones go, not live-1
    cache.set("live-3", 3)
    assert cache.get_many(["live-1", "live-2", "live-3"]) == {"live-1": 1, "live-2": 2, "live-3": 3}
    backend = cache.backend
    assert isinstance(backend, MemoryCacheBackend)
    assert backend.count() == 3


def test_overwritten_entries_do_not_grow_the_expiry_heap(tmp_path: Path) -> None:
    backend = MemoryCacheBackend(max_items=10)
    for round_ in range(5000):
        backend.set(f"k{round_ % 5}", b"1", 60)
    assert backend.count() == 5
    assert len(backend._expiries) <= 2 * 5 + 64  # rebuilt from the live entries


def test_clear_while_other_threads_read(tmp_path: Path) -> None:
    backend = MemoryCacheBackend(max_items=100_000)
    keys = [f"app:{index}" for index in range(20_000)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                for key in keys[::97]:
                    backend.get(key)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(15):
            backend.set_many([(key, b"1") for key in keys], None)
            backend.clear("app:")
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert errors == []
    assert backend.count() == 0

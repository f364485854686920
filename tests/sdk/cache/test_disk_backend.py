"""The disk backend never unpickles what it reads, whoever wrote the folder (CVE-2025-69872).

diskcache (through 5.6.3) unpickles an entry whose ``mode`` column says "pickle" (the value in
its SQLite index or in a file of the folder) and every key stored as a pickle (``raw = 0``),
whatever wrote them. Each test plays someone who can write the cache folder: it plants a pickle
whose loading creates a folder, at one of those places, then has the backend read it through
each of its operations. The folder must never appear, and the planted entry reads as a miss.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tausestack.sdk.cache.disk import DiskCacheBackend

MODE_RAW, MODE_BINARY, MODE_PICKLE = 1, 2, 4  # diskcache's values of the ``mode`` column


class Payload:
    """Unpickling it runs ``os.mkdir(marker)``: the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return os.mkdir, (str(self.marker),)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[DiskCacheBackend]:
    cache = DiskCacheBackend(tmp_path / "cache")
    yield cache
    cache.close()


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


def index(backend: DiskCacheBackend) -> sqlite3.Connection:
    """The folder's SQLite index, opened as an attacker would (its own connection)."""
    return sqlite3.connect(backend.directory / "cache.db", isolation_level=None)


def plant_value(backend: DiskCacheBackend, key: str, payload: bytes, *, in_file: bool) -> None:
    """Turn ``key``'s entry into a pickle: in the index, or in a file the index points at."""
    with index(backend) as database:
        if in_file:
            name = "ab/cd/" + "e" * 28 + ".val"
            (backend.directory / "ab" / "cd").mkdir(parents=True, exist_ok=True)
            (backend.directory / name).write_bytes(payload)
            database.execute(
                "UPDATE Cache SET mode = ?, filename = ?, value = NULL WHERE key = ?",
                (MODE_PICKLE, name, key),
            )
        else:
            database.execute(
                "UPDATE Cache SET mode = ?, filename = NULL, value = ? WHERE key = ?",
                (MODE_PICKLE, payload, key),
            )


def plant_key(backend: DiskCacheBackend, payload: bytes) -> None:
    """Add an entry whose key is a pickle (``raw = 0``), as diskcache stores a tuple key."""
    now = time.time()
    with index(backend) as database:
        database.execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 0, ?, NULL, ?, 0, NULL, 0, ?, NULL, ?)",
            (payload, now, now, MODE_RAW, b"1"),
        )


READS: dict[str, Callable[[DiskCacheBackend, str], object]] = {
    "get": lambda backend, key: backend.get(key),
    "get_many": lambda backend, key: backend.get_many([key])[0],
    "incr": lambda backend, key: backend.incr(key, 1, None),
}


@pytest.mark.parametrize("in_file", [False, True], ids=["in-the-index", "in-a-file"])
@pytest.mark.parametrize("read", list(READS))
def test_a_planted_pickle_value_is_never_unpickled(
    backend: DiskCacheBackend, marker: Path, read: str, in_file: bool
) -> None:
    backend.set("k", b"7", None)
    plant_value(backend, "k", pickle.dumps(Payload(marker)), in_file=in_file)

    answer = READS[read](backend, "k")

    assert not marker.exists(), "the planted pickle ran"
    assert answer == (1 if read == "incr" else None)  # a miss: incr starts again from 0


@pytest.mark.parametrize("in_file", [False, True], ids=["in-the-index", "in-a-file"])
def test_a_pickle_planted_in_a_held_lock_is_never_unpickled(
    backend: DiskCacheBackend, marker: Path, in_file: bool
) -> None:
    with backend.lock("lock:k", timeout=5) as acquired:
        assert acquired
        plant_value(backend, "lock:k", pickle.dumps(Payload(marker)), in_file=in_file)
    # Leaving the block reads the entry to free the lock only if it still holds this token.

    assert not marker.exists(), "the planted pickle ran"


def test_a_planted_pickle_key_is_never_unpickled(backend: DiskCacheBackend, marker: Path) -> None:
    backend.set_many([("app:a", b"1"), ("app:b", b"2"), ("other:c", b"3")], None)
    plant_key(backend, pickle.dumps(Payload(marker)))

    removed = backend.clear("app:")

    assert not marker.exists(), "the planted pickle ran"
    assert removed == 2
    assert backend.get_many(["app:a", "app:b", "other:c"]) == [None, None, b"3"]
    assert backend.clear("") == 1  # every key of ours; the planted one is not ours to count


def test_a_planted_path_is_neither_read_nor_removed(
    backend: DiskCacheBackend, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b'{"password": "s3cret"}')
    backend.set("k", b"7", None)
    with index(backend) as database:
        database.execute(
            "UPDATE Cache SET mode = ?, filename = ?, value = NULL WHERE key = 'k'",
            (MODE_BINARY, str(secret)),
        )

    assert backend.get("k") is None
    assert backend.delete(["k"]) == 1
    assert secret.read_bytes() == b'{"password": "s3cret"}'


def test_large_values_stay_in_the_index(backend: DiskCacheBackend) -> None:
    large = os.urandom(256 * 1024)  # diskcache would put it in a file of its own
    backend.set("large", large, None)

    assert backend.get("large") == large
    files = [path for path in backend.directory.rglob("*") if path.is_file()]
    assert all(path.name.startswith("cache.db") for path in files), files


def test_the_folder_is_private_to_its_owner(backend: DiskCacheBackend) -> None:
    backend.ping()
    assert stat.S_IMODE(backend.directory.stat().st_mode) == 0o700


def test_only_bytes_under_str_keys_are_stored(backend: DiskCacheBackend) -> None:
    with pytest.raises(TypeError, match="stores bytes, not dict"):
        backend.set("k", {"a": 1}, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys are str, not tuple"):
        backend.cache.set(("a", 1), b"1")
    assert backend.get("k") is None

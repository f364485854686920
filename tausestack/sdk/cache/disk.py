"""The ``disk`` backend: a folder managed by diskcache (an SQLite index that holds the values).

Correct for every process on one machine that points at the same folder: diskcache takes
SQLite's locks, so writes from several workers are atomic and each one sees the others'
entries. It is not shared between machines (use ``redis``). The folder is created on first use
(at startup, when the application checks its cache), readable by its owner only.

diskcache rather than a hand-written file store: it already handles concurrent writers,
expiry, a size limit with eviction, and crash safety (SQLite's write-ahead log). The library
is blocking, so the async twins run it in worker threads (see :mod:`.base`).

diskcache (through 5.6.3, CVE-2025-69872) unpickles any entry its index marks as a pickle, and
any key stored as one, whoever wrote them: someone who can write the folder could run code in
the app. This backend only ever stores ``str`` keys and ``bytes`` values (the serializer's
output), and opens the folder with :class:`_BytesOnlyDisk`, which keeps every value inside the
index and reads back nothing else: a pickled, textual or file-backed entry, or a pickled key,
is a miss (never unpickled, never opened). tests/sdk/cache/test_disk_backend.py plants them.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import diskcache

from ._locks import arenewing, renewing
from .base import AbstractCacheBackend, in_thread
from .errors import CacheConnectionError, CacheValueError

if TYPE_CHECKING:
    from typing import Self

    from ...settings import Settings

__all__ = ["DiskCacheBackend"]

_POLL = 0.005  # seconds between two attempts to take a held lock
_DELETE_BATCH = 500
#: A file diskcache named (``ab/cd/<28 hex>.val``): the only kind this backend ever removes.
_DISKCACHE_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")


class _BytesOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache's storage of keys and values, limited to ``str`` keys and ``bytes`` values kept
    in the index: nothing is pickled, and nothing read from the folder is ever unpickled.

    Entries in another form (diskcache's pickles, text or files, a key stored as a pickle) were
    not written by this backend: they read as misses, and their keys as ``bytes``, which no
    prefix of ours matches. A file is removed only under a name diskcache itself gives files
    (those of a cache written before values were kept in the index).
    """

    def put(self, key: object) -> tuple[object, bool]:
        if type(key) is not str:
            raise TypeError(
                f"The disk cache's keys are str, not {type(key).__name__}: go through Cache, "
                "which makes them."
            )
        return key, True

    def get(self, key: object, raw: bool) -> object:
        if raw:
            return bytes(key) if isinstance(key, bytes | memoryview) else key
        return b""  # a pickled key: not one of ours, and never unpickled

    def store(
        self, value: object, read: bool, key: object = diskcache.core.UNKNOWN
    ) -> tuple[int, int, None, sqlite3.Binary]:
        if type(value) is not bytes:
            raise TypeError(
                f"The disk cache stores bytes, not {type(value).__name__}: go through Cache, "
                "whose serializer makes them."
            )
        return 0, diskcache.core.MODE_RAW, None, sqlite3.Binary(value)

    def fetch(self, mode: int, filename: str | None, value: object, read: bool) -> bytes | None:
        if mode == diskcache.core.MODE_RAW and isinstance(value, bytes | memoryview):
            return bytes(value)
        return None  # pickled, text or in a file: not written by this backend

    def remove(self, file_path: str) -> None:
        if isinstance(file_path, str) and _DISKCACHE_FILE.fullmatch(file_path):
            super().remove(file_path)


class DiskCacheBackend(AbstractCacheBackend):
    """Entries in ``directory``, evicted (least recently stored first) past ``size_limit`` bytes.

    Args:
        directory: the folder (created when first used).
        size_limit: the folder's approximate maximum size in bytes.
    """

    name = "disk"

    def __init__(self, directory: str | Path, *, size_limit: int = 1024**3) -> None:
        self.directory = Path(directory)
        self.size_limit = size_limit
        self._cache: diskcache.Cache | None = None
        self._opening = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Read ``cache.disk``; a relative ``directory`` is relative to the config folder."""
        disk = settings.cache.disk
        return cls(settings.config_dir / disk.directory, size_limit=disk.size_limit)

    def describe(self) -> str:
        return f"disk cache in {self.directory}"

    @property
    def cache(self) -> diskcache.Cache:
        """The diskcache ``Cache`` (opened, and the folder created, on first use)."""
        cache = self._cache
        if cache is None:
            with self._opening:
                if self._cache is None:
                    self._cache = self._open()
                cache = self._cache
        return cache

    def _open(self) -> diskcache.Cache:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            return diskcache.Cache(
                str(self.directory),
                size_limit=self.size_limit,
                disk=_BytesOnlyDisk,
                # As documented, whatever policy the folder's own Settings table names.
                eviction_policy="least-recently-stored",
            )
        except (OSError, sqlite3.Error) as exc:
            raise CacheConnectionError(
                f"Cannot open the disk cache in {self.directory}: {exc}. Point "
                "cache.disk.directory at a folder this process can create and write."
            ) from None

    # -- storage --------------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        data = self.cache.get(key, retry=True)
        return data if isinstance(data, bytes) else None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        cache = self.cache
        found = [cache.get(key, retry=True) for key in keys]
        return [data if isinstance(data, bytes) else None for data in found]

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        self.cache.set(key, data, expire=ttl, retry=True)

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        cache = self.cache
        with cache.transact(retry=True):
            for key, data in items:
                cache.set(key, data, expire=ttl, retry=True)

    def delete(self, keys: Sequence[str]) -> int:
        cache = self.cache
        with cache.transact(retry=True):
            return sum(bool(cache.delete(key, retry=True)) for key in keys)

    def clear(self, prefix: str) -> int:
        cache = self.cache
        doomed = [
            key for key in cache.iterkeys() if isinstance(key, str) and key.startswith(prefix)
        ]
        removed = 0
        for start in range(0, len(doomed), _DELETE_BATCH):
            removed += self.delete(doomed[start : start + _DELETE_BATCH])
        return removed

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        cache = self.cache
        with cache.transact(retry=True):
            data, expire_time = cache.get(key, expire_time=True, retry=True)
            if data is None:
                current, expire = 0, ttl
            else:
                current = _integer(key, data)
                expire = None if expire_time is None else max(expire_time - time.time(), 0.001)
            value = current + delta
            cache.set(key, str(value).encode("ascii"), expire=expire, retry=True)
        return value

    # -- locks ----------------------------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, timeout: float) -> Iterator[bool]:
        token = uuid.uuid4().hex.encode("ascii")
        deadline = time.monotonic() + timeout
        acquired = self._try_lock(name, token, timeout)
        while not acquired and time.monotonic() < deadline:
            time.sleep(_POLL)
            acquired = self._try_lock(name, token, timeout)
        if not acquired:
            yield False
            return
        try:
            with renewing(lambda: self._extend(name, token, timeout), timeout):
                yield True
        finally:
            self._unlock(name, token)

    @asynccontextmanager
    async def alock(self, name: str, timeout: float) -> AsyncIterator[bool]:
        token = uuid.uuid4().hex.encode("ascii")
        deadline = time.monotonic() + timeout
        acquired = await in_thread(self._try_lock, name, token, timeout)
        while not acquired and time.monotonic() < deadline:
            await asyncio.sleep(_POLL)
            acquired = await in_thread(self._try_lock, name, token, timeout)
        if not acquired:
            yield False
            return

        async def extend() -> bool:
            return await in_thread(self._extend, name, token, timeout)

        try:
            async with arenewing(extend, timeout):
                yield True
        finally:
            await in_thread(self._unlock, name, token)

    def _try_lock(self, name: str, token: bytes, timeout: float) -> bool:
        return bool(self.cache.add(name, token, expire=timeout, retry=True))

    def _extend(self, name: str, token: bytes, timeout: float) -> bool:
        cache = self.cache
        with cache.transact(retry=True):
            if cache.get(name, retry=True) != token:  # expired and taken by someone else
                return False
            return bool(cache.touch(name, expire=timeout, retry=True))

    def _unlock(self, name: str, token: bytes) -> None:
        cache = self.cache
        with cache.transact(retry=True):
            if cache.get(name, retry=True) == token:  # not someone else's after it expired
                cache.delete(name, retry=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def ping(self) -> None:
        """Open the folder (creating it), so a folder that cannot be written fails at startup."""
        _ = self.cache

    def close(self) -> None:
        with self._opening:
            cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()


def _integer(key: str, data: object) -> int:
    try:
        return int(data if isinstance(data, bytes | str | int) else "not an integer")
    except ValueError:
        raise CacheValueError(
            f"incr({key!r}) on the disk cache: the stored value is not an integer. Delete the "
            "key or store an int under it first."
        ) from None

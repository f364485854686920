"""The ``memory`` backend: a bounded LRU dictionary in this process, with a TTL per entry.

Correct for one process only: each worker has its own copy, so an ``invalidate`` in one worker
leaves the others' entries in place until they expire. Use ``disk`` (one machine) or ``redis``
(several machines) when more than one process serves the application.

Entries are stored serialized, like on every other backend (Django's local-memory cache does
the same): a value read back is a fresh copy that callers may change freely, and a value the
configured serializer cannot store fails here in development as it would in production.

Writes take a lock; a hit does not (see :meth:`MemoryCacheBackend.get`), so nothing iterates
the ``OrderedDict`` in Python code while another thread may reorder it: keys are copied with
one ``list()`` call first. This relies on the GIL. When the dictionary is full, expired entries
go first (a heap of expiry times finds them), then the least recently used ones.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .base import AbstractCacheBackend
from .errors import CacheValueError

if TYPE_CHECKING:
    from typing import Self

    from ...settings import Settings

__all__ = ["MemoryCacheBackend"]

_Entry = tuple[bytes, float | None]  # (data, monotonic expiry time or None)


class MemoryCacheBackend(AbstractCacheBackend):
    """At most ``max_items`` entries; the least recently used one goes first. Thread-safe."""

    name = "memory"

    def __init__(self, max_items: int = 10_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # (expiry, key) of entries stored with a ttl; stale pairs (overwritten, deleted) are
        # skipped when popped, and the heap is rebuilt when they outnumber the live ones.
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Read ``cache.memory.max_items``."""
        return cls(max_items=settings.cache.memory.max_items)

    def count(self) -> int:
        """How many entries are held (expired ones too, until they are read or evicted)."""
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        # Every hit comes here, so no lock (it would cost about 250 ns of a ~250 ns lookup on
        # the benchmark VM): each OrderedDict call below is atomic on its own under the GIL (C
        # code, str keys), and nothing iterates the dictionary in Python code (see clear()).
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            return None
        expires = entry[1]
        if expires is not None and expires <= time.monotonic():
            with self._lock:
                if entries.get(key) is entry:
                    del entries[key]
            return None
        try:  # noqa: SIM105 - contextlib.suppress costs more than the rest of a hit
            entries.move_to_end(key)
        except KeyError:  # deleted or evicted by another thread just now
            pass
        return entry[0]

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        with self._lock:
            return [self._live(key, now) for key in keys]

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._store(key, (data, expires))

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            for key, data in items:
                self._store(key, (data, expires))

    def delete(self, keys: Sequence[str]) -> int:
        now = time.monotonic()
        with self._lock:
            found = sum(self._live(key, now) is not None for key in keys)
            for key in keys:
                self._entries.pop(key, None)
            return found

    def clear(self, prefix: str) -> int:
        with self._lock:
            # list() copies the keys in one C call; iterating the OrderedDict itself in Python
            # would fail ("mutated during iteration") when a get() moves a key meanwhile.
            doomed = [key for key in list(self._entries) if key.startswith(prefix)]
            for key in doomed:
                del self._entries[key]
            return len(doomed)

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        now = time.monotonic()
        with self._lock:
            data = self._live(key, now)
            if data is None:
                current, expires = 0, None if ttl is None else now + ttl
            else:
                current, expires = _integer(key, data), self._entries[key][1]
            value = current + delta
            self._store(key, (str(value).encode("ascii"), expires))
            return value

    # The async twins do no I/O: calling the sync method directly beats a thread hop.

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aget_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.get_many(keys)

    async def aset(self, key: str, data: bytes, ttl: float | None) -> None:
        self.set(key, data, ttl)

    async def aset_many(self, items: Sequence[tuple[str, bytes]], ttl: float | None) -> None:
        self.set_many(items, ttl)

    async def adelete(self, keys: Sequence[str]) -> int:
        return self.delete(keys)

    async def aclear(self, prefix: str) -> int:
        return self.clear(prefix)

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        return self.incr(key, delta, ttl)

    async def aping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    # -- helpers (called with the lock held) ----------------------------------------------------

    def _live(self, key: str, now: float) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires = entry[1]
        if expires is not None and expires <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def _store(self, key: str, entry: _Entry) -> None:
        entries = self._entries
        entries[key] = entry
        entries.move_to_end(key)
        expires = entry[1]
        if expires is not None:
            heapq.heappush(self._expiries, (expires, key))
            if len(self._expiries) > 2 * len(entries) + 64:
                live = list(entries.items())  # one C call: see clear()
                self._expiries = [(e[1], k) for k, e in live if e[1] is not None]
                heapq.heapify(self._expiries)
        if len(entries) > self.max_items:
            self._purge_expired(time.monotonic())
            while len(entries) > self.max_items:
                entries.popitem(last=False)

    def _purge_expired(self, now: float) -> None:
        """Remove the expired entries (each heap pair is popped once: amortized O(log n))."""
        entries, expiries = self._entries, self._expiries
        while expiries and expiries[0][0] <= now:
            expires, key = heapq.heappop(expiries)
            entry = entries.get(key)
            if entry is not None and entry[1] == expires:
                del entries[key]


def _integer(key: str, data: bytes) -> int:
    try:
        return int(data)
    except ValueError:
        raise CacheValueError(
            f"incr({key!r}) on the memory cache: the stored value is not an integer "
            f"({data[:40]!r}). Delete the key or store an int under it first."
        ) from None

"""``Cache``: the application's cache — keys, serialization and statistics over a backend."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

from pydantic import ValidationError

from ...settings import Settings
from ..settings import CacheSettings
from ._backends import build_backend, source_of
from ._keys import MAX_KEY_LENGTH, invalid_key, key_problem
from ._serializers import SERIALIZERS, Serializer, decoder_for
from .base import AbstractCacheBackend
from .errors import CacheConfigurationError, CacheSerializationError, CacheValueError

__all__ = ["DEFAULT_TTL", "LOCK_PREFIX", "MAX_TTL", "TTL", "Cache", "CacheStats", "checked_ttl"]

#: The longest ttl, in seconds (10 years): every backend can hold it (Redis counts in
#: milliseconds), and a longer one is almost surely a unit mistake.
MAX_TTL = 10 * 365 * 24 * 3600
#: What ``@cached``'s locks are named with, before the entry's full key: outside
#: ``key_prefix``, so ``clear()`` and ``cache_clear()`` never remove a lock someone holds.
LOCK_PREFIX = "lock:"


class _Default(enum.Enum):
    TTL = "the cache's default_ttl"


#: Means "``cache.default_ttl``" where a ``ttl`` is expected (the default of every ``ttl=``).
DEFAULT_TTL: Final = _Default.TTL
#: Seconds (or a ``timedelta``) an entry lives; None: until evicted.
TTL = float | timedelta | None | Literal[_Default.TTL]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Hits and misses counted since the cache (or the function) was created or reset."""

    hits: int
    misses: int

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class Cache:
    """The cache of one application: the configured backend behind one interface.

    Injectable by type; the ``tausestack.sdk.cache`` functions and ``@cached`` use it for you.
    Keys are strings (at most 250 printable characters) stored under ``cache.key_prefix``;
    values are serialized with ``cache.serializer`` (JSON by default) on every backend::

        cache.set("rates:EUR", rates, ttl=60)
        rates = cache.get("rates:EUR")              # JSON types back (dicts, lists, str...)
        user = await cache.aget("user:1", type=UserRead)   # rebuilt as a UserRead

    Args:
        settings: the application settings (``settings.cache`` is used).
        backend: the backend to use; by default the one ``cache.backend`` names.
    """

    def __init__(self, settings: Settings, backend: AbstractCacheBackend | None = None) -> None:
        options: CacheSettings = settings.cache
        self.settings = options
        self.key_prefix = _checked_prefix(options.key_prefix, settings)
        self.default_ttl = _checked_setting(settings, "default_ttl", options.default_ttl)
        lock_timeout = _checked_setting(settings, "lock_timeout", options.redis.lock_timeout)
        self.lock_timeout: float = lock_timeout or options.redis.lock_timeout
        self.backend = backend if backend is not None else build_backend(settings)
        self.serializer: Serializer = SERIALIZERS[options.serializer]()
        self.hits = 0
        self.misses = 0
        self._decoders: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<Cache {self.describe()}, prefix {self.key_prefix!r}>"

    def describe(self) -> str:
        """The backend, as error messages name it (``redis cache at redis://:***@host/0``)."""
        description = self.backend.describe()
        return description if " " in description else f"{description} cache"

    # -- sync -----------------------------------------------------------------------------------

    def get(self, key: str, default: Any = None, *, type: Any = None) -> Any:
        """The value stored under ``key``, or ``default`` when it is missing or expired.

        Args:
            key: the key.
            default: returned on a miss; pass a sentinel of your own to tell a miss from a
                stored None.
            type: rebuild the value as this type (``UserRead``, ``list[Item]``) with pydantic;
                without it, JSON gives back JSON types.
        """
        if not (key.__class__ is str and 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            self._check_slowly(key)
        data = self.backend.get(self.key_prefix + key)
        if data is None:
            self.misses += 1
            return default
        self.hits += 1
        return self._decode(key, data, type)

    def get_many(self, keys: Iterable[str], *, type: Any = None) -> dict[str, Any]:
        """The values of the keys that are present, by key (misses are left out)."""
        keys = self._checked(keys)
        found = self.backend.get_many([self.key_prefix + key for key in keys])
        return self._collect(keys, found, type)

    def set(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (default: ``cache.default_ttl``)."""
        self._check(key)
        seconds = self.seconds(ttl, key)
        self.backend.set(self.key_prefix + key, self.encode(key, value), seconds)

    def set_many(self, values: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
        """Store every pair, or none: all values are serialized before anything is written."""
        items = self._encoded(values)
        self.backend.set_many(items, self.seconds(ttl, *(key for key, _ in values.items())))

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was there."""
        self._check(key)
        return self.backend.delete([self.key_prefix + key]) > 0

    def clear(self) -> int:
        """Remove this application's entries (those under ``cache.key_prefix``), nothing else."""
        return self.backend.clear(self._clear_prefix())

    def incr(self, key: str, delta: int = 1, *, ttl: TTL = DEFAULT_TTL) -> int:
        """Add ``delta`` to the integer under ``key`` atomically and return the new value.

        A missing key starts at 0 and lives ``ttl`` seconds; an existing one keeps its expiry.
        """
        self._check(key)
        seconds = self.seconds(ttl, key)
        return self.backend.incr(self.key_prefix + key, self._delta(key, delta), seconds)

    def close(self) -> None:
        """Release the backend's connections (it reconnects if used again)."""
        self.backend.close()

    # -- async ----------------------------------------------------------------------------------

    async def aget(self, key: str, default: Any = None, *, type: Any = None) -> Any:
        """Async twin of :meth:`get`."""
        if not (key.__class__ is str and 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            self._check_slowly(key)
        data = await self.backend.aget(self.key_prefix + key)
        if data is None:
            self.misses += 1
            return default
        self.hits += 1
        return self._decode(key, data, type)

    async def aget_many(self, keys: Iterable[str], *, type: Any = None) -> dict[str, Any]:
        """Async twin of :meth:`get_many`."""
        keys = self._checked(keys)
        found = await self.backend.aget_many([self.key_prefix + key for key in keys])
        return self._collect(keys, found, type)

    async def aset(self, key: str, value: Any, ttl: TTL = DEFAULT_TTL) -> None:
        """Async twin of :meth:`set`."""
        self._check(key)
        seconds = self.seconds(ttl, key)
        await self.backend.aset(self.key_prefix + key, self.encode(key, value), seconds)

    async def aset_many(self, values: Mapping[str, Any], ttl: TTL = DEFAULT_TTL) -> None:
        """Async twin of :meth:`set_many`."""
        items = self._encoded(values)
        await self.backend.aset_many(items, self.seconds(ttl, *(key for key, _ in values.items())))

    async def adelete(self, key: str) -> bool:
        """Async twin of :meth:`delete`."""
        self._check(key)
        return await self.backend.adelete([self.key_prefix + key]) > 0

    async def aclear(self) -> int:
        """Async twin of :meth:`clear`."""
        return await self.backend.aclear(self._clear_prefix())

    async def aincr(self, key: str, delta: int = 1, *, ttl: TTL = DEFAULT_TTL) -> int:
        """Async twin of :meth:`incr`."""
        self._check(key)
        full, seconds = self.key_prefix + key, self.seconds(ttl, key)
        return await self.backend.aincr(full, self._delta(key, delta), seconds)

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self.backend.aclose()

    # -- statistics and lifecycle ---------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Hits and misses of ``get``, ``get_many`` and ``@cached`` lookups on this cache."""
        return CacheStats(self.hits, self.misses)

    def reset_stats(self) -> None:
        """Start counting hits and misses from zero."""
        self.hits = self.misses = 0

    async def start(self) -> None:
        """Reach the backend once at application startup, so a wrong URL fails there."""
        await self.backend.aping()

    async def stop(self) -> None:
        """Close the backend's connections at application shutdown."""
        await self.backend.aclose()

    # -- values ---------------------------------------------------------------------------------

    def encode(self, key: str, value: Any) -> bytes:
        """The bytes stored for ``value``; raises CacheSerializationError naming ``key``."""
        try:
            return self.serializer.dumps(value)
        except Exception as exc:
            hint = (
                "Store JSON-compatible data (dicts, lists, str, numbers, dates, pydantic models, "
                "dataclasses), or set cache.serializer: pickle if only trusted code writes to "
                "this cache."
                if self.serializer.name == "json"
                else "Store a picklable value (module-level classes, no open files or locks)."
            )
            raise CacheSerializationError(
                f"Cannot store {key!r} in the {self.describe()}: a value of type "
                f"{type(value).__name__} cannot be serialized as {self.serializer.name} ({exc}). "
                f"{hint}"
            ) from None

    def decoder(self, kind: Any) -> Any:
        """The function turning stored bytes into a ``kind`` (None: as stored), cached.

        Raises:
            CacheConfigurationError: the serializer cannot give a ``kind`` back at all.
        """
        try:
            return self._decoders[kind]
        except KeyError:
            decoder = self._decoders[kind] = self._new_decoder(kind)
            return decoder
        except TypeError:  # an unhashable annotation
            return self._new_decoder(kind)

    def _new_decoder(self, kind: Any) -> Any:
        try:
            return decoder_for(self.serializer, kind)
        except TypeError as exc:
            raise CacheConfigurationError(
                f"type={kind!r} cannot be rebuilt from {self.serializer.name} on the "
                f"{self.describe()} ({exc}). Use a type pydantic knows (a model, a dataclass, "
                "a TypedDict…), or set cache.serializer: pickle if only trusted code writes to "
                "this cache."
            ) from None

    def seconds(self, ttl: TTL, *keys: str) -> float | None:
        """``ttl`` as seconds for the backend; DEFAULT_TTL is ``cache.default_ttl``.

        Raises:
            CacheValueError: ``ttl`` is not a positive, finite number of seconds up to
                :data:`MAX_TTL`; the message names ``keys``.
        """
        if ttl is DEFAULT_TTL:
            return self.default_ttl
        shown = ", ".join(map(repr, keys[:3])) + (", ..." if len(keys) > 3 else "")
        return checked_ttl(ttl, f"for {shown} on the {self.describe()}")

    def _decode(self, key: str, data: bytes, kind: Any) -> Any:
        decode = self.decoder(kind)
        try:
            return decode(data)
        except ValidationError as exc:
            raise CacheSerializationError(
                f"The value of {key!r} in the {self.describe()} is not a valid {kind!r}: "
                f"{exc.errors()[0]['msg']}. It was stored by other code; delete it or fix the "
                "type= you ask for."
            ) from None
        except Exception as exc:
            if isinstance(exc, ValueError) and str(exc).startswith("a stored"):
                raise CacheSerializationError(
                    f"The value of {key!r} in the {self.describe()}: {exc}. It was stored by "
                    "other code; delete it or fix the type= you ask for."
                ) from None
            raise CacheSerializationError(
                f"The value of {key!r} in the {self.describe()} cannot be read as "
                f"{self.serializer.name} ({type(exc).__name__}: {exc}). Another program or "
                "serializer wrote it; delete the key, or give this application its own "
                "cache.key_prefix."
            ) from None

    # -- keys -----------------------------------------------------------------------------------

    def _check(self, key: str) -> None:
        if not (key.__class__ is str and 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            self._check_slowly(key)

    def _check_slowly(self, key: object) -> None:
        """Refuse an invalid key; a ``str`` subclass (a ``StrEnum`` member) may be valid."""
        if key_problem(key) is not None:
            raise invalid_key(key, self.describe())

    def _checked(self, keys: Iterable[str]) -> list[str]:
        if isinstance(keys, str):
            raise invalid_key(keys, f"{self.describe()} (get_many takes a list of keys)")
        checked = list(keys)
        for key in checked:
            self._check(key)
        return checked

    def _encoded(self, values: Mapping[str, Any]) -> list[tuple[str, bytes]]:
        items = list(values.items())
        for key, _ in items:
            self._check(key)
        prefix = self.key_prefix
        return [(prefix + key, self.encode(key, value)) for key, value in items]

    def _collect(self, keys: list[str], found: list[bytes | None], kind: Any) -> dict[str, Any]:
        values = {}
        for key, data in zip(keys, found, strict=True):
            if data is None:
                self.misses += 1
            else:
                self.hits += 1
                values[key] = self._decode(key, data, kind)
        return values

    def _clear_prefix(self) -> str:
        if not self.key_prefix:
            raise CacheConfigurationError(
                f"clear() on the {self.describe()} would remove every key, because "
                "cache.key_prefix is empty. Give this application a prefix (the default is "
                "'tausestack:'), then clear() removes only its own entries."
            )
        return self.key_prefix

    def _delta(self, key: str, delta: int) -> int:
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise CacheValueError(
                f"incr({key!r}) takes an int delta, not {delta!r}, on the {self.describe()}."
            )
        return delta


def checked_ttl(ttl: object, about: str) -> float | None:
    """``ttl`` (seconds, a ``timedelta`` or None) as seconds, checked alike for every backend.

    Raises:
        CacheValueError: not a positive, finite number of seconds up to :data:`MAX_TTL`;
            the message ends its first sentence with ``about``.
    """
    if ttl is None:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= MAX_TTL  # False for NaN too
    ):
        raise CacheValueError(
            f"ttl={ttl!r} {about}: a ttl is a positive, finite number of seconds up to 10 "
            f"years ({MAX_TTL} s), a timedelta, or None to keep the entry until it is evicted."
        )
    return float(seconds)


def _checked_setting(settings: Settings, name: str, value: float | None) -> float | None:
    """A duration from the settings, refused at startup rather than on the first write."""
    path = ("cache", "default_ttl") if name == "default_ttl" else ("cache", "redis", name)
    try:
        return checked_ttl(value, f"(cache.{'.'.join(path[1:])}, {source_of(settings, *path)})")
    except CacheValueError as exc:
        raise CacheConfigurationError(str(exc)) from None


def _checked_prefix(prefix: str, settings: Settings) -> str:
    if not prefix.isprintable() or prefix.startswith(LOCK_PREFIX):
        raise CacheConfigurationError(
            f"cache.key_prefix {prefix!r} ({source_of(settings, 'cache', 'key_prefix')}) "
            f"cannot be used: it must be printable and not start with {LOCK_PREFIX!r}, where "
            "@cached keeps its locks."
        )
    return prefix

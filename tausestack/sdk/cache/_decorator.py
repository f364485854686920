"""``@cached``: remember what a function returns, per arguments, in the application's cache."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from .._context import current_container
from ._cache import DEFAULT_TTL, TTL, Cache, CacheStats
from ._current import cache_for, generation
from ._flights import AsyncFlights, SyncFlights
from ._keys import CallKey
from .errors import CacheConfigurationError

if typing.TYPE_CHECKING:
    from typing import Self

__all__ = ["BoundCachedFunction", "CachedFunction", "cached"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")
Decoder = Callable[[bytes], Any]
_UNRESOLVED: Any = object()


class BoundCachedFunction(Protocol[P, R_co]):
    """A ``@cached`` method reached through an instance (``service.get``)."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> int: ...
    async def acache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def stats(self) -> CacheStats: ...


class CachedFunction(Protocol[P, R_co]):
    """What ``@cached`` returns: the function, plus invalidation and statistics.

    ``invalidate``, ``cache_key`` and their twins take the function's arguments (without
    ``self``/``cls`` for a method); ``cache_clear`` removes every entry of the function.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> int: ...
    async def acache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def stats(self) -> CacheStats: ...
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(
        self: CachedFunction[Concatenate[T, P2], R],
        instance: T,
        owner: type[Any] | None = None,
    ) -> BoundCachedFunction[P2, R]: ...


@overload
def cached(function: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cached(
    *,
    ttl: TTL = ...,
    key: str | Callable[..., str] | None = None,
    namespace: str | None = None,
    cache: Cache | None = None,
    lock: bool | None = None,
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...


def cached(
    function: Callable[..., Any] | None = None,
    /,
    *,
    ttl: TTL = DEFAULT_TTL,
    key: str | Callable[..., str] | None = None,
    namespace: str | None = None,
    cache: Cache | None = None,
    lock: bool | None = None,
) -> Any:
    """Cache what a ``def`` or ``async def`` (or a method) returns, per arguments.

    A hit returns the stored value rebuilt as the function's return annotation (a pydantic
    ``TypeAdapter``: models, dataclasses, ``list[Item]``…), so callers get what the function
    returns. ``None`` is cached like any value. Concurrent misses of one key run the function
    once per process; with ``lock`` (or ``cache.distributed_lock``) once across every process
    sharing a Redis or disk cache. See ``docs/cache.md``::

        @cached(ttl=60)
        async def exchange_rate(currency: str) -> Decimal: ...

        await exchange_rate("EUR")                 # computed, then cached for 60 s
        await exchange_rate.ainvalidate("EUR")     # forget it now

    Args:
        ttl: seconds (or a ``timedelta``) an entry lives; None: until evicted; by default
            ``cache.default_ttl``.
        key: how to name an entry. By default ``namespace`` plus the arguments' JSON (``self``
            and ``cls`` left out); a template of the parameter names (``"user:{user_id}"``) or
            a callable taking the function's arguments (without ``self``) gives the key itself.
        namespace: what keys start with (default: the function's ``module.qualname`` when no
            ``key`` is given, nothing otherwise); ``cache_clear`` removes the namespace.
        cache: the :class:`Cache` to use; by default the current application's, looked up at
            call time (so one decorated function serves every app and test).
        lock: take a lock in the backend on a miss so that one process computes the value;
            None follows ``cache.distributed_lock``.
    """

    def decorate(target: Callable[..., Any]) -> Any:
        return _CachedPlan(target, ttl, key, namespace, cache, lock).wrapper()

    return decorate if function is None else decorate(function)


class _CachedPlan:
    """Everything one decorated function needs per call, prepared once."""

    def __init__(
        self,
        function: Callable[..., Any],
        ttl: TTL,
        key: str | Callable[..., str] | None,
        namespace: str | None,
        cache: Cache | None,
        lock: bool | None,
    ) -> None:
        if isinstance(function, classmethod | staticmethod) or not callable(function):
            raise CacheConfigurationError(
                f"@cached decorates functions and methods, not {function!r}. Put @cached "
                "below @classmethod or @staticmethod (closer to the def)."
            )
        self.function = function
        first = next(iter(inspect.signature(function).parameters), None)
        self.skip_first = first in ("self", "cls")
        self.key = CallKey(function, namespace, key, self.skip_first)
        self.ttl = ttl
        self.lock = lock
        self.fixed = cache
        self.kind: Any = _UNRESOLVED
        self.memo: tuple[Any, int, tuple[Cache, Decoder]] | None = None
        self.resolve = self.resolver()
        self.hits = 0
        self.misses = 0

    # -- resolution -----------------------------------------------------------------------------

    def resolver(self) -> Callable[[], tuple[Cache, Decoder]]:
        """A function giving the cache to use now and the decoder of this function's results.

        With ``cache=`` that pair never changes; otherwise it is the current app's, remembered
        for the last app seen until one of its singletons changes (startup, an override...).
        """
        fixed = self.fixed
        if fixed is not None:
            pair: tuple[Cache, Decoder] | None = None

            def resolve_fixed() -> tuple[Cache, Decoder]:
                nonlocal pair
                if pair is None:
                    pair = (fixed, fixed.decoder(self.return_kind()))
                return pair

            return resolve_fixed

        def resolve_current() -> tuple[Cache, Decoder]:
            container = current_container()
            memo = self.memo
            if memo is not None and memo[0] is container and memo[1] == generation[0]:
                return memo[2]
            stamp = generation[0]
            cache = cache_for(container)
            resolved = (cache, cache.decoder(self.return_kind()))
            self.memo = (container, stamp, resolved)
            return resolved

        return resolve_current

    def return_kind(self) -> Any:
        """The return annotation (None when absent), read on first use for forward references."""
        if self.kind is _UNRESOLVED:
            try:
                hints = typing.get_type_hints(self.function)
            except Exception as exc:
                raise CacheConfigurationError(
                    f"@cached cannot read the return annotation of {self.key.label} ({exc}); "
                    "it rebuilds cached values with it. Import the names it uses at module "
                    "level (not under `if TYPE_CHECKING:`)."
                ) from None
            self.kind = hints.get("return")
        return self.kind

    def full_key(self, cache: Cache, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return cache.key_prefix + self.key.build(args, kwargs)

    def locked(self, cache: Cache) -> bool:
        return self.lock if self.lock is not None else cache.settings.distributed_lock

    # -- the wrappers ---------------------------------------------------------------------------

    def wrapper(self) -> Any:
        """The decorated function, with its helpers attached."""
        if inspect.iscoroutinefunction(self.function):
            wrapper = self._async_wrapper()
        else:
            wrapper = self._sync_wrapper()
        functools.update_wrapper(wrapper, self.function)
        wrapper.invalidate = self.invalidate
        wrapper.ainvalidate = self.ainvalidate
        wrapper.cache_clear = self.cache_clear
        wrapper.acache_clear = self.acache_clear
        wrapper.cache_key = self.cache_key
        wrapper.stats = self.stats
        return wrapper

    def _sync_wrapper(self) -> Any:
        resolve, key, skip = self.resolve, self.key.build, self.skip_first
        flights, compute = SyncFlights(), self.compute

        def cached_call(*args: Any, **kwargs: Any) -> Any:
            cache, decode = resolve()
            full = cache.key_prefix + key(args[1:] if skip else args, kwargs)
            data = cache.backend.get(full)
            if data is not None:
                try:
                    value = decode(data)
                except Exception:  # stored by an older version of the function: recompute
                    pass
                else:
                    cache.hits += 1
                    self.hits += 1
                    return value
            cache.misses += 1
            self.misses += 1
            return flights.run(full, lambda: compute(cache, decode, full, args, kwargs))

        return cached_call

    def _async_wrapper(self) -> Any:
        resolve, key, skip = self.resolve, self.key.build, self.skip_first
        flights, compute = AsyncFlights(), self.acompute

        async def cached_call(*args: Any, **kwargs: Any) -> Any:
            cache, decode = resolve()
            full = cache.key_prefix + key(args[1:] if skip else args, kwargs)
            data = await cache.backend.aget(full)
            if data is not None:
                try:
                    value = decode(data)
                except Exception:  # stored by an older version of the function: recompute
                    pass
                else:
                    cache.hits += 1
                    self.hits += 1
                    return value
            cache.misses += 1
            self.misses += 1
            return await flights.run(full, lambda: compute(cache, decode, full, args, kwargs))

        return cached_call

    # -- misses ---------------------------------------------------------------------------------

    def compute(
        self, cache: Cache, decode: Decoder, full: str, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Run the function for a miss and store the result (this process's one caller)."""
        found, value = _peek(decode, cache.backend.get(full))  # stored while we queued?
        if found:
            return value
        if not self.locked(cache):
            return self._store(cache, full, self.function(*args, **kwargs))
        with cache.backend.lock(full + ":lock", cache.lock_timeout) as acquired:
            if acquired:  # another process may have stored it while we waited for the lock
                found, value = _peek(decode, cache.backend.get(full))
                if found:
                    return value
            return self._store(cache, full, self.function(*args, **kwargs))

    async def acompute(
        self, cache: Cache, decode: Decoder, full: str, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Async twin of :meth:`compute`."""
        found, value = _peek(decode, await cache.backend.aget(full))
        if found:
            return value
        if not self.locked(cache):
            return await self._astore(cache, full, await self.function(*args, **kwargs))
        async with cache.backend.alock(full + ":lock", cache.lock_timeout) as acquired:
            if acquired:
                found, value = _peek(decode, await cache.backend.aget(full))
                if found:
                    return value
            return await self._astore(cache, full, await self.function(*args, **kwargs))

    def _store(self, cache: Cache, full: str, value: Any) -> Any:
        data = cache.encode(full[len(cache.key_prefix) :], value)
        cache.backend.set(full, data, cache.seconds(self.ttl))
        return value

    async def _astore(self, cache: Cache, full: str, value: Any) -> Any:
        data = cache.encode(full[len(cache.key_prefix) :], value)
        await cache.backend.aset(full, data, cache.seconds(self.ttl))
        return value

    # -- the decorated function's helpers -------------------------------------------------------

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The key of a call with these arguments, without the cache's ``key_prefix``."""
        return self.key.build(args, kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Forget the entry of a call with these arguments; return whether there was one."""
        cache = self.resolve()[0]
        return cache.backend.delete([self.full_key(cache, args, kwargs)]) > 0

    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Async twin of :meth:`invalidate`."""
        cache = self.resolve()[0]
        return await cache.backend.adelete([self.full_key(cache, args, kwargs)]) > 0

    def cache_clear(self) -> int:
        """Forget every entry of the function; return how many there were."""
        cache = self.resolve()[0]
        return cache.backend.clear(cache.key_prefix + self._namespace())

    async def acache_clear(self) -> int:
        """Async twin of :meth:`cache_clear`."""
        cache = self.resolve()[0]
        return await cache.backend.aclear(cache.key_prefix + self._namespace())

    def stats(self) -> CacheStats:
        """Hits and misses of this function's calls."""
        return CacheStats(self.hits, self.misses)

    def _namespace(self) -> str:
        if not self.key.namespace:
            raise CacheConfigurationError(
                f"cache_clear() on {self.key.label} cannot tell its entries from others: its "
                "key= has no namespace. Pass namespace='...' to @cached as well."
            )
        return self.key.namespace + ":"


def _peek(decode: Decoder, data: bytes | None) -> tuple[bool, Any]:
    if data is None:
        return False, None
    try:
        return True, decode(data)
    except Exception:
        return False, None

"""``@cached``: remember what a function returns, per arguments, in the application's cache."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast, overload

from .._context import current_container
from ._cache import DEFAULT_TTL, LOCK_PREFIX, TTL, Cache, CacheStats, checked_ttl
from ._current import cache_for, generation
from ._flights import AsyncFlights, SyncFlights
from ._keys import CallKey
from ._protocols import CachedClassMethod, CachedDecorator, CachedFunction
from .errors import CacheConfigurationError, CacheSerializationError

__all__ = ["cached"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
Decoder = Callable[[bytes], Any]
_UNRESOLVED: Any = object()


@overload
def cached(function: Callable[Concatenate[type[T], P], R], /) -> CachedClassMethod[T, P, R]: ...
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
) -> CachedDecorator: ...


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

    A hit, and a miss alike, return the stored value rebuilt as the function's return
    annotation (a pydantic ``TypeAdapter``: models, dataclasses, ``list[Item]``…), so callers
    get what the function returns; without an annotation, what the serializer gives back (JSON
    types). ``None`` is cached like any value. Concurrent misses of one key run the function
    once per process; with ``lock`` (or ``cache.distributed_lock``) once across every process
    sharing a Redis or disk cache. See ``docs/cache.md``::

        @cached(ttl=60)
        async def exchange_rate(currency: str) -> Decimal: ...

        await exchange_rate("EUR")                 # computed, then cached for 60 s
        await exchange_rate.ainvalidate("EUR")     # forget it now

    Args:
        ttl: seconds (or a ``timedelta``) an entry lives, checked here; None: until evicted;
            by default ``cache.default_ttl``.
        key: how to name an entry. By default ``namespace`` plus the arguments' JSON (an
            instance receiver left out, a subclass receiver of a class method kept); a
            template of the parameter names (``"user:{user_id}"``, ``"{self.tenant}:{id}"``)
            or a callable taking every argument, ``self``/``cls`` included, gives the key.
        namespace: what keys start with (default: the function's ``module.qualname`` when no
            ``key`` is given, nothing otherwise); ``cache_clear`` removes the namespace. A
            lambda or a function defined in a function needs one (or ``key``).

    Raises:
        CacheConfigurationError: at decoration, for a generator function, a name that is not
            unique without ``namespace``, a bad ``namespace`` or ``key`` template.
        CacheValueError: at decoration, for a bad ``ttl``.
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
        _check_decorated(function)
        self.function = function
        self.key = CallKey(function, namespace, key)
        if ttl is not DEFAULT_TTL:
            checked_ttl(ttl, f"in @cached on {self.key.label}")
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
                    pair = (fixed, self.decoder(fixed))
                return pair

            return resolve_fixed

        def resolve_current() -> tuple[Cache, Decoder]:
            container = current_container()
            memo = self.memo
            if memo is not None and memo[0] is container and memo[1] == generation[0]:
                return memo[2]
            stamp = generation[0]
            cache = cache_for(container)
            resolved = (cache, self.decoder(cache))
            self.memo = (container, stamp, resolved)
            return resolved

        return resolve_current

    def decoder(self, cache: Cache) -> Decoder:
        kind = self.return_kind()
        try:
            return cast("Decoder", cache.decoder(kind))
        except CacheConfigurationError as exc:
            raise CacheConfigurationError(
                f"@cached on {self.key.label}: its return annotation {_shown(kind)} cannot be "
                f"used to rebuild cached values. {str(exc).partition(' ')[2]}"
            ) from None

    def return_kind(self) -> Any:
        """The return annotation (None when absent), evaluated on first use so that it may
        name classes defined after the function. Only the return annotation is evaluated:
        parameters may use names imported under ``if TYPE_CHECKING:``."""
        if self.kind is _UNRESOLVED:
            self.kind = _return_annotation(self.function, self.key.label)
        return self.kind

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
        self.key.wrapper = wrapper  # how a method is found on its receiver's class
        return wrapper

    def _sync_wrapper(self) -> Any:
        resolve, key = self.resolve, self.key.build
        flights, compute, fresh = SyncFlights(self.key.label), self.compute, self.fresh

        def cached_call(*args: Any, **kwargs: Any) -> Any:
            cache, decode = resolve()
            full = cache.key_prefix + key(args, kwargs)
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
            data = flights.run(full, lambda: compute(cache, decode, full, args, kwargs))
            return fresh(decode, data)

        return cached_call

    def _async_wrapper(self) -> Any:
        resolve, key = self.resolve, self.key.build
        flights, compute, fresh = AsyncFlights(self.key.label), self.acompute, self.fresh

        async def cached_call(*args: Any, **kwargs: Any) -> Any:
            cache, decode = resolve()
            full = cache.key_prefix + key(args, kwargs)
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
            data = await flights.run(full, lambda: compute(cache, decode, full, args, kwargs))
            return fresh(decode, data)

        return cached_call

    # -- misses ---------------------------------------------------------------------------------

    def compute(
        self, cache: Cache, decode: Decoder, full: str, args: tuple[Any, ...], kwargs: Any
    ) -> bytes:
        """Run the function for a miss, store the result and return the stored bytes (this
        process's one caller; each caller decodes its own copy, as a hit would)."""
        if (data := _usable(decode, cache.backend.get(full))) is not None:
            return data  # stored while we queued
        if not self.locked(cache):
            return self._store(cache, full, self.function(*args, **kwargs))
        with cache.backend.lock(LOCK_PREFIX + full, cache.lock_timeout):
            # Stored by another process while we waited for the lock, or while we gave up
            # waiting (its computation outlived lock_timeout)?
            if (data := _usable(decode, cache.backend.get(full))) is not None:
                return data
            return self._store(cache, full, self.function(*args, **kwargs))

    async def acompute(
        self, cache: Cache, decode: Decoder, full: str, args: tuple[Any, ...], kwargs: Any
    ) -> bytes:
        """Async twin of :meth:`compute`."""
        if (data := _usable(decode, await cache.backend.aget(full))) is not None:
            return data
        if not self.locked(cache):
            return await self._astore(cache, full, await self.function(*args, **kwargs))
        async with cache.backend.alock(LOCK_PREFIX + full, cache.lock_timeout):
            if (data := _usable(decode, await cache.backend.aget(full))) is not None:
                return data
            return await self._astore(cache, full, await self.function(*args, **kwargs))

    def _store(self, cache: Cache, full: str, value: Any) -> bytes:
        key = full[len(cache.key_prefix) :]
        data = cache.encode(key, value)
        cache.backend.set(full, data, cache.seconds(self.ttl, key))
        return data

    async def _astore(self, cache: Cache, full: str, value: Any) -> bytes:
        key = full[len(cache.key_prefix) :]
        data = cache.encode(key, value)
        await cache.backend.aset(full, data, cache.seconds(self.ttl, key))
        return data

    def fresh(self, decode: Decoder, data: bytes) -> Any:
        """What a miss returns: the stored value read back, as a hit gives it."""
        try:
            return decode(data)
        except Exception as exc:
            reason = str(exc).splitlines()[0]
            raise CacheSerializationError(
                f"{self.key.label} returned a value that does not fit its return annotation "
                f"{_shown(self.kind)} once stored ({type(exc).__name__}: {reason}); no hit "
                "could use it. Fix the annotation or what the function returns."
            ) from None

    # -- the decorated function's helpers -------------------------------------------------------

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The key of a call with these arguments, without the cache's ``key_prefix``."""
        return self.key.build(args, kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Forget the entry of a call with these arguments; return whether there was one."""
        cache = self.resolve()[0]
        return cache.backend.delete([cache.key_prefix + self.key.build(args, kwargs)]) > 0

    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Async twin of :meth:`invalidate`."""
        cache = self.resolve()[0]
        full = cache.key_prefix + self.key.build(args, kwargs)
        return await cache.backend.adelete([full]) > 0

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


def _check_decorated(function: object) -> None:
    if isinstance(function, classmethod | staticmethod) or not callable(function):
        raise CacheConfigurationError(
            f"@cached decorates functions and methods, not {function!r}. Put @cached "
            "below @classmethod or @staticmethod (closer to the def)."
        )
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        name = getattr(function, "__qualname__", function)
        raise CacheConfigurationError(
            f"@cached cannot cache the generator function {name}: a call "
            "returns a generator, which is consumed once (a cached one would be empty). Cache "
            "a function that returns a list of the items instead."
        )


def _return_annotation(function: Callable[..., Any], label: str) -> Any:
    """``function``'s return annotation, evaluated in its module (None when there is none)."""
    annotations = getattr(function, "__annotations__", {})
    if "return" not in annotations:
        return None
    annotation = annotations["return"]
    if not isinstance(annotation, str | typing.ForwardRef):
        return annotation
    # A stand-in with only the return annotation, so parameters are never evaluated.
    stand_in = types.FunctionType(_stand_in.__code__, function.__globals__)
    stand_in.__annotations__ = {"return": annotation}
    try:
        return typing.get_type_hints(stand_in, include_extras=True)["return"]
    except Exception as exc:
        raise CacheConfigurationError(
            f"@cached cannot evaluate the return annotation {annotation!r} of {label} "
            f"({type(exc).__name__}: {exc}); it rebuilds cached values with it. Define or "
            "import the names it uses at module level (not under `if TYPE_CHECKING:`, nor "
            "inside a function)."
        ) from None


def _shown(kind: Any) -> str:
    return kind.__qualname__ if isinstance(kind, type) else repr(kind)


def _stand_in() -> None:
    """The code of the stand-in :func:`_return_annotation` evaluates annotations on."""


def _usable(decode: Decoder, data: bytes | None) -> bytes | None:
    """``data`` if it decodes (it may have been stored by an older version of the function)."""
    if data is None:
        return None
    try:
        decode(data)
    except Exception:
        return None
    return data

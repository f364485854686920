"""The types ``@cached`` returns, as type checkers see them (the runtime object is the
decorated function itself, with the helpers attached)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from ._cache import CacheStats

if typing.TYPE_CHECKING:
    from typing import Self

__all__ = ["BoundCachedFunction", "CachedClassMethod", "CachedDecorator", "CachedFunction"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class BoundCachedFunction(Protocol[P, R_co]):
    """A ``@cached`` method reached through an instance (``service.get``) or, for a class
    method, through its class (``Directory.version``)."""

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> int: ...
    async def acache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def stats(self) -> CacheStats: ...


class CachedFunction(Protocol[P, R_co]):
    """What ``@cached`` returns: the function, plus invalidation and statistics.

    ``invalidate``, ``cache_key`` and their twins take the call's arguments (for a method,
    without ``self``/``cls``, or with the receiver first: see ``docs/cache.md``);
    ``cache_clear`` removes every entry of the function. The ``__get__`` overloads let type
    checkers bind methods (class methods are :class:`CachedClassMethod`).
    """

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

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


class CachedClassMethod(Protocol[T_contra, P, R_co]):
    """What ``@cached`` returns for a function whose first parameter is a class (``cls``):
    under ``@classmethod`` it binds to the class, so type checkers see ``Directory.version(3)``
    as a call without ``cls``."""

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __call__(self, cls: type[T_contra], /, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    async def ainvalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> int: ...
    async def acache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def stats(self) -> CacheStats: ...
    def __get__(
        self, instance: Any, owner: type[Any] | None = None
    ) -> BoundCachedFunction[P, R_co]: ...


class CachedDecorator(Protocol):
    """What ``@cached(...)`` with options returns: the decorator itself."""

    @overload
    def __call__(
        self, function: Callable[Concatenate[type[T], P], R], /
    ) -> CachedClassMethod[T, P, R]: ...
    @overload
    def __call__(self, function: Callable[P, R], /) -> CachedFunction[P, R]: ...

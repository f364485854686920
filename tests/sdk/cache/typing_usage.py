"""Typed uses of ``@cached`` that ``mypy --strict`` must accept (checked by test_typing.py).

Not a test module: pytest does not collect it, and nothing runs it.
"""

from __future__ import annotations

from collections.abc import Callable

from tausestack.sdk.cache import CachedFunction, CacheStats, cached


@cached
def square(number: int) -> int:
    return number * number


@cached(ttl=60, namespace="users")
async def user_name(user_id: int) -> str:
    return str(user_id)


class Directory:
    @cached(namespace="directory")
    def find(self, user_id: int) -> str:
        return str(user_id)

    @classmethod
    @cached(namespace="directory-version")
    def version(cls, major: int) -> str:
        return f"{cls.__name__} {major}"

    @staticmethod
    @cached(namespace="directory-double")
    def double(number: int) -> int:
        return 2 * number


async def use() -> None:
    total: int = square(3)
    name: str = await user_name(1)
    found: str = Directory().find(2)
    version: str = Directory.version(3)
    doubled: int = Directory.double(4)
    label: str = square.__name__ + square.__qualname__ + square.__module__
    original: Callable[..., object] = square.__wrapped__
    stats: CacheStats = square.stats()
    removed: bool = square.invalidate(3) or await user_name.ainvalidate(1)
    key: str = Directory().find.cache_key(2) + Directory.version.cache_key(3)
    cleared: int = Directory().find.cache_clear()
    typed: CachedFunction[[int], int] = square
    print(total, name, found, version, doubled, label, original, stats, removed, key, cleared)
    print(typed, square.__doc__)

"""What every Redis client of the SDK (cache, tasks) is built with, and how it starts afresh."""

from __future__ import annotations

from typing import Any

__all__ = ["adrop_connections", "drop_connections", "reconnecting"]


def reconnecting(*, asynchronous: bool = False) -> dict[str, Any]:
    """Client options that retry a command once, on a new connection, when its pooled one
    was closed meanwhile (Redis restarted, or a proxy dropped an idle connection). For a
    ``redis.asyncio`` client with ``asynchronous=True``.

    A pool made by ``from_url`` retries nothing: without this, the first command on every
    pooled connection fails after a Redis restart although Redis is back. Once only, soon,
    and not after a timeout: a Redis that is down or hung still fails fast with its error.
    """
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    backoff = ExponentialWithJitterBackoff(base=0.01, cap=0.1)
    errors = (RedisConnectionError,)
    if asynchronous:
        from redis.asyncio.retry import Retry as AsyncRetry

        return {"retry": AsyncRetry(backoff, 1, supported_errors=errors)}
    from redis.retry import Retry

    return {"retry": Retry(backoff, 1, supported_errors=errors)}


def drop_connections(pool: Any) -> None:
    """Make every connection of a (sync) pool a new one: the idle ones now, those in use once
    they are released, so no other thread loses a command half-way."""
    pool.disconnect(inuse_connections=False)
    pool.update_active_connections_for_reconnect()


async def adrop_connections(pool: Any) -> None:
    """:func:`drop_connections` for a ``redis.asyncio`` pool."""
    await pool.disconnect(inuse_connections=False)
    await pool.update_active_connections_for_reconnect()

"""The Redis backend's Lua scripts, and what a failed command is reported as."""

from __future__ import annotations

import redis

from .errors import CacheBackendError, CacheConnectionError, CacheError, CacheValueError

__all__ = ["ACQUIRE", "EXTEND", "INCR", "UNLOCK", "failure"]

# A missing key is created with its expiry in one command (SET NX PX), an existing one gets
# INCRBY and keeps its own expiry: a failure writes nothing.
INCR = """
if ARGV[2] ~= '' then
  if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return tonumber(ARGV[1]) end
elseif redis.call('SET', KEYS[1], ARGV[1], 'NX') then return tonumber(ARGV[1]) end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""
# Take a lock (SET NX PX), or find that it is ours already: a command retried after its reply
# was lost must not leave the caller waiting for its own lock.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
# Extend a lock only if it still holds our token.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# Delete a lock only if it still holds our token (it may have expired and been retaken).
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# The replies of INCRBY on a value it cannot add to.
_NOT_AN_INTEGER = ("not an integer", "would overflow")


def failure(operation: str, key: str | None, exc: Exception, url: str, origin: str) -> CacheError:
    """The error for a failed command: the value's fault (INCRBY of a non-integer), the
    server's refusal (READONLY, OOM, NOPERM…: its reply), or no server to talk to."""
    about = f"{operation}({key!r})" if key is not None else operation
    where = f"the redis cache at {url}"
    reply = str(exc).rstrip(".")
    if isinstance(exc, redis.ResponseError):
        if any(text in reply for text in _NOT_AN_INTEGER):
            return CacheValueError(
                f"{about} on {where}: {reply}. Delete the key or store an int under it first."
            )
        return CacheBackendError(
            f"{about} was refused by {where}: {reply}. The server is reachable but will "
            "not run the command: check its role (a read-only replica), its memory limit "
            f"and the ACL rights of the user in cache.redis.url{origin}."
        )
    return CacheConnectionError(
        f"{about} failed on {where}: {reply}. Check that the server is running and "
        f"reachable, and cache.redis.url{origin}."
    )

"""taskiq-redis's ``RedisStreamBroker`` with what at-least-once delivery needs in practice.

The stream and its consumer group are taskiq-redis's: a job is an entry, a worker reads it
with ``XREADGROUP`` and it stays pending (owned by that worker) until acknowledged. On top:

* **reclaiming while idle** — ``RedisStreamBroker.listen`` looks for entries of dead workers
  only after new ones arrive; here a worker also does it when the stream is quiet, every
  half ``redelivery_timeout`` at most, so a killed worker's job runs again without new
  traffic, and it finds them wherever they are among the pending entries;
* **heartbeats** — a worker renews the claim on every entry it holds every third of
  ``redelivery_timeout``, so a job that runs for an hour is never taken from a live worker;
* **result and acknowledgement in one script** — the job's final status (and its retry, if
  any) is written with ``XACK`` and only while the entry is pending under this worker (a
  retried write, one that comes after the entry was handed back, or one of a stalled worker
  whose job another worker took over, changes nothing), and the entry is deleted
  (``XDEL``), so the stream holds only jobs not done yet;
* **reading only what can start** — a read asks for as many entries as there are free slots,
  and every entry read is held (renewed by the heartbeat) from then on;
* **no acknowledgement without an outcome** — taskiq acknowledges a message whatever became of
  it; here a job that did not settle (Redis refused to mark it running, or the shutdown
  interrupted it) stays pending and runs again;
* **handing back on shutdown** — entries still held when a worker stops are put back on the
  stream at once instead of waiting for the timeout;
* **unknown task names** — a job naming a task this worker lacks is handed to the backend,
  which marks it failed with a clear message (taskiq only logs and drops it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import (
    ClusterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq.formatters.json_formatter import JSONFormatter
from taskiq_redis import RedisStreamBroker

from .._redis import adrop_connections, reconnecting

__all__ = ["NOTHING", "Finish", "LuaScript", "Running", "StreamBroker", "raise_if_cancelled"]

logger = logging.getLogger("tausestack.tasks")

#: The consumer group every worker of a queue reads with.
GROUP = "tausestack-workers"

_HEARTBEAT = """
local renewed = 0
for index = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[index], ARGV[index], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[index], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
"""

# KEYS: the stream, the job's record, the delayed set; ARGV: the group, the entry, this
# consumer, the record's time to live ('' to keep it), the retry's message ('' for none), its
# score, then the record's field/value pairs. Writes nothing for an entry no longer this
# consumer's: acknowledged already (a retry), or reclaimed by another worker after a stall
# here (that worker's outcome is the one kept).
_ACK = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if not pending[1] or pending[1][2] ~= ARGV[3] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if #ARGV > 6 then redis.call('HSET', KEYS[2], unpack(ARGV, 7)) end
if ARGV[4] ~= '' then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5]) end
return 1
"""

# KEYS: the stream, then each entry's job record; ARGV: the group, this consumer, then
# (id, data) pairs. Entries another worker took over (after a stall here) stay its own.
_RELEASE = """
for index = 2, #KEYS do
  local id, data = ARGV[index * 2 - 1], ARGV[index * 2]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
    redis.call('XADD', KEYS[1], '*', 'data', data)
    if redis.call('HGET', KEYS[index], 'status') == 'running' then
      redis.call('HSET', KEYS[index], 'status', 'queued')
    end
  end
end
return #KEYS - 1
"""


class LuaScript:
    """A Lua script run by its SHA1, loaded into Redis the first time it is missing."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def arun(self, client: Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run on ``client`` with ``keys`` and ``args``; return what the script returns."""
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)

    def run(self, client: SyncRedis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """:meth:`arun` on a synchronous client."""
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.source, len(keys), *keys, *args)


#: Redis refusing writes for a while (full, a replica after a failover, a cluster resharding):
#: the worker waits it out instead of stopping.
_REFUSALS = (OutOfMemoryError, ReadOnlyError, TryAgainError, ClusterDownError)

HEARTBEAT = LuaScript(_HEARTBEAT)
RELEASE = LuaScript(_RELEASE)
ACK = LuaScript(_ACK)


@dataclass(frozen=True, slots=True)
class Finish:
    """What a job's acknowledgement writes to its record (``fields``): when it ``finished``,
    the record expires after ``result_ttl``; a ``retry`` (message, epoch seconds) goes to the
    delayed set."""

    fields: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    retry: tuple[bytes, float] | None = None


#: The acknowledgement of a job that was finished already: nothing to write.
NOTHING = Finish()


@dataclass(frozen=True, slots=True)
class Running:
    """A job whose handler runs: its id, and a future done when the handler returns."""

    job_id: str
    ended: asyncio.Future[None]


class StreamBroker(RedisStreamBroker):
    """The worker side of the ``redis`` backend (see the module docstring).

    Args:
        url: the Redis URL.
        queue: the stream's key.
        record_key: the key of a job's status record, from its id.
        delayed_key: the sorted set of delayed jobs and retries.
        result_ttl: seconds a finished job's record is kept.
        redelivery_timeout: seconds after which a job held by a silent worker is reclaimed.
        concurrency: jobs run at once; at most that many entries are held.

    ``fallback`` is the taskiq task run for names no task is registered under.
    """

    def __init__(
        self,
        url: str,
        *,
        queue: str,
        record_key: Callable[[str], str],
        delayed_key: str,
        result_ttl: int,
        redelivery_timeout: float,
        concurrency: int,
    ) -> None:
        idle = max(int(redelivery_timeout * 1000), 1)
        super().__init__(
            url,
            queue_name=queue,
            consumer_group_name=GROUP,
            # "0": a group created after jobs were queued still sees them.
            consumer_id="0",
            xread_block=min(1000, max(idle // 2, 10)),
            xread_count=concurrency,
            idle_timeout=idle,
            max_connection_pool_size=concurrency + 8,
            # Its commands are safe to run twice (see the scripts): a connection a Redis
            # restart closed is replaced on the spot.
            **reconnecting(asynchronous=True),
        )
        # pydantic's JSON (taskiq's default formatter goes through the json module).
        self.with_formatter(JSONFormatter())
        self.record_key = record_key
        self.delayed_key = delayed_key
        self.result_ttl = result_ttl
        self.redelivery_timeout = redelivery_timeout
        #: Stream entries read and not yet acknowledged: id -> (job id, data).
        self.held: dict[bytes, tuple[str, bytes]] = {}
        #: What each job writes with its acknowledgement, by job id.
        self.finishing: dict[str, Finish] = {}
        #: Jobs whose handler ended without an outcome: not acknowledged (they run again).
        self.unsettled: set[str] = set()
        #: The job handlers running, by their taskiq callback (interrupted, or waited for,
        #: at the end of the shutdown).
        self.running: dict[asyncio.Task[Any], Running] = {}
        #: The taskiq callbacks that ran a handler, until they end (acknowledgement included),
        #: with their job ids.
        self.callbacks: dict[asyncio.Task[Any], str] = {}
        self.fallback: AsyncTaskiqDecoratedTask[Any, Any] | None = None
        self.client = Redis(connection_pool=self.connection_pool)
        #: Set when the worker stops: ``listen`` reads no more.
        self.stopping = False

    def find_task(self, task_name: str) -> AsyncTaskiqDecoratedTask[Any, Any] | None:
        """The task registered under ``task_name``, or the fallback for unknown names."""
        return super().find_task(task_name) or self.fallback

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """New entries, and entries of dead workers once they have been idle long enough.

        A lost connection is logged and retried every second rather than ending the worker.
        """
        reclaim_every = min(self.redelivery_timeout / 2, 10.0)
        next_reclaim = 0.0
        async with Redis(connection_pool=self.connection_pool) as client:
            while not self.stopping:
                try:
                    if time.monotonic() >= next_reclaim:
                        next_reclaim = time.monotonic() + reclaim_every
                        reclaimed = await self._reclaim(client)
                        raise_if_cancelled()
                        # Our own job looks idle after an event-loop stall (no heartbeat
                        # meanwhile): it is still running here, so it is not taken again.
                        for message in self._hold_all(
                            [entry for entry in reclaimed if entry[0] not in self.held]
                        ):
                            yield message
                    fetched: Any = await client.xreadgroup(
                        self.consumer_group_name,
                        self.consumer_name,
                        {self.queue_name: ">"},
                        block=self.block,
                        count=self._free(),
                    )
                    raise_if_cancelled()
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    logger.warning("Redis is unreachable (%s); trying again in 1 s.", exc)
                    await asyncio.sleep(1)
                    continue
                except ResponseError as exc:
                    # MISCONF: it cannot save its data, so it refuses writes.
                    if isinstance(exc, _REFUSALS) or str(exc).startswith("MISCONF"):
                        logger.error("Redis refuses to hand out jobs (%s); retry in 1 s.", exc)
                        await self._after_refusal(exc)
                        await asyncio.sleep(1)
                        continue
                    if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                        raise
                    # Redis restarted without persistence (or the stream was deleted): the
                    # consumer group is gone; make it again rather than stop working.
                    logger.warning(
                        "The consumer group of %s is gone; creating it again.", self.queue_name
                    )
                    await self._declare_consumer_group()
                    continue
                for _, entries in fetched or ():
                    for message in self._hold_all(entries):
                        yield message

    async def _reclaim(self, client: Redis) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Take over entries other consumers left idle past the timeout, as many as there
        are free slots. (XPENDING's IDLE filter finds them wherever they are among the
        pending entries; XAUTOCLAIM would look only at the first ten per entry asked for,
        and miss a dead worker's job behind running ones.)"""
        wanted = self._free()
        found: list[tuple[bytes, dict[bytes, bytes]]] = []
        for _ in range(10):
            need = wanted - len(found)
            idle: Any = await client.xpending_range(
                self.queue_name,
                self.consumer_group_name,
                min="-",
                max="+",
                count=need + len(self.held),  # ours are listed too (after a stall)
                idle=self.idle_timeout,
            )
            ids = [entry["message_id"] for entry in idle if entry["message_id"] not in self.held]
            if not ids:
                break
            # min_idle_time again: an entry renewed meanwhile by its worker stays with it.
            claimed: Any = await client.xclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                message_ids=ids[:need],
            )
            got = [(entry_id, fields) for entry_id, fields in claimed if fields]
            found += got
            # Some could not be claimed (their stream entry deleted, or renewed meanwhile):
            # look again, the next idle ones may be behind them.
            if len(found) >= wanted or len(got) == len(ids[:need]):
                break
        return found

    def _free(self) -> int:
        """How many entries to read: the free slots. taskiq's receiver asks for a message
        only once a slot is free, so everything read starts at once and no job waits here
        behind long ones while other workers are idle."""
        return max(1, (self.count or 1) - len(self.held))

    def _hold_all(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[AckableMessage]:
        """Hold every entry read at once: until the receiver starts it, it is renewed by the
        heartbeat (or another worker would take it as idle) and handed back if the worker
        stops."""
        messages = []
        for entry_id, fields in entries:
            data = fields[b"data"]
            try:
                job_id = str(orjson.loads(data)["task_id"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                job_id = ""  # not a taskiq message: taskiq acknowledges and drops it
            self.held[entry_id] = (job_id, data)
            messages.append(AckableMessage(data=data, ack=functools.partial(self._ack, entry_id)))
        return messages

    async def _ack(self, entry_id: bytes) -> None:
        """Store the job's outcome and acknowledge its entry, in one script; retried until
        Redis takes it (the worker's stop cancels it after a while: the entry is then still
        held, and handed back).

        A job whose handler ended without an outcome (``unsettled``) is not acknowledged:
        while the worker runs it stays pending and is reclaimed after ``redelivery_timeout``
        (by any worker: a refused start gets that long to recover); once the worker stops it
        is still held, and :meth:`release` hands it back at once. Messages taskiq dropped
        without running the handler (unreadable ones) are acknowledged and deleted.
        """
        held = self.held.get(entry_id)
        if held is None:  # handed back, or left pending, at the worker's stop
            return
        job_id = held[0]
        if job_id in self.unsettled:
            self.unsettled.discard(job_id)
            if not self.stopping:
                del self.held[entry_id]
            return
        finish = self.finishing.pop(job_id, NOTHING)
        retry_data, retry_at = finish.retry or (b"", 0.0)
        fields = [item for pair in finish.fields.items() for item in pair]
        keys = [self.queue_name, self.record_key(job_id), self.delayed_key]
        args = [
            self.consumer_group_name,
            entry_id,
            self.consumer_name,
            self.result_ttl if finish.finished else "",
            retry_data,
            repr(retry_at),
            *fields,
        ]
        delay = 0.1
        while True:
            try:
                await ACK.arun(self.client, keys, args)
                break
            except RedisError as exc:  # unreachable, or refusing writes (OOM, READONLY…)
                logger.warning(
                    "Could not store the outcome of job %s (%s); trying again in %.1f s.",
                    job_id,
                    exc,
                    delay,
                )
                await self._after_refusal(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.held.pop(entry_id, None)

    async def _after_refusal(self, exc: Exception) -> None:
        """After READONLY, drop the connections: they lead to a server that became a replica,
        and the URL may lead to the new primary by now (a failover behind a DNS name or a
        virtual IP; Redis does not close its clients' connections when it is demoted)."""
        if isinstance(exc, ReadOnlyError):
            await adrop_connections(self.connection_pool)

    async def heartbeat(self) -> None:
        """Renew this worker's claim on the entries it holds, forever (cancel to stop)."""
        while True:
            await asyncio.sleep(self.redelivery_timeout / 3)
            held = list(self.held)
            if held:
                with contextlib.suppress(Exception):  # a Redis hiccup: the next beat retries
                    await HEARTBEAT.arun(
                        self.client,
                        [self.queue_name],
                        [self.consumer_group_name, self.consumer_name, *held],
                    )

    async def release(self, keep: Collection[str] = ()) -> int:
        """Put the entries still held back on the stream (jobs marked queued again), but
        those of the jobs in ``keep``; with none kept, leave the consumer group if nothing is
        pending for it. Returns how many were handed back.

        A read cancelled at shutdown may have had entries assigned to this consumer whose
        reply never arrived: they stay pending under its name (deleting the consumer would
        delete them), and another worker reclaims them after ``redelivery_timeout``.
        """
        held = {entry: job for entry, job in self.held.items() if job[0] not in keep}
        for entry_id in held:
            del self.held[entry_id]
        if held:
            keys = [self.queue_name, *(self.record_key(job_id) for job_id, _ in held.values())]
            pairs = [item for entry_id, (_, data) in held.items() for item in (entry_id, data)]
            arguments = [self.consumer_group_name, self.consumer_name, *pairs]
            await RELEASE.arun(self.client, keys, arguments)
        if keep:
            return len(held)
        pending: Any = await self.client.xpending_range(
            self.queue_name,
            self.consumer_group_name,
            min="-",
            max="+",
            count=1,
            consumername=self.consumer_name,
        )
        if not pending:
            await self.client.xgroup_delconsumer(
                self.queue_name, self.consumer_group_name, self.consumer_name
            )
        return len(held)

    async def shutdown(self) -> None:
        """Close the connections."""
        await self.client.aclose()
        await super().shutdown()


def raise_if_cancelled() -> None:
    """Re-raise a cancellation that Python 3.11's ``asyncio.wait_for`` (used by redis-py for
    every command with a socket timeout) drops when it lands as the command completes:
    without this, a worker asked to stop kept reading forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

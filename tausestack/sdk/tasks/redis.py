"""The ``redis`` backend: taskiq workers on a Redis stream (``tausestack worker``).

Why taskiq: its tasks are native ``async`` functions, its Redis stream broker acknowledges a
job only after it ran (at-least-once: a job held by a worker that dies is given to another),
it is actively maintained and works with redis-py 8. arq pins redis<6 and is in maintenance
mode, Celery has no native async tasks, Dramatiq runs on threads.

Keys, all under ``tasks.redis.queue`` (``Q``): the stream ``Q`` (jobs ready to run, as
taskiq messages), the sorted set ``Q:delayed`` (delayed jobs and retries, scored by when they
may start; workers move due ones to the stream atomically), ``Q:job:<id>`` (each job's status
record, kept ``result_ttl`` seconds once finished) and ``Q:cron:<task>:<time>`` (which
worker fired a schedule's time, so several workers fire it once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio
from taskiq import Context, TaskiqDepends, TaskiqMessage
from taskiq.acks import AcknowledgeType
from taskiq.formatters.json_formatter import JSONFormatter
from taskiq.receiver import Receiver

from .._redis import adrop_connections, drop_connections, reconnecting
from ._jobs import JobInfo, JobRequest, new_job_id, record_to_info
from ._redis_broker import (
    NOTHING,
    Finish,
    LuaScript,
    Running,
    StreamBroker,
    raise_if_cancelled,
)
from ._runner import JobRunner, settle
from ._schedule import CronClock
from .base import AbstractTaskBackend
from .errors import TasksBackendError

if TYPE_CHECKING:
    from ...settings import Settings

__all__ = ["RedisTaskBackend"]

logger = logging.getLogger(__name__)

#: Longest sleep of a worker's scheduler: delayed jobs queued by other processes start at
#: most this late.
SCHEDULER_POLL = 0.25
#: Seconds a schedule's claim is kept (longer than any clock difference between workers).
CRON_CLAIM_TTL = 600
#: Seconds closing connections may take at shutdown.
CLOSE_TIMEOUT = 5.0

# KEYS: the record; ARGV: now, task, max attempts, result ttl, job id, this attempt's token
# (run twice, as a retry after a lost reply does, it starts one attempt).
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'succeeded' or status == 'failed' then return {status, 0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if status == 'running' and redis.call('HGET', KEYS[1], 'attempt') == ARGV[6] then
  return {'running', attempts}
end
if status == 'running' then
  local lost = 'WorkerLost: the worker running attempt ' .. attempts ..
    ' stopped before it finished (killed, crashed or cut off from Redis)'
  if attempts >= tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[1], 'status', 'failed', 'error', lost, 'traceback', '',
      'finished_at', ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    return {'failed', attempts}
  end
  redis.call('HSET', KEYS[1], 'error', lost, 'traceback', '')
end
redis.call('HSET', KEYS[1], 'id', ARGV[5], 'task', ARGV[2], 'status', 'running',
  'attempts', attempts + 1, 'started_at', ARGV[1], 'attempt', ARGV[6])
return {'running', attempts + 1}
"""

# KEYS: the delayed set, the stream; ARGV: now, how many at most.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, data in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'data', data)
  redis.call('ZREM', KEYS[1], data)
end
local upcoming = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, upcoming[2] or false}
"""

# KEYS: the claim, the record, the stream; ARGV: message, claim ttl, now, task, job id.
_FIRE = """
if redis.call('SET', KEYS[1], ARGV[5], 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[3], '*', 'data', ARGV[1])
  redis.call('HSET', KEYS[2], 'id', ARGV[5], 'task', ARGV[4], 'status', 'queued',
    'attempts', 0, 'enqueued_at', ARGV[3])
  return 1
end
return 0
"""

# KEYS: the stream (or the delayed set), the record; ARGV: the message, its score in the
# delayed set ('' for the stream), then the record's field/value pairs. The entry is written
# first: a script stops at its first error, so a refused XADD/ZADD leaves no record behind
# (MULTI would have run the HSET anyway), and a worker's START writes a missing record. Run
# twice (a retry after a lost reply), it queues the job once.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[2] == '' then
  redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
return 1
"""

START, MOVE_DUE, FIRE = LuaScript(_START), LuaScript(_MOVE_DUE), LuaScript(_FIRE)
ENQUEUE = LuaScript(_ENQUEUE)
#: The taskiq context (the message being run), injected into the job handler by taskiq.
_CONTEXT: Any = TaskiqDepends()


class RedisTaskBackend(AbstractTaskBackend):
    """Jobs on a Redis stream, run by ``tausestack worker`` processes (see the module)."""

    name = "redis"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        options = self.settings.redis
        self.url = options.url
        self.queue = options.queue
        self.delayed_key = f"{self.queue}:delayed"
        self.result_ttl = options.result_ttl
        self._sync = redis.Redis.from_url(self.url, **reconnecting())
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis]
        self._clients = weakref.WeakKeyDictionary()
        # The workers' broker reads messages with the same taskiq formatter.
        self._formatter = JSONFormatter()
        self._broker: StreamBroker | None = None
        self._runner: JobRunner | None = None
        self._scheduled = asyncio.Event()

    def record_key(self, job_id: str) -> str:
        """The key of a job's status record."""
        return f"{self.queue}:job:{job_id}"

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = redis.asyncio.Redis.from_url(
                self.url, **reconnecting(asynchronous=True)
            )
        return client

    def _where(self) -> str:
        host = self.url.rpartition("@")[2]
        return f"Redis at {host.split('/')[0]} (tasks.redis.url), queue {self.queue!r}"

    def _failure(self, operation: str, exc: Exception) -> TasksBackendError:
        return TasksBackendError(f"Tasks backend: {operation} failed on {self._where()}: {exc}")

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, runner: JobRunner) -> None:
        """Reach Redis at startup, so a wrong URL fails there, naming it."""
        self._runner = runner
        try:
            await self._client().ping()
        except redis.RedisError as exc:
            raise self._failure("connecting", exc) from None

    async def stop(self) -> None:
        """Close this backend's connections."""
        clients = list(self._clients.items())
        self._clients.clear()
        current = asyncio.get_running_loop()
        for loop, client in clients:
            if loop is current:
                with contextlib.suppress(redis.RedisError, TimeoutError):
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await client.aclose()
        self._sync.close()

    # -- enqueueing and status --------------------------------------------------------------

    def message(self, job: JobRequest) -> bytes:
        """The job as the stream entry's data: a taskiq message."""
        message = TaskiqMessage(
            task_id=job.id, task_name=job.task, labels={}, args=job.args, kwargs=job.kwargs
        )
        return self._formatter.dumps(message).message

    def _enqueue_call(self, job: JobRequest) -> tuple[list[str], list[Any]]:
        """The ENQUEUE script's keys and arguments for ``job``."""
        data = self.message(job)
        if job.run_at is not None and job.run_at > time.time():
            target, score = self.delayed_key, repr(job.run_at)
        else:
            target, score = self.queue, ""
        fields = [item for pair in job.record().items() for item in pair]
        return [target, self.record_key(job.id)], [data, score, *fields]

    def enqueue(self, job: JobRequest) -> None:
        try:
            ENQUEUE.run(self._sync, *self._enqueue_call(job))
        except redis.RedisError as exc:
            if isinstance(exc, redis.ReadOnlyError):  # see StreamBroker._after_refusal
                drop_connections(self._sync.connection_pool)
            raise self._failure(f"enqueueing a job of task {job.task!r}", exc) from None

    async def aenqueue(self, job: JobRequest) -> None:
        client = self._client()
        try:
            await ENQUEUE.arun(client, *self._enqueue_call(job))
        except redis.RedisError as exc:
            if isinstance(exc, redis.ReadOnlyError):  # see StreamBroker._after_refusal
                await adrop_connections(client.connection_pool)
            raise self._failure(f"enqueueing a job of task {job.task!r}", exc) from None

    def get_job(self, job_id: str) -> JobInfo | None:
        try:
            record: Any = self._sync.hgetall(self.record_key(job_id))
        except redis.RedisError as exc:
            raise self._failure(f"reading job {job_id}", exc) from None
        return _info(record)

    async def aget_job(self, job_id: str) -> JobInfo | None:
        try:
            record: Any = await self._client().hgetall(self.record_key(job_id))
        except redis.RedisError as exc:
            raise self._failure(f"reading job {job_id}", exc) from None
        return _info(record)

    # -- the worker -------------------------------------------------------------------------

    async def run_worker(
        self, runner: JobRunner, *, concurrency: int, stopping: asyncio.Event
    ) -> None:
        """Run jobs with ``concurrency`` at once until ``stopping`` is set; then give running
        jobs ``tasks.shutdown_timeout`` seconds and hand the others back to the queue."""
        self._runner = runner
        broker = StreamBroker(
            self.url,
            queue=self.queue,
            record_key=self.record_key,
            delayed_key=self.delayed_key,
            result_ttl=self.result_ttl,
            redelivery_timeout=self.settings.redis.redelivery_timeout,
            concurrency=concurrency,
        )
        broker.is_worker_process = True
        handler = self._handler(broker)
        broker.fallback = broker.register_task(handler, task_name="tausestack.unknown-task")
        for name in runner.plans:
            broker.register_task(handler, task_name=name)
        receiver = Receiver(
            broker,
            validate_params=False,
            max_async_tasks=concurrency,
            run_startup=False,
            ack_type=AcknowledgeType.WHEN_SAVED,
            wait_tasks_timeout=self.settings.shutdown_timeout,
        )
        await broker.startup()
        heartbeat = asyncio.create_task(broker.heartbeat())
        scheduler = asyncio.create_task(self._schedule(runner, broker, stopping))
        wind_down = functools.partial(self._wind_down, runner, broker, scheduler, heartbeat)
        try:
            await receiver.listen(stopping)
        except BaseException:
            await _to_the_end(wind_down())
            raise  # what ended the listening (a cancellation: the CLI's second signal)
        if await _to_the_end(wind_down()):
            raise asyncio.CancelledError

    async def _wind_down(
        self,
        runner: JobRunner,
        broker: StreamBroker,
        scheduler: asyncio.Task[None],
        heartbeat: asyncio.Task[None],
    ) -> None:
        """Once running jobs had their ``shutdown_timeout``: hand back the jobs not started,
        interrupt the async ones still running, wait for the sync ones (a thread cannot be
        interrupted) and for those that ignore their cancellation — their outcome is stored
        as usual, and the heartbeat keeps other workers off them meanwhile — then hand back
        to the queue what is still held."""
        broker.stopping = True
        scheduler.cancel()
        await asyncio.gather(scheduler, return_exceptions=True)
        with contextlib.suppress(redis.RedisError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await broker.release(keep=set(broker.callbacks.values()))
        running = dict(broker.running)
        interrupted = [
            callback for callback, job in running.items() if job.job_id not in runner.threads
        ]
        for callback in interrupted:
            callback.cancel()
        if interrupted:
            ended = [running[callback].ended for callback in interrupted]
            await asyncio.wait(ended, timeout=CLOSE_TIMEOUT)
        waiting = {job.job_id: job.ended for job in running.values() if not job.ended.done()}
        if waiting:
            logger.warning(
                "Waiting for job(s) %s to return before the worker stops: a sync task's "
                "thread cannot be interrupted, nor a task that ignores its cancellation.",
                ", ".join(sorted(waiting)),
            )
            await asyncio.wait(waiting.values())
        # Their acknowledgements: retried while Redis refuses them, so bounded; what is
        # not acknowledged by then is handed back (and runs again).
        if broker.callbacks:
            callbacks = list(broker.callbacks)
            await asyncio.wait(callbacks, timeout=CLOSE_TIMEOUT)
            for callback in callbacks:
                callback.cancel()
            await asyncio.gather(*callbacks, return_exceptions=True)
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        # Bounded: a Redis that stopped answering must not keep the worker from exiting
        # (what it still held is reclaimed after redelivery_timeout anyway).
        with contextlib.suppress(redis.RedisError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await broker.release()
        with contextlib.suppress(redis.RedisError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await broker.shutdown()

    def _handler(self, broker: StreamBroker) -> Any:
        async def run_job(
            *args: Any, _tausestack_context: Context = _CONTEXT, **kwargs: Any
        ) -> None:
            message = _tausestack_context.message
            job_id, name = message.task_id, message.task_name
            current = asyncio.current_task()
            assert current is not None
            broker.callbacks[current] = job_id
            current.add_done_callback(functools.partial(_forget, broker.callbacks))
            ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            broker.running[current] = Running(job_id, ended)
            finish: Finish | None = None
            try:
                finish = await self._run_job(broker, message, list(args), kwargs)
            except asyncio.CancelledError:
                if not broker.stopping:
                    raise
                logger.warning(
                    "Job %s of task %r was still running when the worker stopped: "
                    "interrupted, it goes back to the queue.",
                    job_id,
                    name,
                )
            except redis.RedisError as exc:
                logger.error(
                    "Job %s of task %r could not start: %s. It stays queued and is tried "
                    "again after tasks.redis.redelivery_timeout.",
                    job_id,
                    name,
                    self._failure("starting the job", exc),
                )
            finally:
                del broker.running[current]
                ended.set_result(None)
                # Without an outcome the job is not acknowledged: it runs again.
                if finish is None:
                    broker.unsettled.add(job_id)
                else:
                    broker.finishing[job_id] = finish

        return run_job

    async def _run_job(
        self, broker: StreamBroker, message: TaskiqMessage, args: list[Any], kwargs: dict[str, Any]
    ) -> Finish:
        """Run one attempt of the job; return what its acknowledgement writes."""
        runner = self._runner
        assert runner is not None
        job_id, name = message.task_id, message.task_name
        key = self.record_key(job_id)
        started = await START.arun(
            broker.client,
            [key],
            [
                repr(time.time()),
                name,
                runner.max_attempts(name),
                self.result_ttl,
                job_id,
                new_job_id(),  # this attempt's token
            ],
        )
        raise_if_cancelled()
        if started[0] != b"running":  # already finished: a duplicate delivery, or out of attempts
            return NOTHING
        attempts = int(started[1])
        if name in runner.plans:
            outcome = await runner.run(name, args, kwargs, job_id)
        else:
            outcome = runner.unknown(name)
        settlement = settle(runner, name, attempts, outcome, time.time())
        retry = None
        if settlement.retry_at is not None:
            retry = (self._formatter.dumps(message).message, settlement.retry_at)
            self._scheduled.set()
        return Finish(settlement.fields, settlement.finished, retry)

    async def _schedule(
        self, runner: JobRunner, broker: StreamBroker, stopping: asyncio.Event
    ) -> None:
        """Move due delayed jobs and retries to the stream; fire cron schedules."""
        clock = CronClock(runner.schedules, datetime.now(UTC))
        client = broker.client
        while not stopping.is_set():
            now = time.time()
            try:
                _, upcoming = await MOVE_DUE.arun(
                    client, [self.delayed_key, self.queue], [repr(now), 100]
                )
                for name, when in clock.due(datetime.fromtimestamp(now, UTC)):
                    await self._fire(client, name, when)
            except redis.RedisError as exc:
                # Delays, retries and cron must outlive a Redis hiccup (a restart, OOM).
                logger.error("The task scheduler could not reach Redis (%s); retrying.", exc)
                await asyncio.sleep(1)
                continue
            wake = [now + SCHEDULER_POLL]
            if upcoming:
                wake.append(float(upcoming))
            cron_next = clock.next_time()
            if cron_next is not None:
                wake.append(cron_next.timestamp())
            self._scheduled.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(min(wake) - time.time(), 0.0)):
                    await self._scheduled.wait()

    async def _fire(self, client: redis.asyncio.Redis, name: str, when: datetime) -> None:
        job = JobRequest(task=name, args=[], kwargs={}, id=new_job_id())
        claim = f"{self.queue}:cron:{name}:{int(when.timestamp())}"
        await FIRE.arun(
            client,
            [claim, self.record_key(job.id), self.queue],
            [self.message(job), CRON_CLAIM_TTL, repr(job.enqueued_at), name, job.id],
        )


def _forget(callbacks: dict[asyncio.Task[Any], str], callback: asyncio.Task[Any]) -> None:
    callbacks.pop(callback, None)


async def _to_the_end(wind_down: Coroutine[Any, Any, None]) -> bool:
    """Run the worker's stop to its end even when cancelled meanwhile (the worker's CLI
    cancels on every signal after the first): cut off half-way, it would leave jobs held
    with nobody renewing their claim. Returns whether it was cancelled meanwhile."""
    stop = asyncio.ensure_future(wind_down)
    cancelled = False
    while True:
        try:
            await asyncio.shield(stop)
            return cancelled
        except asyncio.CancelledError:
            if stop.done():
                raise
            cancelled = True
            logger.warning(
                "Still stopping: waiting for running jobs that cannot be interrupted, then "
                "handing the others back. SIGKILL stops at once (its jobs then run again "
                "after tasks.redis.redelivery_timeout)."
            )


def _info(record: dict[bytes, bytes]) -> JobInfo | None:
    if not record:
        return None
    return record_to_info({key.decode(): value.decode() for key, value in record.items()})

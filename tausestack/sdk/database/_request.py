"""The sessions of one request: created on first use, committed before the response.

Rules, each closing a way requests could lose or share data:

* one request, one transaction: the first database call picks sync or async, and the other
  kind is refused rather than opening a second, independent transaction;
* the request's session belongs to the request's own task; tasks it starts (``gather``, a
  streaming body) use short sessions of their own instead of sharing it concurrently;
* a sync endpoint's transaction ends in the endpoint's thread as it returns (committed, or
  rolled back if it raised), so the connection is back in the pool before FastAPI needs another
  thread to serialize the response — otherwise threads waiting for connections could wait on
  requests waiting for threads. The session stays open for lazy loads while the response is
  built;
* just before the response starts the session is committed (or rolled back if the request
  failed) and closed, so its connection goes back to the pool; code that runs afterwards
  (background tasks, streamed bodies) uses short sessions that commit themselves;
* a websocket has no ambient session — each repository call commits on its own — and a
  session injected into one is committed when the connection ends, a normal disconnect
  included.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from ...di._scope import REQUEST_TASK_KEY, RequestScope
from .errors import DatabaseError

if TYPE_CHECKING:
    from ._database import Database


class RequestSessions:
    """The sync or async session of one request for one database."""

    def __init__(self, database: Database, scope: RequestScope) -> None:
        self.database = database
        self.scope = scope
        asgi = scope.connection.scope if scope.connection is not None else {}
        self.websocket = asgi.get("type") == "websocket"
        self.task = asgi.get(REQUEST_TASK_KEY)
        self.sync: Session | None = None
        self.asynchronous: AsyncSession | None = None
        self.finished = False  # the response has started: no more request-wide session
        scope.before_response(self.commit)
        scope.after_sync_endpoint(self.endpoint_returned)
        scope.stack.push_async_exit(self.finish)

    @classmethod
    def of(cls, database: Database, scope: RequestScope) -> RequestSessions:
        """The request's sessions for ``database``, set up on first use."""
        key = (id(database), "sessions")
        sessions: RequestSessions | None = scope.values.get(key)
        if sessions is None:
            sessions = scope.values[key] = cls(database, scope)
        return sessions

    # -- the ambient session (repositories, sdk.database) ---------------------------------------

    def ambient_sync(self) -> Session | None:
        """The session repositories use now, or None for a short session of their own."""
        if self.finished or self.websocket:
            return None
        return self.sync_session()

    def ambient_async(self) -> AsyncSession | None:
        """The async session repositories use now, or None for a short one."""
        if self.finished or self.websocket or not self._in_request_task():
            return None
        return self.async_session()

    def _in_request_task(self) -> bool:
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no running loop: not the request's task
            return False
        return self.task is None or current is self.task

    # -- the request's sessions (also what DI injects) ------------------------------------------

    def sync_session(self) -> Session:
        """The request's sync session."""
        if self.asynchronous is not None:
            raise _mixed("a sync", "an async", "aget, acreate…")
        if self.sync is None:
            self.sync = self.database.new_session()
        return self.sync

    def async_session(self) -> AsyncSession:
        """The request's async session."""
        if self.sync is not None:
            raise _mixed("an async", "a sync", "get, create… (without the a prefix)")
        if self.asynchronous is None:
            self.asynchronous = self.database.new_async_session()
        return self.asynchronous

    # -- ending ---------------------------------------------------------------------------------

    def endpoint_returned(self, succeeded: bool) -> None:
        """In a sync endpoint's thread, as it returns: end its transaction now (see above).

        A failing commit raises from the endpoint, so the request fails with it.
        """
        if self.sync is None or self.finished:
            return
        if succeeded:
            self.sync.commit()
        else:
            self.sync.rollback()

    async def commit(self) -> None:
        """Before the response: commit (or roll back a failed request) and give back the
        connection. A failing commit propagates, turning the response into a 500."""
        self.finished = True
        await self._end(success=self.scope.exception is None)

    async def finish(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        """When the request or websocket ends: settle whatever is still open.

        A websocket closed normally by the client (code 1000 or 1001) counts as success.
        """
        self.finished = True
        error = exc if exc is not None else self.scope.exception
        closed_normally = isinstance(error, WebSocketDisconnect) and error.code in (1000, 1001)
        await self._end(success=error is None or closed_normally)
        return False

    async def _end(self, *, success: bool) -> None:
        sync, self.sync = self.sync, None
        asynchronous, self.asynchronous = self.asynchronous, None
        if sync is not None:
            limiter = _commit_limiter(self.database)
            await anyio.to_thread.run_sync(_settle, sync, success, limiter=limiter)
        if asynchronous is not None:
            try:
                if success:
                    await asynchronous.commit()
                else:
                    await asynchronous.rollback()
            finally:
                await asynchronous.close()


def _settle(session: Session, success: bool) -> None:
    try:
        if success:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


_LIMITERS: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _commit_limiter(database: Database) -> anyio.CapacityLimiter:
    """Threads for commits apart from the endpoints' pool, one per pooled connection.

    Sync endpoints hold their connection until the commit runs; if commits waited for the same
    threads as endpoints blocked on the pool, a busy app would deadlock.
    """
    loop = asyncio.get_running_loop()
    size = max(1, database.settings.pool_size + database.settings.max_overflow)
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(size)
    elif limiter.total_tokens < size:
        limiter.total_tokens = size
    return limiter


def _mixed(this: str, other: str, methods: str) -> DatabaseError:
    return DatabaseError(
        f"This request already uses {other} database session; {this} one would be a second, "
        f"separate transaction. Use the same kind throughout one request ({methods}), or open "
        "your own with database.new_session() / new_async_session()."
    )

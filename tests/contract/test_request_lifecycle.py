"""What happens to the request's session around its edges: after the response starts, in tasks
the request starts, in websockets, in nested transactions, and under a small pool."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import BackgroundTasks, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from tausestack import Controller, Inject, TauseStackApp, get, post, websocket
from tausestack.sdk.database import Database, DatabaseError
from tausestack.testing import AsyncTestClient, TestClient
from tests.contract.conftest import build
from tests.contract.models import (
    Hero,
    HeroCreate,
    HeroRead,
    HeroReadWithPowers,
    HeroRepository,
    PowerRepository,
)

LATER: list[asyncio.Task[None]] = []


class Boom(Exception):
    pass


@Controller("/life")
class LifecycleController:
    def __init__(self, heroes: HeroRepository, db: Database) -> None:
        self.heroes, self.db = heroes, db

    @post("/background")
    async def background(self, tasks: BackgroundTasks) -> dict[str, bool]:
        await self.heroes.acreate({"name": "request"})
        tasks.add_task(self.heroes.acreate, {"name": "async-task"})
        tasks.add_task(self.heroes.create, {"name": "sync-task"})  # the request used async
        return {"ok": True}

    @post("/background-sync")
    def background_sync(self, tasks: BackgroundTasks) -> dict[str, bool]:
        self.heroes.create({"name": "sync-request"})
        tasks.add_task(self.heroes.acreate, {"name": "async-task-2"})  # the request used sync
        return {"ok": True}

    @get("/stream")
    async def stream(self) -> StreamingResponse:
        await self.heroes.acreate({"name": "before"})

        async def body() -> AsyncIterator[bytes]:
            yield b"start;"
            hero = await self.heroes.acreate({"name": "streamed"})
            yield f"{hero.name}".encode()

        return StreamingResponse(body())

    @post("/savepoint-first")
    async def savepoint_first(self) -> dict[str, int]:
        try:  # the request's first statement is a nested transaction that fails
            async with self.db.transaction():
                await self.heroes.acreate({"name": "inner"})
                raise Boom
        except Boom:
            pass
        await self.heroes.acreate({"name": "outer"})
        return {"count": await self.heroes.acount()}

    @post("/savepoint-first-sync")
    def savepoint_first_sync(self) -> dict[str, int]:
        try:
            with self.db.transaction():
                self.heroes.create({"name": "inner"})
                raise Boom
        except Boom:
            pass
        self.heroes.create({"name": "outer"})
        return {"count": self.heroes.count()}

    @post("/mixed")
    async def mixed(self) -> None:
        await self.heroes.acreate({"name": "first"})
        self.heroes.create({"name": "second"})  # a second, separate transaction: refused

    @post("/gather")
    async def gather(self) -> dict[str, int]:
        await asyncio.gather(
            self.heroes.acreate({"name": "g1"}), self.heroes.acreate({"name": "g2"})
        )
        return {"count": await self.heroes.acount()}

    @post("/outlive")
    async def outlive(self) -> None:
        await self.heroes.acreate({"name": "now"})

        async def later() -> None:
            await asyncio.sleep(0.05)
            await self.heroes.acreate({"name": "later"})

        LATER.append(asyncio.create_task(later()))

    @post("/sync", status_code=201)
    def create_sync(self, body: HeroCreate) -> HeroRead:
        return self.heroes.create(body)  # type: ignore[return-value]

    @get("/lazy/{hero_id}")
    def lazy(self, hero_id: int) -> HeroReadWithPowers:
        # Powers are not loaded here: building the response loads them, after the endpoint's
        # own transaction has been committed in its thread.
        return self.heroes.get_or_404(hero_id)  # type: ignore[return-value]

    @post("/late-conflict-sync")
    def late_conflict_sync(self, body: HeroCreate, session: Inject[Session]) -> dict[str, str]:
        session.add(Hero(name=body.name))  # not flushed: the unique name clashes at commit
        return {"status": "accepted"}

    @get("/page")
    async def page(self, after: str | None = None) -> dict[str, Any]:
        found = await self.heroes.acursor_page(after=after, size=1, order_by="name")
        return {"names": [hero.name for hero in found.items], "next": found.next_cursor}

    @get("/names")
    def names(self) -> list[str]:
        return sorted(hero.name for hero in self.heroes.list())

    @websocket("/ws")
    async def feed(self, socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                hero = await self.heroes.acreate({"name": await socket.receive_text()})
                await socket.send_json({"id": hero.id})
        except WebSocketDisconnect:
            pass

    @websocket("/ws-session")
    async def feed_session(
        self, socket: WebSocket, session: Inject[AsyncSession], catch: bool = True
    ) -> None:
        await socket.accept()
        try:
            while True:
                name = await socket.receive_text()
                if name == "boom":
                    raise Boom
                session.add(Hero(name=name))
                await session.flush()
                await socket.send_text("ok")
        except WebSocketDisconnect:
            if not catch:
                raise


@pytest.fixture
def life_app(database_url: dict[str, str], tmp_path: Path) -> TauseStackApp:
    return build(database_url, tmp_path, LifecycleController)


def stored(app: TauseStackApp) -> list[str]:
    return sorted(hero.name for hero in app.container.get(HeroRepository).list())


def test_background_tasks_and_streamed_bodies_keep_their_writes(life_app: TauseStackApp) -> None:
    with TestClient(life_app) as client:
        assert client.post("/life/background").json() == {"ok": True}
        assert stored(life_app) == ["async-task", "request", "sync-task"]
        assert client.post("/life/background-sync").json() == {"ok": True}
        assert {"sync-request", "async-task-2"} <= set(stored(life_app))
        response = client.get("/life/stream")
        assert response.text == "start;streamed"
    assert {"before", "streamed"} <= set(stored(life_app))


def test_sync_endpoints_commit_as_they_return_and_still_lazy_load(
    life_app: TauseStackApp,
) -> None:
    flight = life_app.container.get(PowerRepository).create({"name": "flight"})
    ada = life_app.container.get(HeroRepository).create(Hero(name="ada", powers=[flight]))
    with TestClient(life_app, raise_server_exceptions=False) as client:
        assert client.get(f"/life/lazy/{ada.id}").json() == {
            "id": ada.id,
            "name": "ada",
            "age": None,
            "powers": [{"id": flight.id, "name": "flight"}],
        }
        response = client.post("/life/late-conflict-sync", json={"name": "ada"})
        assert response.status_code == 500  # the commit failed: never the endpoint's answer
        assert client.post("/life/late-conflict-sync", json={"name": "bob"}).json() == {
            "status": "accepted"
        }
    assert stored(life_app) == ["ada", "bob"]
    assert in_use(life_app) == 0


def test_a_bad_cursor_is_a_400(life_app: TauseStackApp) -> None:
    life_app.container.get(HeroRepository).bulk_create([{"name": "ada"}, {"name": "bob"}])
    with TestClient(life_app) as client:
        first = client.get("/life/page").json()
        assert first["names"] == ["ada"]
        assert client.get("/life/page", params={"after": first["next"]}).json() == {
            "names": ["bob"],
            "next": None,
        }
        response = client.get("/life/page", params={"after": first["next"][:-3] + "xyz"})
        assert response.status_code == 400
        assert "was not made by a Hero listing" in response.json()["detail"]


def test_a_failed_first_savepoint_rolls_back_only_itself(life_app: TauseStackApp) -> None:
    with TestClient(life_app) as client:
        assert client.post("/life/savepoint-first").json() == {"count": 1}
        assert stored(life_app) == ["outer"]
        life_app.container.get(HeroRepository).delete(
            life_app.container.get(HeroRepository).list()[0]
        )
        assert client.post("/life/savepoint-first-sync").json() == {"count": 1}
    assert stored(life_app) == ["outer"]


def test_mixing_sync_and_async_sessions_in_one_request_is_refused(
    life_app: TauseStackApp,
) -> None:
    with TestClient(life_app) as client, pytest.raises(DatabaseError) as caught:
        client.post("/life/mixed")
    assert "already uses an async database session" in str(caught.value)
    assert "new_session()" in str(caught.value)
    assert stored(life_app) == []  # the request failed: its first write is rolled back too


def test_tasks_started_by_a_request_use_sessions_of_their_own(life_app: TauseStackApp) -> None:
    with TestClient(life_app) as client:
        assert client.post("/life/gather").json() == {"count": 2}
    assert stored(life_app) == ["g1", "g2"]


@pytest.mark.anyio
async def test_a_task_outliving_its_request_commits_and_leaks_no_connection(
    life_app: TauseStackApp,
) -> None:
    LATER.clear()
    async with AsyncTestClient(life_app) as client:
        assert (await client.post("/life/outlive")).status_code == 200
        assert len(LATER) == 1
        await asyncio.wait_for(LATER[0], timeout=10)
        assert await life_app.container.get(HeroRepository).acount() == 2
        assert in_use(life_app) == 0
    assert stored(life_app) == ["later", "now"]


def test_websocket_writes_commit_as_they_happen(life_app: TauseStackApp) -> None:
    with TestClient(life_app) as client, client.websocket_connect("/life/ws") as socket:
        socket.send_text("ada")
        assert socket.receive_json()["id"] > 0
        assert stored(life_app) == ["ada"]  # visible while the socket is still open
        socket.send_text("bob")
        socket.receive_json()
        assert stored(life_app) == ["ada", "bob"]
    assert stored(life_app) == ["ada", "bob"]


def eventually(check: Callable[[], bool]) -> bool:
    """Poll ``check`` for up to five seconds (the server ends a websocket in its own thread)."""
    deadline = time.monotonic() + 5
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def in_use(app: TauseStackApp) -> int:
    """Connections checked out of the app's pools."""
    database = app.container.get(Database)
    pools = [database.engine.pool, database.async_engine.sync_engine.pool]
    return sum(pool.checkedout() for pool in pools)  # type: ignore[attr-defined]


def test_a_session_injected_into_a_websocket_commits_when_it_closes(
    life_app: TauseStackApp,
) -> None:
    # Starlette's test client cancels the app as its ``with`` block ends, which a server never
    # does; closing first and waiting for the server lets the app finish as it would for real.
    with TestClient(life_app) as client:
        with client.websocket_connect("/life/ws-session") as socket:
            socket.send_text("ada")
            assert socket.receive_text() == "ok"
            assert stored(life_app) == []  # one transaction for the whole connection
            socket.close(1000)
            # Wait for the connection to be back in its pool too: the test client cancels an app
            # still returning it as the block ends, and a cancelled app raises nothing.
            assert eventually(lambda: in_use(life_app) == 0)
            assert stored(life_app) == ["ada"]  # a normal close commits
        # The same when the handler lets the normal disconnect escape.
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/life/ws-session?catch=false") as socket,
        ):
            socket.send_text("cy")
            assert socket.receive_text() == "ok"
            socket.close(1001)
            assert eventually(lambda: in_use(life_app) == 0)
            assert stored(life_app) == ["ada", "cy"]
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/life/ws-session?catch=false") as socket,
        ):
            socket.send_text("dee")
            assert socket.receive_text() == "ok"
            assert in_use(life_app) == 1
            socket.close(4000)  # an application-defined error code: nothing is kept
            assert eventually(lambda: in_use(life_app) == 0)  # the session has ended
            assert stored(life_app) == ["ada", "cy"]
        with pytest.raises(Boom), client.websocket_connect("/life/ws-session") as socket:
            socket.send_text("bob")
            assert socket.receive_text() == "ok"
            socket.send_text("boom")
            socket.receive_text()
    assert stored(life_app) == ["ada", "cy"]  # the failed connections rolled back


def test_in_memory_sqlite_serves_sync_endpoints(tmp_path: Path) -> None:
    app = build("sqlite://", tmp_path, LifecycleController)
    with TestClient(app) as client:
        for name in ("ada", "bob"):
            assert client.post("/life/sync", json={"name": name}).status_code == 201
        assert client.get("/life/names").json() == ["ada", "bob"]


@pytest.mark.postgres
@pytest.mark.anyio
async def test_sync_endpoints_beyond_the_pool_size_do_not_deadlock(
    postgres_url: str, tmp_path: Path
) -> None:
    """120 sync requests on two pooled connections: more requests than threads, every thread
    waiting for a connection held by a request whose commit needs a thread."""
    app = build(
        {"url": postgres_url, "pool_size": "2", "max_overflow": "0"}, tmp_path, LifecycleController
    )
    statuses: list[int] = []
    async with AsyncTestClient(app) as client:

        async def one(index: int) -> None:
            response = await client.post("/life/sync", json={"name": f"hero-{index}"})
            statuses.append(response.status_code)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for index in range(120):
                    group.start_soon(one, index)
    assert statuses == [201] * 120
    assert len(stored(app)) == 120


def test_every_sync_endpoint_ends_its_transaction_in_its_thread(tmp_path: Path) -> None:
    """Controllers, included routers and routes added after create_app() are all covered."""
    from fastapi import APIRouter
    from fastapi.routing import APIRoute, iter_route_contexts

    from tausestack.web._middleware import SETTLING_MARK

    router = APIRouter(prefix="/plain")

    @router.get("/count")
    def count(heroes: Inject[HeroRepository]) -> int:
        return heroes.count()

    app = build(f"sqlite:///{tmp_path / 'app.db'}", tmp_path, LifecycleController, routers=[router])

    @app.post("/late")
    def late(heroes: Inject[HeroRepository]) -> int:
        return heroes.create({"name": "late"}).id or 0

    with TestClient(app) as client:
        assert client.post("/late").json() == 1
        assert client.get("/plain/count").json() == 1
        marked = {
            context.path: getattr(context.dependant.call, SETTLING_MARK, False)
            for context in iter_route_contexts(app.router.routes)
            if isinstance(context.original_route, APIRoute)
        }
    assert [marked["/late"], marked["/plain/count"], marked["/life/sync"]] == [True] * 3
    assert not marked["/life/gather"]  # async endpoints are left alone


def test_null_ordering_is_spelled_for_databases_without_nulls_last() -> None:
    from sqlalchemy.dialects import mysql, postgresql
    from sqlmodel import select

    from tausestack.sdk.database._filters import ordering

    statement = select(Hero).order_by(*ordering(Hero, ["-age", "age", "name"]))
    assert str(statement.compile(dialect=mysql.dialect())).endswith(
        "ORDER BY contract_hero.age IS NULL DESC, contract_hero.age DESC, "
        "contract_hero.age IS NULL ASC, contract_hero.age ASC, contract_hero.name ASC"
    )
    assert str(statement.compile(dialect=postgresql.dialect())).endswith(
        "ORDER BY contract_hero.age DESC NULLS FIRST, contract_hero.age ASC NULLS LAST, "
        "contract_hero.name ASC"  # a NOT NULL column keeps its plain, index-friendly order
    )

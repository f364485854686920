"""Request-scoped sessions and transactions over HTTP, on every database."""

from pathlib import Path

import anyio
import pytest
from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from tausestack import Controller, Inject, TauseStackApp, get, post, sdk
from tausestack.sdk.database import Database
from tausestack.testing import AsyncTestClient, TestClient
from tests.contract.conftest import build
from tests.contract.models import (
    Hero,
    HeroCreate,
    HeroRead,
    HeroReadWithPowers,
    HeroRepository,
    Power,
    PowerRepository,
    Squad,
    SquadReadWithHeroes,
    SquadRepository,
)


class Boom(Exception):
    pass


@Controller("/heroes")
class HeroController:
    def __init__(self, heroes: HeroRepository, squads: SquadRepository, db: Database) -> None:
        self.heroes, self.squads, self.db = heroes, squads, db

    @post("/", status_code=201)
    async def create(self, body: HeroCreate, fail: str = "") -> HeroRead:
        hero = await self.heroes.acreate(body)
        if fail == "http":
            raise HTTPException(409, "refused")
        if fail == "crash":
            raise Boom("crash")
        return hero

    @post("/sync", status_code=201)
    def create_sync(self, body: HeroCreate, fail: bool = False) -> HeroRead:
        hero = self.heroes.create(body)
        if fail:
            raise HTTPException(409, "refused")
        return hero

    @post("/injected")
    async def injected(
        self, body: HeroCreate, session: Inject[AsyncSession], raw: Inject[SQLAlchemyAsyncSession]
    ) -> dict[str, bool]:
        hero = await self.heroes.acreate(body)
        # The repository, the injected session and its SQLAlchemy alias are one request session.
        return {"same": session is raw, "pending": hero in session}

    @post("/sync-injected")
    def sync_injected(self, body: HeroCreate, session: Inject[Session]) -> dict[str, bool]:
        hero = self.heroes.create(body)
        return {"pending": hero in session}

    @post("/late-conflict")
    async def late_conflict(
        self, body: HeroCreate, session: Inject[AsyncSession]
    ) -> dict[str, str]:
        session.add(Hero(name=body.name))  # not flushed: the unique name clashes at commit
        return {"status": "accepted"}

    @post("/partial")
    async def partial(self, first: str, second: str) -> dict[str, int]:
        await self.heroes.acreate({"name": first})
        try:
            async with self.db.transaction():
                await self.heroes.acreate({"name": second})
                raise Boom("inner")
        except Boom:
            pass
        return {"count": await self.heroes.acount()}

    @get("/squads/{squad_id}")
    async def squad(self, squad_id: int) -> SquadReadWithHeroes:
        return await self.squads.aget_or_404(squad_id, load=["heroes"])  # type: ignore[return-value]

    @get("/{hero_id}/powers")
    def powers(self, hero_id: int) -> HeroReadWithPowers:
        return self.heroes.get_or_404(hero_id, load=["powers"])  # type: ignore[return-value]

    @get("/count")
    async def count(self) -> dict[str, int]:
        return {"heroes": await sdk.database.acount(Hero)}


@pytest.fixture
def http_app(database_url: dict[str, str], tmp_path: Path) -> TauseStackApp:
    return build(database_url, tmp_path, HeroController)


def stored(app: TauseStackApp) -> list[str]:
    return sorted(hero.name for hero in app.container.get(HeroRepository).list())


def test_a_successful_request_commits_before_answering(http_app: TauseStackApp) -> None:
    with TestClient(http_app) as client:
        response = client.post("/heroes/", json={"name": "ada"})
        assert response.status_code == 201
        assert stored(http_app) == ["ada"]
        assert client.post("/heroes/sync", json={"name": "bob"}).status_code == 201
    assert stored(http_app) == ["ada", "bob"]


@pytest.mark.parametrize(("fail", "status"), [("http", 409), ("crash", 500)])
def test_a_failed_request_rolls_back(http_app: TauseStackApp, fail: str, status: int) -> None:
    with TestClient(http_app, raise_server_exceptions=False) as client:
        assert (
            client.post("/heroes/", json={"name": "ada"}, params={"fail": fail}).status_code
            == status
        )
        assert (
            client.post("/heroes/sync", json={"name": "bob"}, params={"fail": True}).status_code
            == 409
        )
    assert stored(http_app) == []


def test_injected_sessions_are_the_request_session(http_app: TauseStackApp) -> None:
    with TestClient(http_app) as client:
        assert client.post("/heroes/injected", json={"name": "ada"}).json() == {
            "same": True,
            "pending": True,
        }
        assert client.post("/heroes/sync-injected", json={"name": "bob"}).json() == {
            "pending": True
        }
    assert stored(http_app) == ["ada", "bob"]


def test_a_failing_commit_turns_into_a_500(http_app: TauseStackApp) -> None:
    with TestClient(http_app, raise_server_exceptions=False) as client:
        assert client.post("/heroes/", json={"name": "ada"}).status_code == 201
        response = client.post("/heroes/late-conflict", json={"name": "ada"})
        assert response.status_code == 500  # never the handler's "accepted"
    assert stored(http_app) == ["ada"]


def test_nested_transactions_roll_back_alone(http_app: TauseStackApp) -> None:
    with TestClient(http_app) as client:
        assert client.post("/heroes/partial", params={"first": "a", "second": "b"}).json() == {
            "count": 1
        }
    assert stored(http_app) == ["a"]


def test_relationships_serialize_in_responses(http_app: TauseStackApp) -> None:
    squad = http_app.container.get(SquadRepository).create({"name": "avengers"})
    flight = http_app.container.get(PowerRepository).create({"name": "flight"})
    hero = http_app.container.get(HeroRepository).create(
        Hero(name="ada", age=36, squad_id=squad.id, powers=[flight])
    )
    with TestClient(http_app) as client:
        assert client.get(f"/heroes/squads/{squad.id}").json() == {
            "id": squad.id,
            "name": "avengers",
            "heroes": [{"id": hero.id, "name": "ada", "age": 36}],
        }
        assert client.get(f"/heroes/{hero.id}/powers").json() == {
            "id": hero.id,
            "name": "ada",
            "age": 36,
            "powers": [{"id": flight.id, "name": "flight"}],
        }
        assert client.get("/heroes/squads/999").status_code == 404
        assert client.get("/heroes/count").json() == {"heroes": 1}
    assert isinstance(Power, type)
    assert isinstance(Squad, type)


def test_transactions_outside_requests(app: TauseStackApp) -> None:
    database = app.container.get(Database)
    heroes = app.container.get(HeroRepository)
    with database.transaction() as session:
        heroes.create({"name": "ada"})
        assert session.in_transaction()
        with pytest.raises(Boom), database.transaction():
            heroes.create({"name": "bob"})
            raise Boom
        heroes.create({"name": "cy"})
    with pytest.raises(Boom), database.transaction():
        heroes.create({"name": "dee"})
        raise Boom
    assert sorted(hero.name for hero in heroes.list()) == ["ada", "cy"]


@pytest.mark.anyio
async def test_async_transactions_outside_requests(app: TauseStackApp) -> None:
    async with AsyncTestClient(app):
        database = app.container.get(Database)
        heroes = app.container.get(HeroRepository)
        async with database.transaction():
            await heroes.acreate({"name": "ada"})
            with pytest.raises(Boom):
                async with sdk.database.transaction():
                    await heroes.acreate({"name": "bob"})
                    raise Boom
        with pytest.raises(Boom):
            async with database.transaction():
                await heroes.acreate({"name": "cy"})
                raise Boom
        assert [hero.name for hero in await heroes.alist()] == ["ada"]


@pytest.mark.postgres
@pytest.mark.anyio
async def test_fifty_concurrent_requests_commit_or_roll_back_alone(
    postgres_url: str, tmp_path: Path
) -> None:
    app = build(postgres_url, tmp_path, HeroController)
    outcomes: dict[str, int] = {}
    async with AsyncTestClient(app) as client:

        async def one(index: int) -> None:
            path = "/heroes/sync" if index % 2 else "/heroes/"
            params = {}
            if index % 3 == 0:  # every third request fails after writing its row
                params = {"fail": "true" if path.endswith("sync") else "http"}
            response = await client.post(path, json={"name": f"hero-{index}"}, params=params)
            outcomes[f"hero-{index}"] = response.status_code

        async with anyio.create_task_group() as group:
            for index in range(50):
                group.start_soon(one, index)
    expected = sorted(name for name, status in outcomes.items() if status == 201)
    assert len(outcomes) == 50
    assert set(outcomes.values()) == {201, 409}
    assert len(expected) == 33
    assert stored(app) == expected

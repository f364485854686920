"""BaseRepository and the sdk.database functions, sync and async, on every database."""

import re
from typing import Any

import pytest
from fastapi import HTTPException
from sqlmodel import SQLModel

from tausestack import TauseStackApp, sdk
from tausestack.sdk.database import (
    CursorPage,
    Database,
    DatabaseError,
    DuplicateRecordError,
    InvalidCursorError,
    InvalidDataError,
    InvalidFilterError,
    InvalidPageError,
    Page,
    RecordNotFoundError,
)
from tausestack.testing import AsyncTestClient
from tests.contract.models import (
    Hero,
    HeroCreate,
    HeroRepository,
    Power,
    PowerRepository,
    Squad,
    SquadRepository,
)


class Recruit(SQLModel):
    """An input schema with a default of its own."""

    name: str
    age: int = 18


PEOPLE = [("ada", 36), ("bob", 20), ("cy", None), ("dee", 20), ("eve", 51), ("fox", 20)]


def seed(heroes: HeroRepository) -> list[Hero]:
    return heroes.bulk_create([{"name": name, "age": age} for name, age in PEOPLE])


def names(rows: list[Any]) -> list[str]:
    return [row.name for row in rows]


def test_create_get_update_delete(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    created = heroes.create(HeroCreate(name="ada", age=36))
    assert created.id is not None
    assert heroes.get(created.id) == created
    assert heroes.get(created.id + 100) is None
    assert heroes.create(Hero(name="bob")).name == "bob"
    assert heroes.create({"name": "cy", "age": 3}).age == 3
    updated = heroes.update(created.id, HeroCreate.model_validate({"name": "ada"}).model_copy())
    assert updated.age == 36  # unset fields of a pydantic model are left alone
    assert heroes.update(created, {"age": 37}).age == 37
    assert heroes.get(created.id).age == 37  # type: ignore[union-attr]
    assert heroes.delete(created.id) is True
    assert heroes.delete(created.id) is False
    assert heroes.get(created.id) is None
    with pytest.raises(RecordNotFoundError, match=r"No Hero with primary key 999"):
        heroes.update(999, {"age": 1})


def test_get_or_404(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    hero = heroes.create({"name": "ada"})
    assert heroes.get_or_404(hero.id) == hero
    with pytest.raises(HTTPException) as caught:
        heroes.get_or_404(12345)
    assert (caught.value.status_code, caught.value.detail) == (404, "Hero 12345 not found.")


def test_filters_every_operator(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    assert names(heroes.list(age=20, order_by="name")) == ["bob", "dee", "fox"]
    assert names(heroes.list(age__ne=20, order_by="name")) == ["ada", "eve"]
    assert names(heroes.list(age__lt=36, order_by="name")) == ["bob", "dee", "fox"]
    assert names(heroes.list(age__lte=36, order_by="name")) == ["ada", "bob", "dee", "fox"]
    assert names(heroes.list(age__gt=36)) == ["eve"]
    assert names(heroes.list(age__gte=36, order_by="-age")) == ["eve", "ada"]
    assert names(heroes.list(name__in=["ada", "cy", "zed"], order_by="name")) == ["ada", "cy"]
    assert names(heroes.list(name__not_in=["ada", "bob"], age__isnull=False, order_by="name")) == [
        "dee",
        "eve",
        "fox",
    ]
    assert names(heroes.list(name__like="%e%", order_by="name")) == ["dee", "eve"]
    assert names(heroes.list(name__ilike="A%")) == ["ada"]
    assert names(heroes.list(age__isnull=True)) == ["cy"]
    assert names(heroes.list(where={"age": 20}, name__like="%o%", order_by="name")) == [
        "bob",
        "fox",
    ]


def test_ordering_limit_offset_count_exists(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    assert names(heroes.list(age=20, order_by=["-name"])) == ["fox", "dee", "bob"]
    assert names(heroes.list(order_by=["age", "-name"], age__isnull=False)) == [
        "fox",
        "dee",
        "bob",
        "ada",
        "eve",
    ]
    assert names(heroes.list(order_by="name", limit=2, offset=1)) == ["bob", "cy"]
    assert heroes.count() == 6
    assert heroes.count(age=20) == 3
    assert heroes.exists(name="eve") is True
    assert heroes.exists(name="zed") is False


def test_unknown_fields_and_operators_are_errors(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    with pytest.raises(InvalidFilterError, match=r"Hero has no field 'agee' .*Did you mean 'age'"):
        heroes.list(agee=3)
    with pytest.raises(InvalidFilterError, match=r"Unknown filter operator 'gtee' in 'age__gtee'"):
        heroes.count(age__gtee=3)
    with pytest.raises(InvalidFilterError, match=r"no field 'nam' to order by"):
        heroes.list(order_by="-nam")
    with pytest.raises(InvalidFilterError, match=r"takes a list of values"):
        heroes.list(name__in="ada")
    with pytest.raises(InvalidFilterError, match=r"no relationship 'power' .*'powers'"):
        heroes.list(load=["power"])
    with pytest.raises(InvalidDataError, match=r"Hero: nme: Extra inputs .*Did you mean 'name'"):
        heroes.create({"nme": "x"})  # data, unlike a filter, may come from the request


def test_offset_pages(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    first = heroes.page(page=1, size=4, order_by="name")
    assert isinstance(first, Page)
    assert (names(first.items), first.total, first.pages) == (["ada", "bob", "cy", "dee"], 6, 2)
    second = heroes.page(page=2, size=4, order_by="name")
    assert names(second.items) == ["eve", "fox"]
    assert heroes.page(page=1, size=10, age=20).total == 3
    with pytest.raises(InvalidPageError, match="page and size start at 1"):
        heroes.page(page=0)
    with pytest.raises(InvalidPageError, match="size starts at 1"):
        heroes.cursor_page(size=0)
    assert heroes.page(page=2**40, size=10).items == []  # past the end: an empty page


def test_cursor_pages_walk_everything_once_in_order(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    seen: list[str] = []
    cursor = None
    while True:
        page = heroes.cursor_page(after=cursor, size=2, order_by=["-age"], age__isnull=False)
        assert isinstance(page, CursorPage)
        seen += names(page.items)
        if not page.has_more:
            assert page.next_cursor is None
            break
        cursor = page.next_cursor
    # Ties on age are broken by the primary key, so nothing repeats or goes missing.
    assert seen == ["eve", "ada", "bob", "dee", "fox"]
    with pytest.raises(InvalidCursorError, match="was not made by a Hero listing"):
        heroes.cursor_page(after="not-a-cursor")
    first = heroes.cursor_page(size=1, order_by="name")
    with pytest.raises(InvalidCursorError, match="belongs to another listing"):
        heroes.cursor_page(after=first.next_cursor, order_by="-name")


def test_raw_sql_binds_parameters(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    rows = heroes.execute(
        "SELECT name FROM contract_hero WHERE age = :age ORDER BY name", {"age": 20}
    )
    assert rows == [{"name": "bob"}, {"name": "dee"}, {"name": "fox"}]
    assert (
        heroes.execute(
            "UPDATE contract_hero SET age = :age WHERE name = :name",
            {
                "age": 99,
                "name": "cy'; DROP TABLE contract_hero; --",
            },
        )
        == []
    )
    assert heroes.count() == 6  # the quote was a value, not SQL


def test_one_to_many_and_many_to_many(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    squads = app.container.get(SquadRepository)
    powers = app.container.get(PowerRepository)
    squad = squads.create({"name": "avengers"})
    flight, strength = powers.bulk_create([{"name": "flight"}, {"name": "strength"}])
    ada = heroes.create(Hero(name="ada", squad_id=squad.id, powers=[flight, strength]))
    heroes.create(Hero(name="bob", squad_id=squad.id, powers=[strength]))
    loaded = squads.get(squad.id, load=["heroes"])
    assert loaded is not None
    assert sorted(names(loaded.heroes)) == ["ada", "bob"]
    with_powers = heroes.get(ada.id, load=["powers", "squad"])
    assert with_powers is not None
    assert sorted(names(with_powers.powers)) == ["flight", "strength"]
    assert with_powers.squad is not None
    assert with_powers.squad.name == "avengers"
    strong = powers.list(name="strength", load=["heroes"])[0]
    assert sorted(names(strong.heroes)) == ["ada", "bob"]


@pytest.mark.anyio
async def test_async_twins(app: TauseStackApp) -> None:
    async with AsyncTestClient(app):
        heroes = app.container.get(HeroRepository)
        created = await heroes.abulk_create([{"name": n, "age": a} for n, a in PEOPLE])
        assert len(created) == 6
        ada = await heroes.acreate({"name": "zed", "age": 1})
        assert (await heroes.aget(ada.id)) == ada
        assert (await heroes.aget_or_404(ada.id)).name == "zed"
        assert (await heroes.aupdate(ada.id, {"age": 2})).age == 2
        assert names(await heroes.alist(age=20, order_by="name")) == ["bob", "dee", "fox"]
        assert (await heroes.acount(age__gte=20)) == 5
        assert await heroes.aexists(name="zed") is True
        assert names((await heroes.apage(page=2, size=5, order_by="name")).items) == ["fox", "zed"]
        page = await heroes.acursor_page(size=3, order_by="name")
        rest = await heroes.acursor_page(after=page.next_cursor, size=10, order_by="name")
        assert names(page.items) + names(rest.items) == [
            "ada",
            "bob",
            "cy",
            "dee",
            "eve",
            "fox",
            "zed",
        ]
        assert await heroes.aexecute("SELECT count(*) AS n FROM contract_hero") == [{"n": 7}]
        assert await heroes.adelete(ada.id) is True
        assert await heroes.aget(ada.id) is None
        with pytest.raises(HTTPException):
            await heroes.aget_or_404(ada.id)
        squad = await app.container.get(SquadRepository).acreate({"name": "x"})
        await heroes.aupdate(created[0].id, {"squad_id": squad.id})
        loaded = await app.container.get(SquadRepository).aget(squad.id, load=["heroes"])
        assert loaded is not None
        assert names(loaded.heroes) == ["ada"]


@pytest.mark.anyio
async def test_sdk_functions_use_the_running_app(app: TauseStackApp) -> None:
    async with AsyncTestClient(app):
        hero = await sdk.database.acreate(Hero, {"name": "ada", "age": 3})
        assert (await sdk.database.aget(Hero, hero.id)) == hero
        assert sdk.database.get(Hero, hero.id) == hero
        assert sdk.database.count(Hero) == 1
        assert names(sdk.database.list(Hero, age__gte=1)) == ["ada"]
        assert sdk.database.update(Hero, hero.id, {"age": 4}).age == 4
        assert (await sdk.database.aexists(Hero, age=4)) is True
        assert sdk.database.page(Hero).total == 1
        assert (await sdk.database.apage(Hero)).total == 1
        assert sdk.database.execute("SELECT name FROM contract_hero") == [{"name": "ada"}]
        assert sdk.database.delete(Hero, hero.id) is True
        assert sdk.database.cursor_page(Hero).items == []
    with sdk.use(app.container):
        assert sdk.database.count(Hero) == 0
    assert sdk.database.backend is not None
    assert isinstance(Squad, type)
    assert isinstance(Power, type)


def test_nulls_sort_last_going_up_and_first_going_down_everywhere(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    up = ["bob", "dee", "fox", "ada", "eve", "cy"]  # ties on age keep primary-key order
    down = ["cy", "eve", "ada", "bob", "dee", "fox"]
    assert names(heroes.list(order_by=["age", "id"])) == up
    assert names(heroes.list(order_by=["-age", "id"])) == down
    assert names(heroes.page(size=10, order_by="age").items) == up
    for order, expected in (("age", up), ("-age", down)):
        for size in (1, 2, 4):
            seen: list[str] = []
            cursor = None
            while True:
                page = heroes.cursor_page(after=cursor, size=size, order_by=order)
                seen += names(page.items)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == expected, (order, size)
    with pytest.raises(InvalidFilterError, match=r"no field 'agee' to order by"):
        heroes.cursor_page(order_by="agee")
    with pytest.raises(InvalidFilterError, match=r"order_by takes field names"):
        heroes.list(order_by=[1])  # type: ignore[list-item]


def test_pages_default_to_primary_key_order(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    rows = seed(heroes)
    heroes.update(rows[0], {"age": 99})  # PostgreSQL moves an updated row to the end of the table
    ids = [row.id for row in rows]
    assert [hero.id for hero in heroes.page(size=10).items] == ids
    assert [hero.id for hero in heroes.cursor_page(size=10).items] == ids


def test_text_operators_match_wildcards_literally(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    heroes.bulk_create([{"name": "50%_off"}, {"name": "500ff"}, {"name": "Half\\Off"}])
    assert names(heroes.list(name__contains="%_")) == ["50%_off"]
    assert sorted(names(heroes.list(name__contains="0"))) == ["50%_off", "500ff"]
    assert sorted(names(heroes.list(name__icontains="_OFF"))) == ["50%_off"]
    assert sorted(names(heroes.list(name__icontains="OFF"))) == ["50%_off", "Half\\Off"]
    assert names(heroes.list(name__startswith="50%")) == ["50%_off"]
    assert names(heroes.list(name__endswith="_off")) == ["50%_off"]
    assert names(heroes.list(name__startswith="Half\\")) == ["Half\\Off"]
    assert sorted(names(heroes.list(name__like="50%"))) == ["50%_off", "500ff"]


def test_none_and_isnull_filters_are_strict(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    assert names(heroes.list(age=None)) == ["cy"]
    assert names(heroes.list(age__ne=None, order_by="name")) == ["ada", "bob", "dee", "eve", "fox"]
    with pytest.raises(InvalidFilterError, match=r"'age__isnull' takes True or False, got 'no'"):
        heroes.list(age__isnull="no")
    with pytest.raises(InvalidFilterError, match=r"'age__gt=None' compares with NULL.*isnull"):
        heroes.count(age__gt=None)


def test_create_and_update_validate_and_keep_input_defaults(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    powers = app.container.get(PowerRepository)
    squads = app.container.get(SquadRepository)
    assert heroes.create(Recruit(name="ada")).age == 18  # the input schema's default counts
    flight = powers.create({"name": "flight"})
    squad = squads.create({"name": "x"})
    bob = heroes.create({"name": "bob", "powers": [flight], "squad": squad})
    loaded = heroes.get(bob.id, load=["powers", "squad"])
    assert loaded is not None
    assert names(loaded.powers) == ["flight"]
    assert loaded.squad is not None
    assert loaded.squad.name == "x"
    with pytest.raises(InvalidDataError, match="Invalid data for Hero: age: Input should be a"):
        heroes.update(bob.id, {"age": "old"})
    assert heroes.get(bob.id).age is None  # type: ignore[union-attr]
    with pytest.raises(InvalidDataError, match="age"):
        heroes.create({"name": "cy", "age": "old"})
    assert heroes.count() == 2


def test_unsaved_rows_and_missing_keys_are_refused(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    with pytest.raises(
        DatabaseError, match=r"This Hero has no primary key yet: it was never saved"
    ):
        heroes.update(Hero(name="ghost"), {"age": 1})
    with pytest.raises(DatabaseError, match=r"has no primary key yet"):
        heroes.delete(Hero(name="ghost"))
    with pytest.raises(DatabaseError, match=r"A primary key of Hero is needed, got None"):
        heroes.get(None)
    saved = heroes.create({"name": "ada"})
    assert heroes.delete(saved) is True
    assert heroes.count() == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"limit": -1}, "limit and offset start at 0 (got limit=-1, offset=0)"),
        ({"offset": -1}, "limit and offset start at 0 (got limit=None, offset=-1)"),
        ({"limit": 2**64}, "beyond any table"),
        ({"offset": 2**63}, "beyond any table"),
    ],
)
async def test_list_bounds_are_checked(
    app: TauseStackApp, window: dict[str, int], message: str
) -> None:
    heroes = app.container.get(HeroRepository)
    seed(heroes)
    with pytest.raises(InvalidPageError, match=re.escape(message)):
        heroes.list(**window)
    with pytest.raises(InvalidPageError, match=re.escape(message)):
        await heroes.alist(**window)
    assert heroes.list(limit=0) == []
    assert len(await heroes.alist(limit=2**63 - 1, offset=5)) == 1


@pytest.mark.anyio
async def test_integers_beyond_the_columns_range_are_invalid_data(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    ada = heroes.create({"name": "ada", "age": 2**31 - 1})
    for huge in (2**70, -(2**63) - 1):
        with pytest.raises(InvalidDataError, match=r"Hero: age: Input should be") as caught:
            heroes.update(ada.id, {"age": huge})
        assert caught.value.errors()[0]["loc"] == ("age",)
        assert str(huge) not in str(caught.value).split("Input should be")[0]
        with pytest.raises(InvalidDataError, match=r"Hero: age: "):
            await heroes.acreate({"name": "bob", "age": huge})
    sqlite = app.container.get(Database).urls.sync.get_backend_name() == "sqlite"
    if sqlite:  # SQLite's INTEGER has 64 bits, PostgreSQL's integer 32
        assert (await heroes.aupdate(ada.id, {"age": 2**40})).age == 2**40
    else:
        with pytest.raises(InvalidDataError, match=r"less than or equal to 2147483647"):
            await heroes.aupdate(ada.id, {"age": 2**40})
    assert heroes.count() == 1


@pytest.mark.anyio
async def test_text_beyond_the_columns_length_is_invalid_data(app: TauseStackApp) -> None:
    """A str field without max_length is a VARCHAR(255) on MySQL (unbounded elsewhere): longer
    text is refused before the database would fail on it (a 500)."""
    heroes = app.container.get(HeroRepository)
    ada = heroes.create({"name": "a" * 255})
    family = app.container.get(Database).urls.sync.get_backend_name()
    if family != "mysql":
        assert (await heroes.aupdate(ada.id, {"name": "b" * 300})).name == "b" * 300
        return
    with pytest.raises(InvalidDataError, match=r"name: String should have at most 255") as caught:
        heroes.create({"name": "c" * 256})
    assert caught.value.errors()[0]["type"] == "string_too_long"
    with pytest.raises(InvalidDataError, match=r"at most 255 characters"):
        await heroes.aupdate(ada.id, {"name": "d" * 300})
    assert names(heroes.list()) == ["a" * 255]


@pytest.mark.anyio
async def test_a_duplicate_unique_value_is_a_conflict_naming_the_column(
    app: TauseStackApp,
) -> None:
    heroes = app.container.get(HeroRepository)
    heroes.create({"name": "ada-the-first"})
    bob = heroes.create({"name": "bob"})
    attempts = [
        lambda: heroes.create({"name": "ada-the-first"}),
        lambda: heroes.update(bob.id, {"name": "ada-the-first"}),
    ]
    for attempt in attempts:
        with pytest.raises(DuplicateRecordError) as caught:
            attempt()
        assert caught.value.columns == ("name",)
        assert "contract_hero" in str(caught.value)
        assert "ada-the-first" not in str(caught.value)
    with pytest.raises(DuplicateRecordError, match=r"contract_hero \(name\)"):
        await heroes.acreate({"name": "ada-the-first"})
    with pytest.raises(DuplicateRecordError, match=r"contract_hero \(name\)"):
        await heroes.aupdate(bob.id, {"name": "ada-the-first"})
    assert sorted(names(await heroes.alist())) == ["ada-the-first", "bob"]  # nothing written


@pytest.mark.anyio
async def test_a_duplicate_primary_key_is_a_conflict_naming_the_key(app: TauseStackApp) -> None:
    heroes = app.container.get(HeroRepository)
    heroes.create({"id": 7, "name": "ada"})
    with pytest.raises(DuplicateRecordError, match=r"contract_hero \(id\)") as caught:
        heroes.create({"id": 7, "name": "bob"})
    assert caught.value.columns == ("id",)
    with pytest.raises(DuplicateRecordError, match=r"contract_hero \(id\)"):
        await heroes.acreate({"id": 7, "name": "cy"})
    assert names(heroes.list()) == ["ada"]


@pytest.mark.anyio
async def test_a_caught_duplicate_leaves_the_enclosing_transaction_usable(
    app: TauseStackApp,
) -> None:
    """Only the refused write rolls back: earlier writes of the same transaction stay, and the
    session goes on working (get-or-create: catch the conflict, then read the existing row)."""
    heroes = app.container.get(HeroRepository)
    database = app.container.get(Database)
    bob = heroes.create({"name": "bob"})
    heroes.create({"name": "taken"})
    with database.transaction():
        heroes.create({"name": "sync-earlier"})
        with pytest.raises(DuplicateRecordError):
            heroes.create({"name": "taken"})
        with pytest.raises(DuplicateRecordError):
            heroes.bulk_create([{"name": "fine"}, {"name": "taken"}])
        with pytest.raises(DuplicateRecordError):
            heroes.update(bob.id, {"name": "taken", "age": 7})
        assert names(heroes.list(name="taken")) == ["taken"]
        assert heroes.get_or_404(bob.id).name == "bob"
    async with database.transaction():
        await heroes.acreate({"name": "async-earlier"})
        with pytest.raises(DuplicateRecordError):
            await heroes.acreate({"name": "taken"})
        with pytest.raises(DuplicateRecordError):
            await heroes.abulk_create([{"name": "fine"}, {"name": "taken"}])
        with pytest.raises(DuplicateRecordError):
            await heroes.aupdate(bob.id, {"name": "taken", "age": 7})
        assert names(await heroes.alist(name="taken")) == ["taken"]
        assert (await heroes.aget(bob.id)).age is None  # type: ignore[union-attr]
    rows = sorted(names(heroes.list()))
    assert rows == ["async-earlier", "bob", "sync-earlier", "taken"]
    assert heroes.get_or_404(bob.id).age is None


@pytest.mark.anyio
@pytest.mark.parametrize("key", [2**31, 2**40, 2**70, -(2**70)], ids=str)
async def test_a_key_beyond_the_columns_range_is_a_missing_row(
    app: TauseStackApp, key: int
) -> None:
    """No row can have it: reads find nothing, updates are a 404, deletes delete nothing."""
    heroes = app.container.get(HeroRepository)
    heroes.create({"name": "ada"})
    assert heroes.get(key) is None
    assert await heroes.aget(key) is None
    with pytest.raises(HTTPException) as caught:
        await heroes.aget_or_404(key)
    assert caught.value.status_code == 404
    with pytest.raises(RecordNotFoundError, match=f"No Hero with primary key {key}"):
        heroes.update(key, {"age": 1})
    with pytest.raises(RecordNotFoundError):
        await heroes.aupdate(key, {"age": 1})
    assert heroes.delete(key) is False
    assert await heroes.adelete(key) is False
    assert names(heroes.list()) == ["ada"]


def test_text_with_a_nul_character_is_invalid_data(app: TauseStackApp) -> None:
    """PostgreSQL cannot store NUL in text (psycopg: "PostgreSQL text fields cannot contain
    NUL (0x00) bytes"): a 500 from a request's data, where the other values a database would
    refuse are InvalidDataError (a 422) first. The other databases store it."""
    heroes = app.container.get(HeroRepository)
    family = app.container.get(Database).urls.sync.get_backend_name()
    if family != "postgresql":
        hero = heroes.create({"name": "nul\x00hero"})
        assert heroes.get(hero.id).name == "nul\x00hero"  # type: ignore[union-attr]
        assert heroes.update(hero, {"name": "\x00"}).name == "\x00"
        return
    with pytest.raises(InvalidDataError, match=r"name: String should not contain a NUL"):
        heroes.create({"name": "nul\x00hero"})
    assert heroes.count() == 0
    hero = heroes.create({"name": "ada"})
    with pytest.raises(InvalidDataError, match="name"):
        heroes.update(hero, {"name": "ada\x00"})
    assert [row.name for row in heroes.list()] == ["ada"]

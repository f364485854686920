"""Repositories behind HTTP routes: a client's bad input is a 4xx, pages have readable names.

A page number, a page size or a field value sent by the client and refused by the repository
is the client's error: 400 or 422 with the JSON error body FastAPI uses, never a 500.
"""

import logging
from pathlib import Path
from typing import Annotated, Any

import pytest

from tausestack import Controller, TauseStackApp, get, patch, post
from tausestack.sdk.database import (
    CursorPage,
    Database,
    DuplicateRecordError,
    Page,
    PageParams,
    PageQuery,
    page_query,
)
from tausestack.testing import TestClient
from tests.contract.conftest import build
from tests.contract.models import Hero, HeroRead, HeroRepository

LargePages = Annotated[PageParams, page_query(size=5, max_size=8)]


class HeroPatch(HeroRead):
    """Every field optional, as a PATCH body usually is (``null`` is accepted here)."""

    id: int | None = None  # type: ignore[assignment]
    name: str | None = None  # type: ignore[assignment]
    age: int | None = None


@Controller("/heroes")
class HeroPages:
    def __init__(self, heroes: HeroRepository) -> None:
        self.heroes = heroes

    @get("/raw")
    async def raw(self, page: int = 1, size: int = 2) -> Page[HeroRead]:
        """Page number and size passed straight from the query to the repository."""
        return await self.heroes.apage(page=page, size=size)  # type: ignore[return-value]

    @get("/paged")
    async def paged(self, paging: PageQuery) -> Page[HeroRead]:
        return await self.heroes.apage(page=paging.page, size=paging.size)  # type: ignore[return-value]

    @get("/large")
    def large(self, paging: LargePages) -> Page[HeroRead]:
        return self.heroes.page(page=paging.page, size=paging.size)  # type: ignore[return-value]

    @get("/cursor")
    async def cursor(self, after: str | None = None) -> CursorPage[HeroRead]:
        return await self.heroes.acursor_page(after=after, size=2)  # type: ignore[return-value]

    @patch("/{hero_id}")
    async def change(self, hero_id: int, body: HeroPatch) -> HeroRead:
        return await self.heroes.aupdate(hero_id, body)  # type: ignore[return-value]

    @patch("/{hero_id}/sync")
    def change_sync(self, hero_id: int, body: HeroPatch) -> HeroRead:
        return self.heroes.update(hero_id, body)  # type: ignore[return-value]

    @get("/list")
    async def listing(self, limit: int = 5, offset: int = 0) -> list[HeroRead]:
        """Limit and offset passed straight from the query to the repository."""
        return await self.heroes.alist(order_by="id", limit=limit, offset=offset)  # type: ignore[return-value]

    @patch("/{hero_id}/any")
    async def change_any(self, hero_id: int, body: dict[str, Any]) -> HeroRead:
        """Whatever JSON object the client sends, passed to the repository as it is."""
        return await self.heroes.aupdate(hero_id, body)  # type: ignore[return-value]

    @post("/any")
    def create_any(self, body: dict[str, Any]) -> HeroRead:
        return self.heroes.create(body)  # type: ignore[return-value]

    @post("/claim")
    async def claim(self, body: dict[str, Any]) -> HeroRead:
        """Get-or-create in one request, after an earlier write that must be kept."""
        await self.heroes.acreate({"name": f"claimed-{body['name']}"})
        try:
            return await self.heroes.acreate(body)  # type: ignore[return-value]
        except DuplicateRecordError:
            [found] = await self.heroes.alist(name=body["name"])
            return found  # type: ignore[return-value]

    @post("/claim/sync")
    def claim_sync(self, body: dict[str, Any]) -> HeroRead:
        self.heroes.create({"name": f"claimed-sync-{body['name']}"})
        try:
            return self.heroes.create(body)  # type: ignore[return-value]
        except DuplicateRecordError:
            [found] = self.heroes.list(name=body["name"])
            return found  # type: ignore[return-value]

    @post("/computed")
    async def computed(self) -> HeroRead:
        """Server code making bad data (a name that came out None): still a 422, and logged."""
        return await self.heroes.acreate({"name": None, "age": 1234567})  # type: ignore[return-value]


@pytest.fixture
def client(database_url: dict[str, str], tmp_path: Path) -> Any:
    app: TauseStackApp = build(database_url, tmp_path, HeroPages)
    app.container.get(HeroRepository).bulk_create(
        [{"name": name, "age": 20 + index} for index, name in enumerate("abcdefghij")]
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.container.get(Database).engine.dispose()


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-3", "size=0", f"page={2**70}"],
    ids=["zero", "negative", "size", "huge"],
)
def test_a_bad_page_number_is_a_400(client: TestClient, query: str) -> None:
    response = client.get(f"/heroes/raw?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert "page" in response.json()["detail"] or "size" in response.json()["detail"]


def test_a_bad_cursor_is_a_400(client: TestClient) -> None:
    response = client.get("/heroes/cursor?after=nonsense")
    assert response.status_code == 400
    assert "was not made by a Hero listing" in response.json()["detail"]


def test_the_page_query_dependency(client: TestClient) -> None:
    first = client.get("/heroes/paged").json()
    assert (first["page"], first["size"], first["total"], first["pages"]) == (1, 20, 10, 1)
    second = client.get("/heroes/paged?page=2&size=3").json()
    assert [hero["name"] for hero in second["items"]] == ["d", "e", "f"]
    large = client.get("/heroes/large").json()
    assert (large["size"], len(large["items"])) == (5, 5)
    assert client.get("/heroes/large?size=8&page=2").json()["items"][0]["name"] == "i"


@pytest.mark.parametrize(
    ("path", "field", "kind"),
    [
        ("/heroes/paged?page=0", "page", "greater_than_equal"),
        ("/heroes/paged?size=0", "size", "greater_than_equal"),
        ("/heroes/paged?size=101", "size", "less_than_equal"),
        ("/heroes/large?size=9", "size", "less_than_equal"),
        ("/heroes/paged?page=x", "page", "int_parsing"),
    ],
)
def test_the_page_query_refuses_with_a_422(
    client: TestClient, path: str, field: str, kind: str
) -> None:
    response = client.get(path)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["query", field], kind)


@pytest.mark.parametrize("suffix", ["", "/sync"], ids=["async", "sync"])
def test_null_on_a_required_field_is_a_422(client: TestClient, suffix: str) -> None:
    hero_id = client.get("/heroes/paged").json()["items"][0]["id"]
    response = client.patch(f"/heroes/{hero_id}{suffix}", json={"name": None})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "name"]
    assert error["type"] == "string_type"
    assert "input" not in error  # the row's other values are never echoed back
    assert client.get("/heroes/paged").json()["items"][0]["name"] == "a"  # nothing changed
    changed = client.patch(f"/heroes/{hero_id}{suffix}", json={"age": None})
    assert (changed.status_code, changed.json()["age"]) == (200, None)


def test_generic_pages_have_readable_schema_names(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    names = set(schema["components"]["schemas"])
    assert {"HeroReadPage", "HeroReadCursorPage"} <= names
    assert not [name for name in names if "[" in name or name.startswith(("Page_", "CursorPage_"))]
    assert Page[Hero].__name__ == "HeroPage"
    assert Page[int].__name__ == "IntPage"
    parameters = schema["paths"]["/heroes/large"]["get"]["parameters"]
    size = next(parameter for parameter in parameters if parameter["name"] == "size")
    assert size["schema"]["maximum"] == 8
    assert size["schema"]["default"] == 5


@pytest.mark.parametrize("query", ["limit=-1", "offset=-1", f"limit={2**64}", f"offset={2**63}"])
def test_list_bounds_from_the_query_are_a_400(client: TestClient, query: str) -> None:
    response = client.get(f"/heroes/list?{query}")
    assert response.status_code == 400, response.text
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("suffix", ["", "/sync", "/any"], ids=["async", "sync", "raw"])
def test_patching_a_missing_row_is_a_404(client: TestClient, suffix: str) -> None:
    response = client.patch(f"/heroes/999{suffix}", json={"age": 3})
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "No Hero with primary key 999."}


@pytest.mark.parametrize(
    ("body", "kind"),
    [({"age": 2**70}, "less_than_equal"), ({"nope": 1}, "extra_forbidden")],
    ids=["overflow", "unknown"],
)
def test_data_the_columns_cannot_take_is_a_422(
    client: TestClient, body: dict[str, Any], kind: str
) -> None:
    for response in (
        client.patch("/heroes/1/any", json=body),
        client.post("/heroes/any", json={"name": "new", **body}),
    ):
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", next(iter(body))], kind)
        assert str(2**70) not in response.text
    assert client.get("/heroes/paged").json()["total"] == 10  # nothing written


def test_a_duplicate_unique_value_is_a_409_without_the_value(client: TestClient) -> None:
    assert client.post("/heroes/any", json={"name": "zed-unique"}).status_code == 200
    for response in (
        client.patch("/heroes/1/any", json={"name": "zed-unique"}),
        client.post("/heroes/any", json={"name": "zed-unique"}),
    ):
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        assert "contract_hero (name)" in detail
        assert "zed-unique" not in detail
    assert client.get("/heroes/paged").json()["items"][0]["name"] == "a"  # rolled back


def test_invalid_data_from_server_code_is_logged_without_values(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tausestack.database"):
        response = client.post("/heroes/computed")
    assert response.status_code == 422
    [record] = [record for record in caplog.records if record.name == "tausestack.database"]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "Hero" in message
    assert "name" in message
    assert "1234567" not in message
    assert "POST /heroes/computed" in message


@pytest.mark.parametrize("suffix", ["", "/sync"], ids=["async", "sync"])
def test_a_caught_duplicate_keeps_the_request_going(client: TestClient, suffix: str) -> None:
    response = client.post(f"/heroes/claim{suffix}", json={"name": "c"})
    assert response.status_code == 200, response.text
    assert response.json()["age"] == 22  # the existing row, found after the conflict
    listing = client.get("/heroes/list?limit=20").json()
    assert [hero["name"] for hero in listing if hero["name"].startswith("claimed")] == [
        f"claimed{suffix.replace('/', '-')}-c"  # the request's earlier write was kept
    ]


@pytest.mark.parametrize("suffix", ["", "/sync", "/any"], ids=["async", "sync", "raw"])
def test_patching_a_key_no_column_can_hold_is_a_404(client: TestClient, suffix: str) -> None:
    for key in (2**40, 2**70):
        response = client.patch(f"/heroes/{key}{suffix}", json={"age": 3})
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"No Hero with primary key {key}."}

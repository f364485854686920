"""Controllers: mounting, FastAPI semantics of route methods, options, inheritance and errors."""

from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from fastapi import Depends, Header, HTTPException, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tausestack import Controller, Service, delete, get, head, options, patch, post, put
from tausestack.errors import ControllerDefinitionError, ProviderDefinitionError
from tausestack.testing import TestClient
from tests.conftest import AppFactory


class Item(BaseModel):
    id: int
    name: str


class ItemCreate(BaseModel):
    name: str


@Service
class ItemService:
    created = 0

    def __init__(self) -> None:
        ItemService.created += 1
        self.items = {1: Item(id=1, name="book")}

    def get(self, item_id: int) -> Item:
        if item_id not in self.items:
            raise HTTPException(404, f"item {item_id} not found")
        return self.items[item_id]


def verify_token(x_token: Annotated[str, Header()] = "") -> None:
    if x_token != "secret":
        raise HTTPException(401, "bad token")


@Controller("/items", tags=["items"], responses={418: {"description": "teapot"}})
class ItemController:
    constructed = 0

    def __init__(self, items: ItemService) -> None:
        ItemController.constructed += 1
        self.items = items

    @get("/{item_id}")
    async def read(self, item_id: int, verbose: bool = False) -> Item:
        """Read one item."""
        item = self.items.get(item_id)
        return item.model_copy(update={"name": item.name.upper()}) if verbose else item

    @post("/", status_code=201, summary="Create an item", tags=["write"])
    async def create(self, body: ItemCreate, request: Request) -> Item:
        item = Item(id=len(self.items.items) + 1, name=body.name)
        self.items.items[item.id] = item
        return item

    @put("/{item_id}", dependencies=[Depends(verify_token)])
    def replace(self, item_id: int, body: ItemCreate) -> Item:  # sync: runs in a thread
        self.items.items[item_id] = Item(id=item_id, name=body.name)
        return self.items.items[item_id]

    @patch("/{item_id}", response_model=Item, response_model_exclude={"id"})
    async def rename(self, item_id: int, name: str) -> Item:
        item = self.items.get(item_id)
        item.name = name
        return item

    @delete("/{item_id}", status_code=204, deprecated=True)
    async def remove(
        self, item_id: int, user_agent: Annotated[str | None, Header()] = None
    ) -> None:
        self.items.items.pop(item_id, None)

    @head("/")
    @options("/")
    async def probe(self) -> None:
        return None

    @get("/meta/hidden", include_in_schema=False)
    async def hidden(self) -> dict[str, bool]:
        return {"hidden": True}

    def helper(self) -> str:  # not a route
        return "not mounted"


@pytest.fixture
def client(make_app: AppFactory) -> TestClient:
    ItemController.constructed = 0
    return TestClient(make_app(ItemService, ItemController))


def test_routes_follow_fastapi_semantics(client: TestClient) -> None:
    assert client.get("/items/1").json() == {"id": 1, "name": "book"}
    assert client.get("/items/1", params={"verbose": "true"}).json()["name"] == "BOOK"
    assert client.get("/items/9").status_code == 404
    assert client.get("/items/abc").status_code == 422
    created = client.post("/items/", json={"name": "pen"})
    assert (created.status_code, created.json()) == (201, {"id": 2, "name": "pen"})
    assert client.post("/items/", json={}).status_code == 422
    assert client.put("/items/1", json={"name": "x"}).status_code == 401
    replaced = client.put("/items/1", json={"name": "x"}, headers={"x-token": "secret"})
    assert replaced.json() == {"id": 1, "name": "x"}
    assert client.patch("/items/1", params={"name": "y"}).json() == {"name": "y"}
    assert client.delete("/items/1").status_code == 204
    assert client.head("/items/").status_code == 200
    assert client.options("/items/").status_code == 200
    assert client.get("/items/meta/hidden").json() == {"hidden": True}


def test_controller_is_built_once_and_its_bound_method_mounted(make_app: AppFactory) -> None:
    ItemController.constructed = 0
    app = make_app(ItemService, ItemController)
    with TestClient(app) as client:
        for _ in range(3):
            client.get("/items/1")
    assert ItemController.constructed == 1
    route = next(
        r
        for r in app.routes
        if isinstance(r, APIRoute) and r.path == "/items/{item_id}" and "GET" in r.methods
    )
    controller = app.container.get(ItemController)
    assert route.endpoint.__self__ is controller  # type: ignore[attr-defined]
    assert route.endpoint.__func__ is ItemController.read  # type: ignore[attr-defined]


def test_openapi_is_complete_and_readable(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    read = schema["paths"]["/items/{item_id}"]["get"]
    assert read["operationId"] == "item_read"
    assert read["tags"] == ["items"]
    assert read["description"] == "Read one item."
    assert "418" in read["responses"]
    create = schema["paths"]["/items/"]["post"]
    assert create["summary"] == "Create an item"
    assert create["tags"] == ["items", "write"]
    assert schema["paths"]["/items/{item_id}"]["delete"]["deprecated"] is True
    assert "/items/meta/hidden" not in schema["paths"]
    operation_ids = [
        operation["operationId"] for path in schema["paths"].values() for operation in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    assert {"item_probe", "item_probe_options"} <= set(operation_ids)


def test_controller_level_dependencies_guard_every_route(make_app: AppFactory) -> None:
    @Controller("/admin", dependencies=[Depends(verify_token)])
    class AdminController:
        @get("/stats")
        async def stats(self) -> dict[str, int]:
            return {"users": 3}

    client = TestClient(make_app(AdminController))
    assert client.get("/admin/stats").status_code == 401
    assert client.get("/admin/stats", headers={"x-token": "secret"}).json() == {"users": 3}


def test_bare_controller_and_empty_paths(make_app: AppFactory) -> None:
    @Controller
    class RootController:
        @get()
        async def root(self) -> dict[str, str]:
            return {"hello": "world"}

    @Controller("/health")
    class HealthController:
        @get()
        async def health(self) -> dict[str, str]:
            return {"status": "ok"}

    client = TestClient(make_app(RootController, HealthController))
    assert client.get("/").json() == {"hello": "world"}
    assert client.get("/health").json() == {"status": "ok"}


def test_inherited_routes_and_overridden_methods(make_app: AppFactory) -> None:
    class CrudBase:
        name = "base"

        @get("/")
        async def index(self) -> dict[str, str]:
            return {"index": self.name}

        @get("/count")
        async def count(self) -> dict[str, int]:
            return {"count": 0}

    @Controller("/books")
    class BookController(CrudBase):
        name = "books"

        @get("/count")
        async def count(self) -> dict[str, int]:
            return {"count": 7}

    client = TestClient(make_app(BookController))
    assert client.get("/books/").json() == {"index": "books"}
    assert client.get("/books/count").json() == {"count": 7}


def test_streaming_method(make_app: AppFactory) -> None:
    @Controller("/stream")
    class StreamController:
        @get("/")
        async def numbers(self) -> AsyncIterator[int]:
            for number in range(3):
                yield number

    response = TestClient(make_app(StreamController)).get("/stream/")
    assert response.status_code == 200
    assert response.text.split() == ["0", "1", "2"]


def test_explicit_operation_id_and_name_are_kept(make_app: AppFactory) -> None:
    @Controller("/x")
    class XController:
        @get("/", operation_id="listEverything", name="everything")
        async def index(self) -> list[int]:
            return []

    app = make_app(XController)
    assert app.url_path_for("everything") == "/x/"
    schema = TestClient(app).get("/openapi.json").json()
    assert schema["paths"]["/x/"]["get"]["operationId"] == "listEverything"


def test_summaries_read_like_the_method_name(client: TestClient) -> None:
    """As FastAPI does for a function: its name in title case; summary= wins."""
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/items/{item_id}"]["get"]["summary"] == "Read"
    assert paths["/items/{item_id}"]["patch"]["summary"] == "Rename"
    assert paths["/items/"]["head"]["summary"] == paths["/items/"]["options"]["summary"] == "Probe"
    assert paths["/items/"]["post"]["summary"] == "Create an item"


def test_an_explicit_name_gives_the_summary_as_for_a_function(make_app: AppFactory) -> None:
    @Controller("/x")
    class XController:
        @get("/", name="list_everything")
        async def index(self) -> list[int]:
            return []

        @get("/one")
        async def read_one_thing(self) -> int:
            return 1

    paths = TestClient(make_app(XController)).get("/openapi.json").json()["paths"]
    assert paths["/x/"]["get"]["summary"] == "List Everything"
    assert paths["/x/one"]["get"]["summary"] == "Read One Thing"
    assert paths["/x/one"]["get"]["operationId"] == "x_read_one_thing"


def test_route_name_defaults_to_the_operation_id(make_app: AppFactory) -> None:
    app = make_app(ItemService, ItemController)
    assert app.url_path_for("item_read", item_id=5) == "/items/5"


# -- declaration errors -------------------------------------------------------------------------


def test_unknown_route_keyword_suggests_the_right_one() -> None:
    with pytest.raises(
        ControllerDefinitionError, match="unknown keyword argument.*status_cod.*'status_code'"
    ):

        class Bad:
            @get("/", status_cod=201)  # type: ignore[call-arg]
            async def index(self) -> None: ...


def test_route_path_must_start_with_a_slash() -> None:
    with pytest.raises(ControllerDefinitionError, match=r"@get\('items'\).* must start with '/'"):

        class Bad:
            @get("items")
            async def index(self) -> None: ...


def test_prefix_must_be_well_formed() -> None:
    with pytest.raises(
        ControllerDefinitionError, match="must start with '/' and not end with '/', e.g. '/users'"
    ):

        @Controller("users/")
        class Bad:
            @get("/")
            async def index(self) -> None: ...


def test_controller_without_routes() -> None:
    with pytest.raises(ControllerDefinitionError, match="has no routes. Decorate its methods"):

        @Controller("/empty")
        class Empty:
            async def index(self) -> None: ...


def test_transient_controller_is_rejected() -> None:
    with pytest.raises(ControllerDefinitionError, match="scope='transient' makes no sense"):

        @Controller("/t", scope="transient")
        class Transient:
            @get("/")
            async def index(self) -> None: ...


def test_invalid_controller_scope() -> None:
    with pytest.raises(ProviderDefinitionError, match="scope='forever'"):

        @Controller("/t", scope="forever")
        class Forever:
            @get("/")
            async def index(self) -> None: ...


def test_route_decorator_on_a_non_function() -> None:
    with pytest.raises(ControllerDefinitionError, match="decorates methods of a controller class"):
        get("/")(staticmethod(lambda: None))  # type: ignore[type-var]


def test_route_method_needs_self(make_app: AppFactory) -> None:
    with pytest.raises(ControllerDefinitionError, match="is not a function"):

        class Static:
            @get("/")
            @staticmethod
            async def index() -> None: ...

    @Controller("/s")
    class NoSelf:
        @get("/")
        async def index() -> None: ...  # type: ignore[misc]

    with pytest.raises(ControllerDefinitionError, match=r"NoSelf\.index must take `self` first"):
        make_app(NoSelf)


def test_controller_prefix_must_be_a_string() -> None:
    with pytest.raises(ControllerDefinitionError, match="takes a path prefix string first"):
        Controller(42)  # type: ignore[call-overload]


def test_root_prefix_is_explained() -> None:
    with pytest.raises(
        ControllerDefinitionError, match=r"@Controller\('/'\).* leave the prefix out"
    ):

        @Controller("/")
        class Root:
            @get("/")
            async def index(self) -> None: ...


def test_controller_decorates_classes_only() -> None:
    async def not_a_class() -> None: ...

    with pytest.raises(ControllerDefinitionError, match="@Controller decorates classes"):
        Controller("/x")(not_a_class)  # type: ignore[type-var]


def test_unresolvable_route_method_hint(make_app: AppFactory) -> None:
    @Controller("/h")
    class Hinted:
        @get("/")
        async def index(self, thing: "Undefined") -> None: ...  # type: ignore[name-defined] # noqa: F821

    with pytest.raises(
        ControllerDefinitionError, match="type hints of route method .*Hinted.index"
    ):
        make_app(Hinted)


def test_inject_is_an_annotation_only() -> None:
    from tausestack import Inject

    with pytest.raises(TypeError, match=r"Inject is used as a type annotation"):
        Inject()  # type: ignore[operator]

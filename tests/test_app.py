"""create_app(): installed apps end to end, settings injection, lifespan, overrides, conflicts."""

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tausestack import (
    Controller,
    Inject,
    Service,
    Settings,
    TauseStackApp,
    create_app,
    get,
    post,
    provider,
)
from tausestack.app import UnicodeJsonRoute
from tausestack.errors import (
    OperationIdConflictError,
    ProviderDefinitionError,
    RouteConflictError,
)
from tausestack.testing import AsyncTestClient, TestClient
from tests.conftest import AppFactory, Project

USERS_SETTINGS = """
from tausestack import SettingsSection

class UsersSettings(SettingsSection):
    greeting: str = "Hello"
    page_size: int = 20
"""

USERS_SERVICES = """
from tausestack import Service, Settings
from shop.users.settings import UsersSettings

@Service
class UserService:
    def __init__(self, settings: UsersSettings, everything: Settings) -> None:
        self.settings = settings
        self.profile = everything.profile

    def greet(self, name: str) -> str:
        return f"{self.settings.greeting}, {name} ({self.profile})"
"""

USERS_CONTROLLERS = """
from tausestack import Controller, get
from shop.users.services import UserService

@Controller("/users", tags=["users"])
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{name}")
    async def greet(self, name: str) -> dict[str, str]:
        return {"message": self.users.greet(name)}
"""

ORDERS_SERVICES = """
from tausestack import Service
from shop.users.services import UserService

@Service
class OrderService:
    def __init__(self, users: UserService) -> None:
        self.users = users

@Service(profiles=["test"])
class TestOnlyService:
    pass
"""

ORDERS_ROUTES = """
from fastapi import APIRouter
from tausestack import Inject
from shop.orders.services import OrderService

router = APIRouter(prefix="/orders", tags=["orders"])

@router.get("/confirm/{name}")
async def confirm(name: str, orders: Inject[OrderService]) -> dict[str, str]:
    return {"message": orders.users.greet(name)}
"""


@pytest.fixture
def shop(project: Project) -> Project:
    project.write("shop/users/settings.py", USERS_SETTINGS)
    project.write("shop/users/services.py", USERS_SERVICES)
    project.write("shop/users/controllers.py", USERS_CONTROLLERS)
    project.write("shop/orders/services.py", ORDERS_SERVICES)
    project.write("shop/orders/routes.py", ORDERS_ROUTES)
    project.write(
        "application.yaml",
        """
        installed_apps: [shop.users, shop.orders]
        app:
          title: Shop
          version: "2.1"
        users:
          greeting: Hi
        """,
    )
    return project


def test_installed_apps_are_wired_end_to_end(shop: Project) -> None:
    app = create_app()
    assert isinstance(app, FastAPI)
    assert isinstance(app, TauseStackApp)
    with TestClient(app) as client:
        assert client.get("/users/ada").json() == {"message": "Hi, ada (dev)"}
        assert client.get("/orders/confirm/bob").json() == {"message": "Hi, bob (dev)"}
        schema = client.get("/openapi.json").json()
    assert schema["info"] == {"title": "Shop", "version": "2.1"}
    assert set(schema["paths"]) == {"/users/{name}", "/orders/confirm/{name}"}


def test_sections_and_settings_are_injectable(shop: Project) -> None:
    shop.write("application-qa.yaml", "")
    app = create_app(Settings(profile="qa"))
    users_settings_type = type(app.settings.users)  # type: ignore[attr-defined]
    assert app.container.get(users_settings_type).greeting == "Hi"
    assert app.container.get(Settings) is app.settings
    assert TestClient(app).get("/users/x").json() == {"message": "Hi, x (qa)"}


def test_components_are_registered_by_profile(shop: Project) -> None:
    dev_app = create_app()
    test_app = create_app(Settings(profile="test"))
    order_services = __import__("shop.orders.services", fromlist=["TestOnlyService"])
    test_only = order_services.TestOnlyService
    assert test_app.container.get(test_only) is not None
    with pytest.raises(Exception, match="No provider for TestOnlyService"):
        dev_app.container.get(test_only)


def test_every_app_has_its_own_container(shop: Project) -> None:
    first, second = create_app(), create_app()
    services = __import__("shop.users.services", fromlist=["UserService"])
    assert first.container is not second.container
    assert first.container.get(services.UserService) is not second.container.get(
        services.UserService
    )


def test_fastapi_options_win_over_settings(shop: Project) -> None:
    app = create_app(title="Override", docs_url=None)
    assert app.title == "Override"
    assert app.docs_url is None
    assert app.version == "2.1"


def test_create_app_overrides_replace_providers(shop: Project) -> None:
    services = __import__("shop.users.services", fromlist=["UserService"])

    class FakeUsers:
        def greet(self, name: str) -> str:
            return f"fake {name}"

    app = create_app(overrides={services.UserService: FakeUsers()})
    assert TestClient(app).get("/users/z").json() == {"message": "fake z"}


def test_override_context_manager_repoints_controller_routes(shop: Project) -> None:
    services = __import__("shop.users.services", fromlist=["UserService"])

    class FakeUsers:
        def greet(self, name: str) -> str:
            return f"fake {name}"

    app = create_app()
    with TestClient(app) as client:
        with app.container.override(services.UserService, FakeUsers()):
            assert client.get("/users/z").json() == {"message": "fake z"}
            assert client.get("/orders/confirm/z").json() == {"message": "fake z"}
        assert client.get("/users/z").json() == {"message": "Hi, z (dev)"}


def test_settings_errors_surface_from_create_app(shop: Project) -> None:
    shop.write("application-bad.yaml", "users:\n  page_size: many\n")
    with pytest.raises(Exception, match=r"users\.page_size: .*application-bad\.yaml:2"):
        create_app(Settings(profile="bad"))


def test_extra_components_must_be_marked(make_app: AppFactory) -> None:
    class Plain:
        pass

    with pytest.raises(ProviderDefinitionError, match="is not marked with @Service"):
        make_app(Plain)


# -- lifespan -----------------------------------------------------------------------------------


class Broker:
    def __init__(self) -> None:
        self.connected = False


@pytest.mark.anyio
async def test_lifespan_starts_and_stops_the_container(make_app: AppFactory) -> None:
    events: list[str] = []

    @provider
    async def broker() -> AsyncIterator[Broker]:
        connection = Broker()
        connection.connected = True
        events.append("connect")
        yield connection
        connection.connected = False
        events.append("disconnect")

    @Service
    class Publisher:
        def __init__(self, broker: Broker) -> None:
            self.broker = broker

        async def start(self) -> None:
            events.append(f"start publisher (connected={self.broker.connected})")

        async def stop(self) -> None:
            events.append("stop publisher")

    @Controller("/publish")
    class PublishController:
        def __init__(self, publisher: Publisher) -> None:
            self.publisher = publisher

        @get("/")
        async def publish(self) -> dict[str, bool]:
            return {"connected": self.publisher.broker.connected}

    app = make_app(broker, Publisher, PublishController)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/publish/")).json() == {"connected": True}
        assert events == ["connect", "start publisher (connected=True)"]
    assert events[2:] == ["stop publisher", "disconnect"]
    # A second lifespan builds fresh lifespan objects and re-points the routes at them.
    async with AsyncTestClient(app) as client:
        assert (await client.get("/publish/")).json() == {"connected": True}
    assert events.count("connect") == 2


def test_routes_before_startup_explain_themselves(make_app: AppFactory) -> None:
    @provider
    async def broker() -> AsyncIterator[Broker]:
        yield Broker()

    @Controller("/publish")
    class PublishController:
        def __init__(self, broker: Broker) -> None:
            self.broker = broker

        @get("/")
        async def publish(self) -> dict[str, bool]:
            return {"connected": self.broker.connected}

    app = make_app(broker, PublishController)
    response = TestClient(app, raise_server_exceptions=False).get("/publish/")
    assert response.status_code == 500
    with pytest.raises(
        Exception, match="it needs .*PublishController, which is created .* depends on .*broker"
    ):
        TestClient(app).get("/publish/")
    with TestClient(app) as client:
        assert client.get("/publish/").json() == {"connected": False}


def test_injected_lifespan_objects_in_route_methods(make_app: AppFactory) -> None:
    @provider
    async def broker() -> AsyncIterator[Broker]:
        connection = Broker()
        connection.connected = True
        yield connection

    @Controller("/singleton")
    class SingletonController:
        @get("/")
        async def read(self, broker: Inject[Broker]) -> dict[str, bool]:
            return {"connected": broker.connected}

    @Controller("/per-request", scope="request")
    class PerRequestController:
        def __init__(self, broker: Broker) -> None:
            self.broker = broker

        @get("/")
        async def read(self, broker: Inject[Broker]) -> dict[str, bool]:
            return {"connected": broker.connected and broker is self.broker}

    app = make_app(broker, SingletonController, PerRequestController)
    with pytest.raises(Exception, match="cannot answer yet: it needs .*broker"):
        TestClient(app).get("/singleton/")
    with TestClient(app) as client:
        assert client.get("/singleton/").json() == {"connected": True}
        assert client.get("/per-request/").json() == {"connected": True}


def test_user_lifespan_runs_inside_the_container_lifespan(project: Project) -> None:
    events: list[str] = []

    @Service
    class Cache:
        def start(self) -> None:
            events.append("cache start")

        def stop(self) -> None:
            events.append("cache stop")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        cache = app.container.get(Cache)  # type: ignore[attr-defined]
        events.append(f"user start ({type(cache).__name__})")
        yield {"greeting": "hi"}
        events.append("user stop")

    router = APIRouter()

    @router.get("/state")
    async def state(request: Request) -> dict[str, str]:
        return {"greeting": request.state.greeting}

    settings = Settings(config_dir=".")
    app = create_app(settings, components=[Cache], routers=[router], lifespan=lifespan)
    with TestClient(app) as client:
        assert client.get("/state").json() == {"greeting": "hi"}
    assert events == ["cache start", "user start (Cache)", "user stop", "cache stop"]


# -- route table checks -------------------------------------------------------------------------


def test_two_handlers_for_one_route_name_both(make_app: AppFactory) -> None:
    @Controller("/users")
    class A:
        @get("/{user_id}")
        async def read(self, user_id: int) -> None: ...

    router = APIRouter()

    @router.get("/users/{id}")
    async def read_user(id: int) -> None: ...

    with pytest.raises(RouteConflictError) as caught:
        make_app(A, routers=[router])
    message = str(caught.value)
    assert "GET /users/{id} is handled by both" in message
    assert "A.read (as /users/{user_id}) and tests.test_app.read_user" in message.replace(
        "test_two_handlers_for_one_route_name_both.<locals>.", ""
    )


def test_route_shadowing_the_docs_is_reported(make_app: AppFactory) -> None:
    @Controller
    class Docs:
        @get("/docs")
        async def docs(self) -> None: ...

    with pytest.raises(RouteConflictError, match="FastAPI's built-in page /docs"):
        make_app(Docs)


def test_same_controller_names_in_two_apps_get_distinct_operation_ids(project: Project) -> None:
    for app_name in ("alpha", "beta"):
        project.write(
            f"{app_name}/controllers.py",
            f"""
            from tausestack import Controller, get

            @Controller("/{app_name}")
            class ItemController:
                @get("/")
                async def index(self) -> list[int]:
                    return []
            """,
        )
    app = create_app(Settings(installed_apps=["alpha", "beta"]))
    schema = TestClient(app).get("/openapi.json").json()
    assert schema["paths"]["/alpha/"]["get"]["operationId"] == "item_index"
    assert schema["paths"]["/beta/"]["get"]["operationId"] == "beta_item_index"


def test_explicit_duplicate_operation_ids(make_app: AppFactory) -> None:
    @Controller("/a")
    class A:
        @get("/", operation_id="listAll")
        async def index(self) -> None: ...

    @Controller("/b")
    class B:
        @get("/", operation_id="listAll")
        async def index(self) -> None: ...

    with pytest.raises(OperationIdConflictError, match="'listAll' is given to both"):
        make_app(A, B)


def test_plain_router_operation_id_clash(make_app: AppFactory) -> None:
    router = APIRouter()

    @router.get("/x", operation_id="shared")
    async def x() -> None: ...

    @router.get("/y", operation_id="shared")
    async def y() -> None: ...

    with pytest.raises(OperationIdConflictError, match="'shared' is used by both"):
        make_app(routers=[router])


def test_exception_handlers_of_every_kind_keep_working(project: Project) -> None:
    import threading

    from fastapi.responses import JSONResponse

    class Teapot(Exception):
        pass

    class Gone(Exception):
        pass

    class TeapotHandler:  # an object with an async __call__
        async def __call__(self, request: Request, exc: Teapot) -> JSONResponse:
            return JSONResponse({"error": "teapot"}, status_code=418)

    handler_threads: list[int] = []

    def gone(request: Request, exc: Gone) -> JSONResponse:  # sync: Starlette runs it in a thread
        handler_threads.append(threading.get_ident())
        return JSONResponse({"error": "gone"}, status_code=410)

    router = APIRouter()

    @router.get("/teapot")
    async def teapot() -> None:
        raise Teapot

    @router.get("/gone")
    async def gone_route() -> None:
        raise Gone

    app = create_app(
        Settings(config_dir="."), routers=[router], exception_handlers={Teapot: TeapotHandler()}
    )
    app.add_exception_handler(Gone, gone)
    with TestClient(app) as client:
        assert client.get("/teapot").status_code == 418
        assert client.get("/gone").status_code == 410
    assert handler_threads
    assert handler_threads[0] != threading.get_ident()


def test_loaded_settings_can_build_another_app(shop: Project) -> None:
    first = create_app()
    second = create_app(first.settings)
    assert TestClient(second).get("/users/ada").json() == {"message": "Hi, ada (dev)"}


def test_a_project_settings_subclass_is_injectable_by_its_type(project: Project) -> None:
    class ProjectSettings(Settings):
        region: str = "eu"

    @Service
    class Regional:
        def __init__(self, settings: ProjectSettings) -> None:
            self.region = settings.region

    app = create_app(ProjectSettings(config_dir="."), components=[Regional])
    assert app.container.get(Regional).region == "eu"
    assert app.container.get(Settings) is app.settings


def test_nested_routers_keep_their_parent_dependencies(project: Project) -> None:
    project.write(
        "shop/admin/routes.py",
        """
        from fastapi import APIRouter, Depends, HTTPException

        def admin_only() -> None:
            raise HTTPException(401, "admins only")

        items = APIRouter(prefix="/items")

        @items.delete("/{item_id}")
        async def delete_item(item_id: int) -> dict[str, int]:
            return {"deleted": item_id}

        router = APIRouter(prefix="/admin", dependencies=[Depends(admin_only)])
        router.include_router(items)
        """,
    )
    client = TestClient(create_app(Settings(installed_apps=["shop.admin"])))
    assert client.delete("/admin/items/1").status_code == 401
    assert client.delete("/items/1").status_code == 404


class Pet(BaseModel):
    name: str
    tags: dict[str, int] = {}


@Controller("/pets")
class Pets:
    @post("/")
    def add(self, pet: Pet) -> Pet:
        return pet


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\\ud800"}',
        b'{"name": "ok", "tags": {"\\udfff": 1}}',
        b'{"name": ["\\udfff", {"\\ud801": "x"}]}',
        b'{"name": "ok", "tags": {"a": "\\ud800x"}}',
    ],
)
def test_a_lone_surrogate_in_a_json_body_is_a_422_that_escapes_it(
    tmp_path: Path, body: bytes
) -> None:
    """FastAPI's own handler cannot encode the input it echoes (a 500); TauseStack's keeps
    its body shape, with what cannot be UTF-8 escaped."""
    app = create_app(Settings(config_dir=tmp_path), components=[Pets])
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/pets/", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, answer.text
        errors = answer.json()["detail"]
        assert errors
        assert all({"type", "loc", "msg"} <= set(error) for error in errors)
        assert "\\\\ud" in answer.text.lower()
        valid = client.post("/pets/", json={"name": "Rex", "tags": {"a": 1}})
        assert valid.json() == {"name": "Rex", "tags": {"a": 1}}
        missing = client.post("/pets/", json={})
        assert missing.status_code == 422
        assert missing.json() == {
            "detail": [
                {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}}
            ]
        }


def test_validation_errors_of_any_route_escape_the_input_they_echo(tmp_path: Path) -> None:
    """Routes of an app's own APIRouter: the 422 echoes a lone surrogate escaped."""
    router = APIRouter()

    @router.post("/raw")
    def raw(pet: Pet) -> dict[str, str]:
        return {"name": pet.name}

    strict = APIRouter(route_class=UnicodeJsonRoute)

    @strict.post("/strict")
    def echo(pet: Pet) -> Pet:
        return pet

    app = create_app(Settings(config_dir=tmp_path))
    app.include_router(router)
    app.include_router(strict)
    headers = {"Content-Type": "application/json"}
    with TestClient(app, raise_server_exceptions=False) as client:
        body = b'{"name": "ok", "tags": {"a": "\\ud800x"}}'
        answer = client.post("/raw", content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["detail"]
        assert error["loc"] == ["body", "tags", "a"]
        assert error["input"] == "\\ud800x"  # the escape, as text
        answer = client.post("/strict", content=b'{"name": "\\ud800"}', headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["type"] == "json_invalid"


def test_routers_given_to_create_app_refuse_a_lone_surrogate_too(tmp_path: Path) -> None:
    """``create_app(routers=[...])`` (as an installed app's ``routes`` module) is the app's own
    routes, mounted by TauseStack: a lone surrogate that passes validation would reach the
    endpoint, and echoing it back (or storing it on PostgreSQL) be a 500. A router's own route
    class is kept."""
    router, inner = APIRouter(), APIRouter(prefix="/inner")

    @router.post("/echo")
    def echo(pet: Pet) -> Pet:
        return pet

    @inner.post("/echo")
    def inner_echo(pet: Pet) -> Pet:
        return pet

    router.include_router(inner)
    custom = APIRouter(route_class=CustomRoute)

    @custom.post("/custom")
    def custom_echo(pet: Pet) -> dict[str, str]:
        return {"route": type(pet).__name__}

    app = create_app(Settings(config_dir=tmp_path), routers=[router, custom])
    headers = {"Content-Type": "application/json"}
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/echo", "/inner/echo"):
            answer = client.post(path, content=b'{"name": "\\ud800"}', headers=headers)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["detail"][0]["type"] == "json_invalid"
            assert client.post(path, json={"name": "Rex"}).json() == {"name": "Rex", "tags": {}}
        assert client.post("/custom", json={"name": "Rex"}).headers["x-custom-route"] == "yes"


class CustomRoute(APIRoute):
    """A route class of the user's own, which TauseStack leaves in place."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def marked(request: Request) -> Response:
            response = await handler(request)
            response.headers["x-custom-route"] = "yes"
            return response

        return marked


@pytest.mark.parametrize(
    "body",
    ['{"name": "한국어"}'.encode(), b'{"name": "caf\\u00e9"}'],
    ids=["hangul-utf8", "escaped-e-acute"],
)
def test_text_without_surrogates_is_not_walked_for_them(
    tmp_path: Path, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walking the parsed body costs about three times ``json.loads`` (100 ms for 1.5 MB on
    this machine); Hangul (UTF-8 ``\\xed\\x80``-``\\xed\\x9f``) and any escaped non-ASCII
    character (Python's ``json.dumps`` default) need not pay it."""
    import tausestack.web._json_body as json_body

    walked: list[object] = []
    original = json_body._lone_surrogate
    monkeypatch.setattr(
        json_body, "_lone_surrogate", lambda value: walked.append(value) or original(value)
    )
    app = create_app(Settings(config_dir=tmp_path), components=[Pets])
    with TestClient(app) as client:
        answer = client.post("/pets/", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
    assert walked == []


def test_a_surrogate_written_as_utf8_bytes_is_a_body_that_cannot_be_read(tmp_path: Path) -> None:
    """``\\xed\\xa0\\x80`` is no UTF-8 (``json.loads`` would take it): FastAPI's 400 for a
    body it cannot read, as for any other invalid UTF-8, which OpenAPI declares."""
    app = create_app(Settings(config_dir=tmp_path), components=[Pets])
    with TestClient(app, raise_server_exceptions=False) as client:
        body = b'{"name": "\xed\xa0\x80"}'
        answer = client.post("/pets/", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"detail": "There was an error parsing the body"}
        assert client.post("/pets/", json={"name": "Rex\U0001f600"}).status_code == 200


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_a_lone_surrogate_in_a_utf16_or_utf32_body_is_refused_too(
    tmp_path: Path, encoding: str
) -> None:
    """``json.loads`` detects UTF-16 and UTF-32 bodies and decodes them with
    ``surrogatepass``; such a body holds neither ``\\u`` nor ``\\xed``, so the surrogate is
    never looked for and the route echoes it: a 500."""
    app = create_app(Settings(config_dir=tmp_path), components=[Pets])
    body = '{"name": "\ud800"}'.encode(encoding, "surrogatepass")
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/pets/", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code in (400, 422), answer.text

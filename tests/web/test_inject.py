"""``Inject[T]`` in controllers and plain routes, and the request scope's lifetime over HTTP."""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from tausestack import Controller, Inject, Qualifier, Service, get, provider, websocket
from tausestack.errors import MissingProviderError, ResolutionError, ScopeMismatchError
from tausestack.testing import TestClient
from tests.conftest import AppFactory

events: list[str] = []


class Tenant:
    def __init__(self, name: str) -> None:
        self.name = name


@provider(scope="request")
def tenant(connection: HTTPConnection) -> Tenant:  # HTTPConnection: requests and websockets
    return Tenant(connection.headers.get("x-tenant", "public"))


class Session:
    counter = 0

    def __init__(self) -> None:
        Session.counter += 1
        self.number = Session.counter


@provider(scope="request")
async def session() -> AsyncIterator[Session]:
    opened = Session()
    events.append(f"open {opened.number}")
    try:
        yield opened
        events.append(f"commit {opened.number}")
    except Exception as exc:
        events.append(f"rollback {opened.number} {type(exc).__name__}")
        raise
    finally:
        events.append(f"close {opened.number}")


@Service(scope="request")
class UnitOfWork:
    def __init__(self, session: Session, tenant: Tenant) -> None:
        self.session, self.tenant = session, tenant


@Service
class Catalog:
    def titles(self) -> list[str]:
        return ["dune"]


class DomainError(Exception):
    pass


@Controller("/work")
class WorkController:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @get("/")
    async def index(
        self, work: Inject[UnitOfWork], session: Inject[Session], catalog: Inject[Catalog]
    ) -> dict[str, object]:
        return {
            "session": work.session.number,
            "same": work.session is session,
            "tenant": work.tenant.name,
            "catalog": catalog is self.catalog,
        }

    @get("/sync")
    def sync(self, work: Inject[UnitOfWork]) -> dict[str, int]:
        return {"session": work.session.number}

    @get("/fail")
    async def fail(self, work: Inject[UnitOfWork]) -> None:
        raise HTTPException(409, "conflict")

    @get("/domain-error")
    async def domain_error(self, work: Inject[UnitOfWork]) -> None:
        raise DomainError("nope")

    @get("/crash")
    async def crash(self, work: Inject[UnitOfWork]) -> None:
        raise RuntimeError("crash")

    @get("/connection")
    async def connection(self, request: Request, work: Inject[UnitOfWork]) -> dict[str, str]:
        return {"path": request.url.path, "tenant": work.tenant.name}

    @websocket("/ws")
    async def feed(self, socket: WebSocket, work: Inject[UnitOfWork]) -> None:
        await socket.accept()
        await socket.send_json({"session": work.session.number, "tenant": work.tenant.name})
        await socket.close()


@Controller("/per-request", scope="request")
class PerRequestController:
    built = 0

    def __init__(self, work: UnitOfWork) -> None:
        PerRequestController.built += 1
        self.work = work

    @get("/")
    async def index(self, session: Inject[Session]) -> dict[str, object]:
        return {"same": self.work.session is session, "built": PerRequestController.built}


router = APIRouter(prefix="/plain")


def current_tenant_name(tenant: Inject[Tenant]) -> str:
    return tenant.name


@router.get("/")
async def plain(
    work: Inject[UnitOfWork],
    session: Inject[Session],
    tenant_name: Annotated[str, Depends(current_tenant_name)],
) -> dict[str, object]:
    return {"same": work.session is session, "tenant": tenant_name}


@router.get("/fail")
async def plain_fail(session: Inject[Session]) -> None:
    raise HTTPException(400, "bad")


@pytest.fixture
def client(make_app: AppFactory) -> Iterator[TestClient]:
    events.clear()
    app = make_app(
        tenant, session, UnitOfWork, Catalog, WorkController, PerRequestController, routers=[router]
    )

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_one_instance_per_request_and_a_new_one_per_request(client: TestClient) -> None:
    first = client.get("/work/", headers={"x-tenant": "acme"}).json()
    second = client.get("/work/").json()
    assert first == {"session": first["session"], "same": True, "tenant": "acme", "catalog": True}
    assert second["session"] == first["session"] + 1
    assert second["tenant"] == "public"


def test_cleanup_runs_after_each_successful_request(client: TestClient) -> None:
    number = client.get("/work/").json()["session"]
    assert events == [f"open {number}", f"commit {number}", f"close {number}"]


def test_sync_route_methods_get_request_scoped_objects(client: TestClient) -> None:
    number = client.get("/work/sync").json()["session"]
    assert events == [f"open {number}", f"commit {number}", f"close {number}"]


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/work/fail", 409, "HTTPException"),
        ("/work/domain-error", 422, "DomainError"),
        ("/work/crash", 500, "RuntimeError"),
        ("/plain/fail", 400, "HTTPException"),
    ],
)
def test_cleanup_sees_the_request_failure(
    client: TestClient, path: str, status: int, error: str
) -> None:
    assert client.get(path).status_code == status
    assert len(events) == 3
    assert events[1].startswith("rollback")
    assert events[1].endswith(error)
    assert events[2].startswith("close")


def test_validation_errors_before_the_handler_leave_nothing_open(client: TestClient) -> None:
    assert client.get("/work/", params={}).status_code == 200
    events.clear()
    assert client.get("/plain/", headers={"x-tenant": "a"}).status_code == 200
    assert [event.split()[0] for event in events] == ["open", "commit", "close"]


def test_request_scoped_controller(client: TestClient) -> None:
    PerRequestController.built = 0
    assert client.get("/per-request/").json() == {"same": True, "built": 1}
    assert client.get("/per-request/").json() == {"same": True, "built": 2}


def test_plain_routes_and_dependencies_share_the_request_scope(client: TestClient) -> None:
    assert client.get("/plain/", headers={"x-tenant": "acme"}).json() == {
        "same": True,
        "tenant": "acme",
    }


def test_route_keeps_its_own_request_parameter(client: TestClient) -> None:
    response = client.get("/work/connection", headers={"x-tenant": "t1"})
    assert response.json() == {"path": "/work/connection", "tenant": "t1"}


def test_websocket_scope_lives_as_long_as_the_connection(client: TestClient) -> None:
    with client.websocket_connect("/work/ws", headers={"x-tenant": "ws"}) as socket:
        message = socket.receive_json()
    assert message["tenant"] == "ws"
    number = message["session"]
    assert events == [f"open {number}", f"commit {number}", f"close {number}"]


def test_injected_parameters_are_not_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    parameters = schema["paths"]["/work/"]["get"].get("parameters", [])
    assert parameters == []
    plain = schema["paths"]["/plain/"]["get"].get("parameters", [])
    assert plain == []


def test_qualified_injection(make_app: AppFactory) -> None:
    class Greeting:
        text = ""

    @Service(provides=Greeting, qualifier="en")
    class English(Greeting):
        text = "hello"

    @Service(provides=Greeting, qualifier="es")
    class Spanish(Greeting):
        text = "hola"

    @Controller("/greet")
    class GreetController:
        @get("/")
        async def greet(
            self, greeting: Inject[Annotated[Greeting, Qualifier("es")]]
        ) -> dict[str, str]:
            return {"text": greeting.text}

    client = TestClient(make_app(English, Spanish, GreetController))
    assert client.get("/greet/").json() == {"text": "hola"}


def test_singleton_controller_cannot_take_request_objects_in_its_constructor(
    make_app: AppFactory,
) -> None:
    @Controller("/bad")
    class BadController:
        def __init__(self, work: UnitOfWork) -> None:
            self.work = work

        @get("/")
        async def index(self) -> None: ...

    with pytest.raises(ScopeMismatchError, match="Inject\\[...\\] parameter of the route method"):
        make_app(tenant, session, UnitOfWork, BadController)


def test_inject_outside_a_tausestack_app() -> None:
    app = FastAPI()

    @app.get("/")
    async def index(catalog: Inject[Catalog]) -> None: ...

    client = TestClient(app, raise_server_exceptions=True)
    with pytest.raises(Exception, match="create_app\\(\\) did not build"):
        client.get("/")


def test_missing_injection_in_a_route_method_fails_at_startup(make_app: AppFactory) -> None:
    class Servise:
        pass

    @Controller("/m")
    class MethodController:
        @get("/")
        async def index(self, catalog: Inject[Servise]) -> None: ...

    with pytest.raises(MissingProviderError) as caught:
        make_app(Catalog, MethodController)
    assert "No provider for Servise, needed by parameter 'catalog' of route method" in str(
        caught.value
    )
    assert "MethodController.index" in str(caught.value)


def test_missing_injection_in_a_plain_route_fails_at_startup(make_app: AppFactory) -> None:
    class Catalogue:
        pass

    plain_router = APIRouter()

    def dependency(catalogue: Inject[Catalogue]) -> None: ...

    @plain_router.get("/p")
    async def handler(value: Annotated[None, Depends(dependency)]) -> None: ...

    with pytest.raises(MissingProviderError) as caught:
        make_app(Catalog, routers=[plain_router])
    message = str(caught.value)
    assert "No provider for Catalogue, needed by parameter 'catalogue' of" in message
    assert "handler" in message
    assert "Similar registered types: Catalog." in message


def test_request_asked_for_in_a_websocket(make_app: AppFactory) -> None:
    class Agent:
        def __init__(self, value: str) -> None:
            self.value = value

    @provider(scope="request")
    def agent(request: Request) -> Agent:
        return Agent(request.headers.get("user-agent", ""))

    @Controller("/a")
    class AgentController:
        @websocket("/ws")
        async def feed(self, socket: WebSocket, agent: Inject[Agent]) -> None:
            await socket.accept()

    client = TestClient(make_app(agent, AgentController))
    with (
        pytest.raises(ResolutionError, match="A Request was asked for, but this scope has Web"),
        client.websocket_connect("/a/ws"),
    ):
        pass

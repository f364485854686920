"""The container: injection by type, qualifiers, scopes, provider functions and lifecycles.

Annotations here are evaluated eagerly (no ``from __future__ import annotations``) so classes
defined inside a test can be used in type hints, as the container reads them at runtime.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest

from tausestack import Container, Qualifier, Repository, Service, provider
from tausestack.di import provider_for
from tausestack.errors import AppNotStartedError, MissingProviderError, ResolutionError


def build(*components: Any, overrides: dict[Any, Any] | None = None) -> Container:
    container = Container([provider_for(c) for c in components], overrides=overrides)
    container.build()
    return container


@Repository
class Database:
    def __init__(self) -> None:
        self.rows = {1: "ada"}


@Repository
class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db


@Service
class UserService:
    def __init__(self, repo: UserRepository) -> None:
        self.repo = repo


class Notifier:
    def send(self) -> str:
        raise NotImplementedError


@Service(provides=Notifier, qualifier="email")
class EmailNotifier(Notifier):
    def send(self) -> str:
        return "email"


@Service(provides=Notifier, qualifier="sms")
class SmsNotifier(Notifier):
    def send(self) -> str:
        return "sms"


def test_constructor_injection_builds_one_singleton_each() -> None:
    container = build(Database, UserRepository, UserService)
    service = container.get(UserService)
    assert service.repo is container.get(UserRepository)
    assert service.repo.db is container.get(Database)
    assert container.get(UserService) is service


def test_interface_binding_and_qualifiers() -> None:
    @Service
    class Alerts:
        def __init__(
            self,
            email: Annotated[Notifier, Qualifier("email")],
            sms: Annotated[Notifier, Qualifier("sms")],
        ) -> None:
            self.channels = [email.send(), sms.send()]

    container = build(EmailNotifier, SmsNotifier, Alerts)
    assert container.get(Alerts).channels == ["email", "sms"]
    assert container.get(Notifier, "sms").send() == "sms"
    assert container.get(Annotated[Notifier, Qualifier("email")]).send() == "email"
    assert isinstance(container.get(EmailNotifier), EmailNotifier)


def test_primary_decides_between_implementations() -> None:
    @Service(provides=Notifier, primary=True)
    class PushNotifier(Notifier):
        def send(self) -> str:
            return "push"

    container = build(EmailNotifier, SmsNotifier, PushNotifier)
    assert container.get(Notifier).send() == "push"
    assert container.get(Notifier, "email").send() == "email"


def test_unqualified_implementation_is_the_default() -> None:
    @Service(provides=Notifier)
    class DefaultNotifier(Notifier):
        def send(self) -> str:
            return "default"

    container = build(EmailNotifier, DefaultNotifier)
    assert container.get(Notifier).send() == "default"


def test_single_qualified_implementation_serves_unqualified_consumers() -> None:
    container = build(EmailNotifier)
    assert container.get(Notifier).send() == "email"


def test_optional_dependencies_use_their_default() -> None:
    class Missing:
        pass

    @Service
    class Flexible:
        def __init__(self, db: Database, missing: Missing | None, retries: int = 3) -> None:
            self.db, self.missing, self.retries = db, missing, retries

    flexible = build(Database, Flexible).get(Flexible)
    assert isinstance(flexible.db, Database)
    assert flexible.missing is None
    assert flexible.retries == 3


def test_positional_only_and_untyped_defaulted_parameters() -> None:
    @Service
    class Positional:
        def __init__(self, db: Database, /, label="x") -> None:  # type: ignore[no-untyped-def]
            self.db, self.label = db, label

    positional = build(Database, Positional).get(Positional)
    assert isinstance(positional.db, Database)
    assert positional.label == "x"


def test_transient_gives_a_new_instance_to_every_consumer() -> None:
    @Service(scope="transient")
    class Buffer:
        pass

    @Service
    class A:
        def __init__(self, buffer: Buffer) -> None:
            self.buffer = buffer

    @Service
    class B:
        def __init__(self, buffer: Buffer) -> None:
            self.buffer = buffer

    container = build(Buffer, A, B)
    assert container.get(A).buffer is not container.get(B).buffer
    assert container.get(Buffer) is not container.get(Buffer)


def test_the_container_injects_itself() -> None:
    @Service
    class Locator:
        def __init__(self, container: Container) -> None:
            self.container = container

    container = build(Locator)
    assert container.get(Locator).container is container


def test_sync_provider_function_and_provides() -> None:
    class Config:
        def __init__(self, name: str) -> None:
            self.name = name

    class NamedConfig(Config):
        pass

    @provider(provides=Config)
    def config(db: Database) -> NamedConfig:
        return NamedConfig(db.rows[1])

    container = build(Database, config)
    assert container.get(NamedConfig).name == "ada"
    assert container.get(Config) is container.get(NamedConfig)


@pytest.mark.anyio
async def test_async_and_generator_singletons_live_for_the_lifespan() -> None:
    events: list[str] = []

    class Engine:
        closed = False

    class Pool:
        pass

    @provider
    def engine() -> Iterator[Engine]:
        created = Engine()
        events.append("engine open")
        yield created
        created.closed = True
        events.append("engine closed")

    @provider
    async def pool(engine: Engine) -> AsyncIterator[Pool]:
        events.append("pool open")
        yield Pool()
        events.append("pool closed")

    @provider
    async def answer() -> int:
        return 42

    container = build(engine, pool, answer)
    with pytest.raises(AppNotStartedError, match="created when the application starts"):
        container.get(Pool)
    await container.start()
    first_engine = container.get(Engine)
    assert container.get(int) == 42
    assert events == ["engine open", "pool open"]
    await container.stop()
    assert events == ["engine open", "pool open", "pool closed", "engine closed"]
    assert first_engine.closed
    await container.start()
    assert container.get(Engine) is not first_engine
    await container.stop()


@pytest.mark.anyio
async def test_request_scope_reuses_within_and_separates_between_scopes() -> None:
    events: list[str] = []

    class Session:
        pass

    @provider(scope="request")
    def session(db: Database) -> Iterator[Session]:
        events.append("open")
        yield Session()
        events.append("close")

    @Service(scope="request")
    class UnitOfWork:
        def __init__(self, session: Session) -> None:
            self.session = session

    container = build(Database, session, UnitOfWork)
    async with container.request_scope() as scope:
        work = await scope.aget(UnitOfWork)
        assert work.session is await scope.aget(Session)
        assert await scope.aget(UnitOfWork) is work
    assert events == ["open", "close"]
    async with container.request_scope() as other:
        assert (await other.aget(UnitOfWork)) is not work
    assert events == ["open", "close", "open", "close"]


@pytest.mark.anyio
async def test_request_scope_cleanup_sees_the_exception() -> None:
    outcome: list[str] = []

    class Session:
        pass

    @provider(scope="request")
    async def session() -> AsyncIterator[Session]:
        try:
            yield Session()
            outcome.append("commit")
        except ValueError:
            outcome.append("rollback")
            raise

    container = build(session)
    with pytest.raises(ValueError, match="boom"):
        async with container.request_scope() as scope:
            await scope.aget(Session)
            raise ValueError("boom")
    assert outcome == ["rollback"]


def test_request_scoped_objects_need_a_scope() -> None:
    @Service(scope="request")
    class PerRequest:
        pass

    with pytest.raises(ResolutionError, match="request-scoped, so it only exists inside a request"):
        build(PerRequest).get(PerRequest)


@pytest.mark.anyio
async def test_async_transients_need_aget() -> None:
    class Token:
        pass

    @provider(scope="transient")
    async def token() -> Token:
        return Token()

    container = build(token)
    with pytest.raises(ResolutionError, match=r"use `await container\.aget"):
        container.get(Token)
    assert isinstance(await container.aget(Token), Token)


@pytest.mark.anyio
async def test_transient_generators_outside_requests_need_the_lifespan() -> None:
    class Handle:
        pass

    @provider(scope="transient")
    def handle() -> Iterator[Handle]:
        yield Handle()

    container = build(handle)
    with pytest.raises(AppNotStartedError, match="cleanup tied to the application lifespan"):
        await container.aget(Handle)
    await container.start()
    assert isinstance(await container.aget(Handle), Handle)
    await container.stop()


def test_missing_type_at_resolution_suggests_a_near_name() -> None:
    class UserRepo:
        pass

    with pytest.raises(MissingProviderError, match="No provider for UserRepo. Did you mean"):
        build(Database, UserRepository).get(UserRepo)


def test_constructor_errors_name_the_component() -> None:
    @Service
    class Fragile:
        def __init__(self) -> None:
            raise RuntimeError("cannot connect")

    with pytest.raises(RuntimeError, match="cannot connect") as caught:
        build(Fragile)
    assert any("while TauseStack was creating" in note for note in caught.value.__notes__)


@pytest.mark.anyio
async def test_hooks_run_in_dependency_order_and_reverse() -> None:
    events: list[str] = []

    @Service
    class First:
        async def start(self) -> None:
            events.append("start first")

        async def stop(self) -> None:
            events.append("stop first")

    @Service
    class Second:
        def __init__(self, first: First) -> None:
            self.first = first

        def start(self) -> None:
            events.append("start second")

        def stop(self) -> None:
            events.append("stop second")

    container = build(Second, First)  # registration order does not matter
    assert events == []
    await container.start()
    assert events == ["start first", "start second"]
    await container.stop()
    assert events == ["start first", "start second", "stop second", "stop first"]


@pytest.mark.anyio
async def test_failed_start_unwinds_what_already_started() -> None:
    events: list[str] = []

    @Service
    class Good:
        def start(self) -> None:
            events.append("start good")

        def stop(self) -> None:
            events.append("stop good")

    @Service
    class Bad:
        def __init__(self, good: Good) -> None:
            self.good = good

        async def start(self) -> None:
            raise ConnectionError("broker down")

    container = build(Good, Bad)
    with pytest.raises(ConnectionError, match="broker down") as caught:
        await container.start()
    assert events == ["start good", "stop good"]
    assert not container.started
    assert any("lifecycle hook of" in note for note in caught.value.__notes__)


@pytest.mark.anyio
async def test_start_twice_is_an_error() -> None:
    container = build(Database)
    await container.start()
    with pytest.raises(ResolutionError, match="already started"):
        await container.start()
    await container.stop()
    await container.stop()  # stopping a stopped container is harmless


@pytest.mark.anyio
async def test_hooks_and_cleanups_interleave_in_dependency_order() -> None:
    events: list[str] = []

    @Service
    class Pool:
        def __init__(self) -> None:
            self.running = False

        async def start(self) -> None:
            self.running = True
            events.append("pool start")

        async def stop(self) -> None:
            self.running = False
            events.append("pool stop")

    class Session:
        pass

    @provider
    async def session(pool: Pool) -> AsyncIterator[Session]:
        events.append(f"session open (pool running={pool.running})")
        yield Session()
        events.append(f"session close (pool running={pool.running})")

    container = build(Pool, session)
    await container.start()
    await container.stop()
    assert events == [
        "pool start",
        "session open (pool running=True)",
        "session close (pool running=True)",
        "pool stop",
    ]


@pytest.mark.anyio
async def test_concurrent_first_use_in_one_scope_creates_one_object() -> None:
    import anyio

    created: list[str] = []
    closed: list[str] = []

    class Session:
        pass

    @provider(scope="request")
    async def session() -> AsyncIterator[Session]:
        created.append("session")
        await anyio.sleep(0.01)  # give the other task a chance to ask meanwhile
        yield Session()
        closed.append("session")

    container = build(session)
    results: list[Session] = []
    async with container.request_scope() as scope:

        async def ask() -> None:
            results.append(await scope.aget(Session))

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            group.start_soon(ask)
    assert results[0] is results[1]
    assert created == ["session"]
    assert closed == ["session"]


@pytest.mark.anyio
async def test_sync_provider_functions_run_in_a_worker_thread() -> None:
    import threading

    class Report:
        def __init__(self, thread: int) -> None:
            self.thread = thread

    @provider(scope="request")
    def report() -> Report:
        return Report(threading.get_ident())  # a blocking call here would not stall the loop

    @provider(scope="request")
    def handle() -> Iterator[str]:
        yield f"opened in {threading.get_ident()}"

    @Service(scope="request")
    class Constructed:
        def __init__(self) -> None:
            self.thread = threading.get_ident()

    container = build(report, handle, Constructed)
    loop_thread = threading.get_ident()
    async with container.request_scope() as scope:
        assert (await scope.aget(Report)).thread != loop_thread
        assert await scope.aget(str) != f"opened in {loop_thread}"
        assert (await scope.aget(Constructed)).thread == loop_thread


def test_transients_that_need_request_objects_need_a_scope() -> None:
    @Service(scope="request")
    class Tenant:
        pass

    @Service(scope="transient")
    class Audit:
        def __init__(self, tenant: Tenant) -> None:
            self.tenant = tenant

    with pytest.raises(ResolutionError, match="Audit needs request objects, so it only exists"):
        build(Tenant, Audit).get(Audit)


def test_protocols_can_be_provided() -> None:
    from typing import Protocol

    class Sender(Protocol):
        def send(self) -> str: ...

    @Service(provides=Sender)
    class SmtpSender:
        def send(self) -> str:
            return "smtp"

    @Service
    class Mailer:
        def __init__(self, sender: Sender) -> None:
            self.sender = sender

    assert build(SmtpSender, Mailer).get(Mailer).sender.send() == "smtp"


def test_annotated_with_two_qualifiers_is_an_error() -> None:
    from tausestack.errors import ProviderDefinitionError

    @Service
    class Confused:
        def __init__(
            self, notifier: Annotated[Notifier, Qualifier("email"), Qualifier("sms")]
        ) -> None:
            self.notifier = notifier

    with pytest.raises(ProviderDefinitionError, match="carries several qualifiers"):
        build(EmailNotifier, SmsNotifier, Confused)

"""Overrides: at construction and as a context manager that rebuilds dependents and restores."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest

from tausestack import Container, Qualifier, Service, provider
from tausestack.di import provider_for
from tausestack.errors import MissingProviderError, ResolutionError


def build(*components: Any, overrides: dict[Any, Any] | None = None) -> Container:
    container = Container([provider_for(c) for c in components], overrides=overrides)
    container.build()
    return container


class Clock:
    def now(self) -> str:
        return "real"


@Service(provides=Clock)
class SystemClock(Clock):
    pass


@Service
class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock


@Service
class Report:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler


class FrozenClock(Clock):
    def now(self) -> str:
        return "frozen"


def test_overrides_at_construction() -> None:
    container = build(SystemClock, Scheduler, overrides={Clock: FrozenClock()})
    assert container.get(Scheduler).clock.now() == "frozen"


def test_override_with_a_class_is_constructed_with_injection() -> None:
    class CountingClock(Clock):
        def __init__(self, scheduler_count: int = 0) -> None:
            self.count = scheduler_count

    container = build(SystemClock, Scheduler, overrides={Clock: CountingClock})
    assert isinstance(container.get(Scheduler).clock, CountingClock)


def test_context_manager_rebuilds_dependents_and_restores_them() -> None:
    container = build(SystemClock, Scheduler, Report)
    report, scheduler = container.get(Report), container.get(Scheduler)
    with container.override(Clock, FrozenClock()):
        assert container.get(Clock).now() == "frozen"
        assert container.get(Report).scheduler.clock.now() == "frozen"
        assert container.get(Report) is not report
    assert container.get(Report) is report
    assert container.get(Scheduler) is scheduler
    assert container.get(Clock).now() == "real"


def test_unrelated_singletons_are_kept() -> None:
    @Service
    class Unrelated:
        pass

    container = build(SystemClock, Scheduler, Unrelated)
    unrelated = container.get(Unrelated)
    with container.override(Clock, FrozenClock()):
        assert container.get(Unrelated) is unrelated


def test_nested_overrides_exit_in_reverse_order() -> None:
    class OtherClock(Clock):
        def now(self) -> str:
            return "other"

    container = build(SystemClock, Scheduler)
    with container.override(Clock, FrozenClock()):
        with container.override(Clock, OtherClock()):
            assert container.get(Scheduler).clock.now() == "other"
        assert container.get(Scheduler).clock.now() == "frozen"
    assert container.get(Scheduler).clock.now() == "real"


def test_overrides_exited_out_of_order_are_an_error() -> None:
    container = build(SystemClock, Scheduler)
    outer = container.override(Clock, FrozenClock())
    inner = container.override(Scheduler, Scheduler(FrozenClock()))
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(ResolutionError, match="reverse order they were entered"):
        outer.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    outer.__exit__(None, None, None)
    assert container.get(Scheduler).clock.now() == "real"


def test_overriding_something_nothing_provides() -> None:
    class Clok:
        pass

    container = build(SystemClock)
    with pytest.raises(MissingProviderError, match="Cannot override Clok: nothing provides it"):
        container.override(Clok, object()).__enter__()
    with pytest.raises(MissingProviderError, match="Did you mean 'Clock'"):
        Container([provider_for(SystemClock)], overrides={Clok: object()})


def test_override_one_qualified_implementation() -> None:
    @Service(provides=Clock, qualifier="utc")
    class UtcClock(Clock):
        pass

    @Service
    class Pair:
        def __init__(self, system: Annotated[Clock, Qualifier("utc")], local: SystemClock) -> None:
            self.system, self.local = system, local

    container = build(SystemClock, UtcClock, Pair)
    with container.override(Annotated[Clock, Qualifier("utc")], FrozenClock()):
        assert container.get(Pair).system.now() == "frozen"
        assert container.get(Pair).local.now() == "real"


@pytest.mark.anyio
async def test_sync_override_refuses_when_rebuilding_needs_the_event_loop() -> None:
    class Connection:
        pass

    @provider
    async def connection(clock: Clock) -> AsyncIterator[Connection]:
        yield Connection()

    container = build(SystemClock, connection)
    await container.start()
    with pytest.raises(ResolutionError, match="Use `async with container.override"):
        container.override(Clock, FrozenClock()).__enter__()
    assert container.get(Clock).now() == "real"
    await container.stop()


@pytest.mark.anyio
async def test_async_override_runs_hooks_of_rebuilt_objects() -> None:
    events: list[str] = []

    @Service
    class Watcher:
        def __init__(self, clock: Clock) -> None:
            self.clock = clock

        async def start(self) -> None:
            events.append(f"start {self.clock.now()}")

        async def stop(self) -> None:
            events.append(f"stop {self.clock.now()}")

    container = build(SystemClock, Watcher)
    await container.start()
    async with container.override(Clock, FrozenClock()):
        assert container.get(Watcher).clock.now() == "frozen"
    assert events == ["start real", "start frozen", "stop frozen"]
    await container.stop()
    assert events[-1] == "stop real"


def test_listeners_hear_about_overrides() -> None:
    container = build(SystemClock, Scheduler)
    calls: list[str] = []
    container.add_listener(lambda: calls.append(container.get(Scheduler).clock.now()))
    with container.override(Clock, FrozenClock()):
        pass
    assert calls == ["frozen", "real"]


def test_override_a_qualified_binding_when_all_are_qualified() -> None:
    @Service(provides=Clock, qualifier="utc")
    class UtcClock(Clock):
        pass

    @Service(provides=Clock, qualifier="local")
    class LocalClock(Clock):
        pass

    @Service
    class Pair:
        def __init__(
            self,
            utc: Annotated[Clock, Qualifier("utc")],
            local: Annotated[Clock, Qualifier("local")],
        ) -> None:
            self.utc, self.local = utc, local

    container = build(UtcClock, LocalClock, Pair)
    with container.override(Clock, FrozenClock(), qualifier="utc"):
        assert (container.get(Pair).utc.now(), container.get(Pair).local.now()) == (
            "frozen",
            "real",
        )
    constructed = build(
        UtcClock, LocalClock, Pair, overrides={Annotated[Clock, Qualifier("local")]: FrozenClock()}
    )
    assert constructed.get(Pair).local.now() == "frozen"
    with pytest.raises(
        MissingProviderError, match=r"Known qualifiers for Clock: \['utc', 'local'\]"
    ):
        container.override(Clock, FrozenClock(), qualifier="tz").__enter__()


def test_an_override_cannot_be_entered_twice() -> None:
    container = build(SystemClock, Scheduler)
    override = container.override(Clock, FrozenClock())
    with override, pytest.raises(ResolutionError, match="is already active"):
        override.__enter__()

"""Startup validation of the dependency graph and of component declarations: every message."""

from collections.abc import Iterator
from typing import Annotated, Any

import pytest

from tausestack import Container, Qualifier, Service, provider
from tausestack.di import provider_for
from tausestack.errors import (
    AmbiguousProviderError,
    CircularDependencyError,
    ContainerValidationError,
    MissingProviderError,
    ProviderDefinitionError,
    ScopeMismatchError,
)


def build(*components: Any) -> Container:
    return Container([provider_for(component) for component in components])


class Notifier:
    pass


@Service(provides=Notifier, qualifier="email")
class EmailNotifier(Notifier):
    pass


@Service(provides=Notifier, qualifier="sms")
class SmsNotifier(Notifier):
    pass


@Service
class UserRepository:
    pass


def test_missing_provider_names_consumer_parameter_and_near_match() -> None:
    class UserRepo:
        pass

    @Service
    class UserService:
        def __init__(self, repo: UserRepo) -> None:
            self.repo = repo

    with pytest.raises(MissingProviderError) as caught:
        build(UserRepository, UserService)
    message = str(caught.value)
    assert message.startswith("No provider for UserRepo, needed by parameter 'repo' of ")
    assert "UserService" in message
    assert "Similar registered types: UserRepository." in message


def test_missing_provider_without_near_match_says_how_to_register() -> None:
    class Clock:
        pass

    @Service
    class Scheduler:
        def __init__(self, clock: Clock) -> None:
            self.clock = clock

    with pytest.raises(MissingProviderError, match="Register a class with @Service .* default"):
        build(Scheduler)


def test_missing_interface_with_an_unbound_subclass() -> None:
    class Storage:
        pass

    @Service
    class DiskStorage(Storage):
        pass

    @Service
    class Reports:
        def __init__(self, storage: Storage) -> None:
            self.storage = storage

    with pytest.raises(
        MissingProviderError, match="DiskStorage subclasses it but does not provide"
    ):
        build(DiskStorage, Reports)


def test_missing_component_that_was_not_discovered() -> None:
    @Service
    class Mailer:
        pass

    @Service
    class Signup:
        def __init__(self, mailer: Mailer) -> None:
            self.mailer = mailer

    with pytest.raises(MissingProviderError, match="marked as a component, but its module"):
        build(Signup)


def test_missing_qualifier_lists_the_known_ones() -> None:
    @Service
    class Alerts:
        def __init__(self, push: Annotated[Notifier, Qualifier("push")]) -> None:
            self.push = push

    with pytest.raises(
        MissingProviderError, match=r"Known qualifiers for Notifier: \['email', 'sms'\]"
    ):
        build(EmailNotifier, SmsNotifier, Alerts)


def test_ambiguous_binding_lists_candidates_and_fix() -> None:
    @Service
    class Alerts:
        def __init__(self, notifier: Notifier) -> None:
            self.notifier = notifier

    with pytest.raises(AmbiguousProviderError) as caught:
        build(EmailNotifier, SmsNotifier, Alerts)
    message = str(caught.value)
    assert "parameter 'notifier' of" in message
    assert "Several providers match Notifier:" in message
    assert "EmailNotifier (qualifier 'email')" in message
    assert "SmsNotifier (qualifier 'sms')" in message
    assert 'Annotated[Notifier, Qualifier("...")]' in message


def test_two_primaries_are_ambiguous() -> None:
    @Service(provides=Notifier, primary=True)
    class A(Notifier):
        pass

    @Service(provides=Notifier, primary=True)
    class B(Notifier):
        pass

    @Service
    class Alerts:
        def __init__(self, notifier: Notifier) -> None:
            self.notifier = notifier

    with pytest.raises(AmbiguousProviderError, match="Only one of them may be primary=True"):
        build(A, B, Alerts)


class CycleA:
    def __init__(self, b: "CycleB") -> None:
        self.b = b


class CycleB:
    def __init__(self, c: "CycleC") -> None:
        self.c = c


class CycleC:
    def __init__(self, a: CycleA) -> None:
        self.a = a


def test_cycle_prints_the_whole_chain() -> None:
    components = [Service(cls) for cls in (CycleA, CycleB, CycleC)]
    with pytest.raises(CircularDependencyError) as caught:
        build(*components)
    prefix = "tests.di.test_validation."
    assert str(caught.value).startswith(
        f"Circular dependency: {prefix}CycleA --b--> {prefix}CycleB --c--> {prefix}CycleC "
        f"--a--> {prefix}CycleA. Break the cycle"
    )


def test_self_dependency_is_a_cycle() -> None:
    class Narcissus:
        def __init__(self, me: "Narcissus") -> None:
            self.me = me

    Narcissus.__init__.__annotations__["me"] = Narcissus
    with pytest.raises(CircularDependencyError, match=r"Narcissus --me--> .*Narcissus\."):
        build(Service(Narcissus))


def test_singleton_depending_on_request_scope_is_rejected() -> None:
    @Service(scope="request")
    class CurrentUser:
        pass

    @Service
    class Audit:
        def __init__(self, user: CurrentUser) -> None:
            self.user = user

    with pytest.raises(ScopeMismatchError) as caught:
        build(CurrentUser, Audit)
    message = str(caught.value)
    assert "Singleton " in message
    assert "Audit cannot depend on request-scoped" in message
    assert "(parameter 'user' of" in message
    assert "Make " in message
    assert 'request-scoped (scope="request")' in message


def test_singleton_depending_on_request_scope_through_a_transient() -> None:
    @Service(scope="request")
    class CurrentUser:
        pass

    @Service(scope="transient")
    class Greeting:
        def __init__(self, user: CurrentUser) -> None:
            self.user = user

    @Service
    class Greeter:
        def __init__(self, greeting: Greeting) -> None:
            self.greeting = greeting

    with pytest.raises(
        ScopeMismatchError, match="transient .*Greeting, which needs a request-scoped"
    ):
        build(CurrentUser, Greeting, Greeter)


def test_request_scope_may_use_singletons_and_transients() -> None:
    @Service(scope="transient")
    class Buffer:
        pass

    @Service(scope="request")
    class Handler:
        def __init__(self, repo: UserRepository, buffer: Buffer) -> None:
            self.repo, self.buffer = repo, buffer

    build(UserRepository, Buffer, Handler)  # no error


def test_every_problem_is_reported_at_once() -> None:
    class Missing:
        pass

    @Service(scope="request")
    class PerRequest:
        pass

    @Service
    class Broken:
        def __init__(self, missing: Missing, per_request: PerRequest) -> None:
            self.missing, self.per_request = missing, per_request

    @Service
    class Alerts:
        def __init__(self, notifier: Notifier) -> None:
            self.notifier = notifier

    with pytest.raises(ContainerValidationError) as caught:
        build(PerRequest, Broken, EmailNotifier, SmsNotifier, Alerts)
    kinds = sorted(type(problem).__name__ for problem in caught.value.problems)
    assert kinds == ["AmbiguousProviderError", "MissingProviderError", "ScopeMismatchError"]
    assert str(caught.value).startswith("The dependency graph has 3 problems:\n  1. ")


# -- declarations ---------------------------------------------------------------------------------


def test_parameter_without_type_hint() -> None:
    class Untyped:
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

    with pytest.raises(
        ProviderDefinitionError, match="Parameter 'thing' of .*Untyped.__init__ has no"
    ):
        build(Service(Untyped))


def test_unresolvable_forward_reference() -> None:
    class Later:
        def __init__(self, thing: "NotDefinedAnywhere") -> None:  # type: ignore[name-defined] # noqa: F821
            self.thing = thing

    with pytest.raises(
        ProviderDefinitionError, match="name 'NotDefinedAnywhere' is not defined.*TYPE_CHECKING"
    ):
        build(Service(Later))


def test_provider_needs_a_return_annotation() -> None:
    @provider
    def nothing():  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(ProviderDefinitionError, match="has no return type annotation"):
        build(nothing)


def test_generator_provider_needs_an_iterator_annotation() -> None:
    @provider
    def numbers() -> int:  # type: ignore[misc]
        yield 1

    with pytest.raises(ProviderDefinitionError, match=r"must be Iterator\[T\] \(it says int\)"):
        build(numbers)


def test_generator_provider_with_iterator_annotation() -> None:
    @provider
    def numbers() -> Iterator[int]:
        yield 1

    build(numbers)


def test_lifecycle_hook_with_required_arguments() -> None:
    class Timer:
        def start(self, interval: float) -> None:
            self.interval = interval

    with pytest.raises(ProviderDefinitionError, match=r"Timer.start\(\) takes required arguments"):
        build(Service(Timer))


def test_invalid_decorator_arguments() -> None:
    with pytest.raises(ProviderDefinitionError, match="scope='forever'; use one of 'singleton'"):
        Service(scope="forever")(type("X", (), {}))
    with pytest.raises(ProviderDefinitionError, match="is not a subclass of Notifier"):
        Service(provides=Notifier)(type("X", (), {}))
    with pytest.raises(ProviderDefinitionError, match="qualifier must be a non-empty string"):
        Service(qualifier="")(type("X", (), {}))
    with pytest.raises(ProviderDefinitionError, match="profiles must be profile names"):
        Service(profiles=["!"])(type("X", (), {}))
    with pytest.raises(ProviderDefinitionError, match="@Service decorates classes"):
        Service(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ProviderDefinitionError, match="@provider decorates functions"):
        provider(type("X", (), {}))  # type: ignore[arg-type]
    with pytest.raises(ProviderDefinitionError, match="Qualifier names must be non-empty strings"):
        Qualifier("")


def test_unmarked_component() -> None:
    class Plain:
        pass

    with pytest.raises(ProviderDefinitionError, match="is not a component. Mark it with @Service"):
        provider_for(Plain)


def test_profiles_select_components() -> None:
    @Service(profiles=["dev", "test"])
    class DevOnly:
        pass

    @Service(profiles="!prod")
    class NotInProd:
        pass

    dev_only = DevOnly.__tausestack_component__  # type: ignore[attr-defined]
    not_in_prod = NotInProd.__tausestack_component__  # type: ignore[attr-defined]
    assert dev_only.active_in("dev")
    assert dev_only.active_in("test")
    assert not dev_only.active_in("prod")
    assert not_in_prod.active_in("dev")
    assert not not_in_prod.active_in("prod")


def test_only_classes_and_functions_are_components() -> None:
    from tausestack.di import ComponentSpec

    with pytest.raises(
        ProviderDefinitionError, match="components are classes or provider functions"
    ):
        provider_for(42, spec=ComponentSpec(kind="service"))

"""``@cached`` on methods: what the receiver adds to the key, and names that are not unique."""

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from tausestack import Settings, sdk
from tausestack.sdk.cache import Cache, CacheConfigurationError, cached
from tests.conftest import AppFactory


class User(BaseModel):
    id: int
    name: str


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(Settings(config_dir=tmp_path))


VERSIONS: list[str] = []
SCALED: list[tuple[int, int]] = []


class Directory:
    calls: list[int]

    def __init__(self, cache: Cache) -> None:
        self.calls = []
        self.cache = cache

    @cached(namespace="directory")
    def find(self, user_id: int) -> User:
        self.calls.append(user_id)
        return User(id=user_id, name=f"user {user_id}")

    @cached(namespace="directory-async")
    async def afind(self, user_id: int) -> User | None:
        self.calls.append(-user_id)
        return None

    @classmethod
    @cached(namespace="directory-class")
    def version(cls, major: int) -> str:
        VERSIONS.append(cls.__name__)
        return f"{cls.__name__} {major}"

    @staticmethod
    @cached(namespace="directory-static")
    def double(number: int) -> int:
        return 2 * number


class SubDirectory(Directory):
    pass


def test_self_is_not_part_of_the_key(tmp_path: Path, make_app: AppFactory) -> None:
    app = make_app()
    with sdk.use(app.container):
        first, second = Directory(sdk.cache.current()), Directory(sdk.cache.current())
        assert first.find(1) == second.find(1) == User(id=1, name="user 1")
        assert first.calls + second.calls == [1]
        assert Directory.find.cache_key(1) == "directory:[1]"
        assert first.find.invalidate(1) is True
        second.find(1)
        assert second.calls == [1]
        assert Directory.version(3) == Directory.version(3) == "Directory 3"
        assert Directory.version.cache_key(3) == "directory-class:[3]"


@pytest.mark.anyio
async def test_async_methods(make_app: AppFactory) -> None:
    app = make_app()
    with sdk.use(app.container):
        directory = Directory(sdk.cache.current())
        assert await directory.afind(5) is None
        assert await directory.afind(5) is None
        assert directory.calls == [-5]
        assert await directory.afind.ainvalidate(5) is True


def test_cached_goes_below_classmethod_and_staticmethod() -> None:
    with pytest.raises(CacheConfigurationError, match="below @classmethod or @staticmethod"):
        cached(staticmethod(lambda: 1))  # type: ignore[arg-type]


# -- receivers ------------------------------------------------------------------------------------


def test_a_subclass_has_its_own_class_method_entries(make_app: AppFactory) -> None:
    VERSIONS.clear()
    with sdk.use(make_app().container):
        assert Directory.version(3) == "Directory 3"
        assert SubDirectory.version(3) == "SubDirectory 3"  # not the parent's entry
        assert SubDirectory.version(3) == "SubDirectory 3"
        assert VERSIONS == ["Directory", "SubDirectory"]
        sub_key = Directory.version.cache_key(SubDirectory, 3)
        assert sub_key == f"directory-class:{__name__}.SubDirectory:[3]"
        assert Directory.version.invalidate(SubDirectory, 3) is True  # the class, passed first
        assert Directory.version.invalidate(3) is True  # the defining class's entry
        SubDirectory.version(3)
        assert VERSIONS == ["Directory", "SubDirectory", "SubDirectory"]


def test_an_inherited_method_shares_the_entries_of_its_class(make_app: AppFactory) -> None:
    with sdk.use(make_app().container):
        parent, child = Directory(sdk.cache.current()), SubDirectory(sdk.cache.current())
        assert parent.find(4) == child.find(4)
        assert parent.calls + child.calls == [4]  # documented: keyed by the defining class
        assert child.find.invalidate(child, 4) is True  # the receiver may be passed first


def test_a_static_method_keys_its_first_argument(make_app: AppFactory) -> None:
    with sdk.use(make_app().container):
        assert Directory.double(2) == 4
        assert Directory.double(3) == 6
        assert Directory.double.cache_key(3) == "directory-static:[3]"


@cached(namespace="scale")
def scale(self: int, factor: int) -> int:  # a plain function: "self" is an argument
    SCALED.append((self, factor))
    return self * factor


def test_a_first_parameter_named_self_is_an_argument_of_a_function(make_app: AppFactory) -> None:
    SCALED.clear()
    with sdk.use(make_app().container):
        assert scale(2, 10) == 20
        assert scale(3, 10) == 30
        assert scale.cache_key(3, 10) == "scale:[3,10]"
    assert SCALED == [(2, 10), (3, 10)]


# -- per instance ---------------------------------------------------------------------------------


class Tenant:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loads = 0

    @cached(key="{self.name}:user:{user_id}")
    def user(self, user_id: int) -> str:
        self.loads += 1
        return f"{self.name}/{user_id}"

    @cached(namespace="tenant-count", key=lambda self, kind: f"{self.name}:{kind}")
    def count(self, kind: str) -> int:
        self.loads += 1
        return len(kind)


def test_key_templates_and_callables_receive_self(make_app: AppFactory) -> None:
    with sdk.use(make_app().container):
        acme, globex = Tenant("acme"), Tenant("globex")
        assert acme.user(1) == "acme/1"
        assert globex.user(1) == "globex/1"  # its own entry
        assert acme.user(1) == "acme/1"
        assert sdk.cache.get("globex:user:1") == "globex/1"
        assert acme.count("abc") == globex.count("abc") == 3
        assert (acme.loads, globex.loads) == (2, 2)
        assert acme.user.invalidate(acme, 1) is True  # the helpers take self too
        assert acme.count.cache_key(acme, "abc") == "tenant-count:acme:abc"


def test_a_helper_without_self_says_to_pass_it(make_app: AppFactory) -> None:
    with (
        sdk.use(make_app().container),
        pytest.raises(Exception, match=r"pass it first to invalidate\(\)"),
    ):
        Tenant("acme").user.invalidate(1)


# -- names that are not unique --------------------------------------------------------------------


def test_a_lambda_needs_a_namespace() -> None:
    with pytest.raises(CacheConfigurationError, match=r"a lambda.*namespace="):
        cached(lambda x: x)
    assert cached(namespace="identity")(lambda x: x).cache_key(1) == "identity:[1]"


def make_counter(step: int) -> Callable[[int], int]:
    @cached(namespace=f"counter-{step}")
    def advance(start: int) -> int:
        return start + step

    return advance


def test_closures_of_one_factory_need_their_own_namespaces(make_app: AppFactory) -> None:
    with pytest.raises(CacheConfigurationError, match=r"defined in a function.*namespace="):

        @cached
        def inner(x: int) -> int:
            return x

    with sdk.use(make_app().container):
        assert make_counter(1)(10) == 11
        assert make_counter(5)(10) == 15

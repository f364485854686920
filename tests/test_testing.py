"""tausestack.testing: test apps, the async client and the pytest plugin's fixtures."""

import pytest

from tausestack import Service, Settings
from tausestack.testing import AsyncTestClient, create_test_app
from tests.conftest import Project


@Service(profiles=["test"])
class FakeMailer:
    pass


def test_test_apps_use_the_test_profile(project: Project) -> None:
    app = create_test_app(components=[FakeMailer])
    assert app.settings.profile == "test"
    assert isinstance(app.container.get(FakeMailer), FakeMailer)
    project.write("application-ci.yaml", "")
    assert create_test_app(profile="ci").settings.profile == "ci"


def test_profile_from_the_environment_wins(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("application-staging.yaml", "")
    monkeypatch.setenv("TAUSESTACK_PROFILE", "staging")
    assert create_test_app().settings.profile == "staging"


def test_settings_object_or_values_not_both(project: Project) -> None:
    with pytest.raises(TypeError, match="either a Settings object or setting values"):
        create_test_app(Settings(), installed_apps=[])


@pytest.mark.anyio
async def test_async_client_surfaces_startup_failures(project: Project) -> None:
    @Service
    class Failing:
        def start(self) -> None:
            raise ConnectionError("no broker")

    app = create_test_app(components=[Failing])
    with pytest.raises(ConnectionError, match="no broker"):
        async with AsyncTestClient(app):
            pass


PLUGIN_TESTS = """
import pytest
from tausestack import Controller, Service, get


@Service
class Greeter:
    def greet(self) -> str:
        return "real"


class FakeGreeter:
    def greet(self) -> str:
        return "fake"


@Controller("/greet")
class GreetController:
    def __init__(self, greeter: Greeter) -> None:
        self.greeter = greeter

    @get("/")
    async def greet(self) -> dict:
        return {"greeting": self.greeter.greet()}


@pytest.fixture
def tausestack_settings():
    return {"installed_apps": ["test_plugin_use"]}


def test_sync_client(tausestack_client, tausestack_app):
    assert tausestack_app.settings.profile == "test"
    assert tausestack_client.get("/greet/").json() == {"greeting": "real"}


@pytest.mark.parametrize("tausestack_overrides", [{Greeter: FakeGreeter()}])
def test_overrides_fixture(tausestack_client):
    assert tausestack_client.get("/greet/").json() == {"greeting": "fake"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_client(tausestack_async_client):
    response = await tausestack_async_client.get("/greet/")
    assert response.json() == {"greeting": "real"}
"""


def test_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plugin_use=PLUGIN_TESTS)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("-p", "anyio", "-q")
    result.assert_outcomes(passed=3)

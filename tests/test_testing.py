"""tausestack.testing: test apps, the async client and the pytest plugin's fixtures."""

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

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


HEAVY = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "httpx2", "anyio", "pydantic")


def test_the_plugin_and_the_testing_package_import_nothing_heavy() -> None:
    # The bare package (its __init__ is another concern, tested in test_public_api.py), then
    # what pytest loads through the entry point and what `import tausestack.testing` costs.
    script = textwrap.dedent(
        f"""
        import importlib.util, json, sys, types
        spec = importlib.util.find_spec("tausestack")
        package = types.ModuleType("tausestack")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["tausestack"] = package
        import tausestack.testing.plugin
        import tausestack.testing
        print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


UNRELATED_TEST = """
import sys


def test_unrelated():
    assert "tausestack.testing.plugin" in sys.modules  # the plugin was loaded
    loaded = [name for name in ("fastapi", "starlette", "sqlalchemy") if name in sys.modules]
    assert loaded == []
"""


def test_a_pytest_run_using_no_fixture_of_ours_does_not_import_fastapi(
    pytester: pytest.Pytester,
) -> None:
    # The plugin is a submodule: pytest loading it runs tausestack/__init__.py too.
    pytester.makepyfile(test_unrelated=UNRELATED_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_fixtures_still_work_when_the_plugin_loaded_lazily(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_late="""
        import sys

        def test_client(tausestack_client):
            assert "fastapi" in sys.modules
            assert tausestack_client.get("/nowhere").status_code == 404
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


TYPED_USE = """
import tausestack.testing as testing
from tausestack.testing import TestClient, TestDatabaseError, create_test_app

client: TestClient = TestClient(create_test_app())
error: TestDatabaseError = testing.TestDatabaseError("no server")
testing.create_tset_app()
from tausestack.testing import TestCilent
"""


def test_type_checkers_see_the_real_names_and_refuse_others(tmp_path: Path) -> None:
    # The names load on first use (a module __getattr__), which type checkers must not see:
    # they would take any name, a typo too, as Any.
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed in this environment (pip install mypy)")
    user = tmp_path / "test_user.py"
    user.write_text(TYPED_USE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    errors = [
        line.split(": error: ")[1] for line in result.stdout.splitlines() if ": error: " in line
    ]
    assert errors == [
        'Module has no attribute "create_tset_app"; maybe "create_test_app"?  [attr-defined]',
        'Module "tausestack.testing" has no attribute "TestCilent"; maybe "TestClient"?  '
        "[attr-defined]",
    ], result.stdout + result.stderr

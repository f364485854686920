"""``tausestack`` and ``tausestack.web`` import their names on first use (PEP 562).

``import tausestack`` costs nothing until a name is used, and reading settings does not import
FastAPI, so the command line's ``--help`` and scaffolding commands start without it.
"""

import importlib
import importlib.metadata
import json
import subprocess
import sys
import textwrap

import pytest

import tausestack
import tausestack.web


def imported_after(code: str) -> list[str]:
    """Which of FastAPI, Starlette and pydantic-settings a fresh interpreter has after ``code``."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        heavy = ("fastapi", "starlette", "pydantic_settings")
        print(json.dumps([name for name in heavy if name in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    found: list[str] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_importing_the_package_imports_nothing_heavy() -> None:
    assert imported_after("import tausestack, tausestack.web, tausestack.sdk") == []


def test_the_sdk_is_an_attribute_of_the_package_without_importing_fastapi() -> None:
    code = "import tausestack\nassert tausestack.sdk.__name__ == 'tausestack.sdk'"
    assert imported_after(code) == []
    assert "sdk" in dir(tausestack)


def test_an_sdk_module_is_reachable_through_the_package() -> None:
    code = "import tausestack\nassert tausestack.sdk.cache.__name__ == 'tausestack.sdk.cache'"
    assert "fastapi" not in imported_after(code)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("tausestack.testing", "TestDatabase"),
        ("tausestack.web.middleware", "RateLimitMiddleware"),
        ("tausestack.sdk", "current_container"),
    ],
)
def test_a_lazy_name_is_kept_after_its_first_use(
    module: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = importlib.import_module(module)
    # Forget what an earlier test may have loaded, so this first use goes through the loader.
    monkeypatch.delitem(vars(package), name, raising=False)
    assert name not in vars(package)
    value = getattr(package, name)
    assert vars(package)[name] is value  # an ordinary attribute from now on
    assert name in dir(package)


def test_reading_settings_imports_no_web_framework() -> None:
    code = "from tausestack import Settings\nSettings(installed_apps=[]).profile"
    assert imported_after(code) == ["pydantic_settings"]


def test_a_name_brings_in_its_module() -> None:
    assert imported_after("from tausestack import create_app") == [
        "fastapi",
        "starlette",
        "pydantic_settings",
    ]


@pytest.mark.parametrize("name", sorted(set(tausestack.__all__) - {"__version__"}))
def test_every_public_name_is_the_object_its_module_defines(name: str) -> None:
    value = getattr(tausestack, name)
    assert getattr(importlib.import_module(value.__module__), name) is value
    assert name in dir(tausestack)


def test_the_version_is_the_installed_distributions() -> None:
    assert tausestack.__version__ == importlib.metadata.version("tausestack")


@pytest.mark.parametrize("name", tausestack.web.__all__)
def test_every_web_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from tausestack.web import {name}", namespace)
    assert namespace[name] is getattr(tausestack.web, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'tausestack' has no attribute 'Contoller'"):
        tausestack.Contoller  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'Contoller' from 'tausestack'"):
        exec("from tausestack import Contoller")


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from tausestack import *", namespace)
    assert set(tausestack.__all__) <= set(namespace)

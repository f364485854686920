"""The public API: complete, sorted ``__all__`` lists, and no heavy imports for a small app."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import tausestack
import tausestack.di
import tausestack.errors
import tausestack.sdk.auth
import tausestack.sdk.database
import tausestack.sdk.notify
import tausestack.sdk.secrets
import tausestack.sdk.storage
import tausestack.sdk.tasks
import tausestack.testing
import tausestack.web

HEAVY_MODULES = (
    "pandas",
    "pyarrow",
    "boto3",
    "botocore",
    "firebase_admin",
    "strawberry",
    "redis",
    "sqlalchemy",
    "sqlmodel",
)


@pytest.mark.parametrize(
    "module",
    [
        tausestack,
        tausestack.di,
        tausestack.web,
        tausestack.errors,
        tausestack.testing,
        tausestack.sdk.auth,
        tausestack.sdk.database,
        tausestack.sdk.notify,
        tausestack.sdk.secrets,
        tausestack.sdk.storage,
        tausestack.sdk.tasks,
    ],
)
def test_all_is_sorted_and_complete(module: ModuleType) -> None:
    exported = list(module.__all__)
    assert exported == sorted(exported)
    assert all(hasattr(module, name) for name in exported)
    defined_here = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and str(getattr(value, "__module__", "")).startswith(module.__name__)
    }
    assert defined_here <= set(exported), defined_here - set(exported)


def test_version_is_exposed() -> None:
    assert isinstance(tausestack.__version__, str)
    assert tausestack.__version__


def test_small_app_imports_no_heavy_dependency(tmp_path: Path) -> None:
    # Importable stand-ins, so even a guarded `try: import boto3` would show in sys.modules.
    stubs = tmp_path / "stubs"
    for name in HEAVY_MODULES:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text("", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, sys
        import tausestack
        from tausestack import Controller, Inject, Service, Settings, create_app, get
        from tausestack.testing import TestClient

        @Service
        class Greeter:
            def greet(self) -> str:
                return "hi"

        @Service(scope="request")
        class Context:
            pass

        @Controller("/hello")
        class HelloController:
            def __init__(self, greeter: Greeter) -> None:
                self.greeter = greeter

            @get("/")
            async def hello(self, context: Inject[Context]) -> dict:
                return {{"message": self.greeter.greet()}}

        app = create_app(Settings(config_dir={str(tmp_path)!r}), components=[Greeter, Context,
                         HelloController])
        with TestClient(app) as client:
            assert client.get("/hello/").json() == {{"message": "hi"}}
        import importlib.util
        assert importlib.util.find_spec("boto3") is not None  # the stand-ins are reachable
        print(json.dumps([name for name in {HEAVY_MODULES!r} if name in sys.modules]))
        """
    )
    environment = {**os.environ, "PYTHONPATH": str(stubs)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []

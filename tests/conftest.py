"""Fixtures shared by the whole suite: a scratch project folder and a clean environment."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

from tausestack import Settings, TauseStackApp, create_app

pytest_plugins = ["pytester"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TAUSESTACK_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("TAUSESTACK_"):
            monkeypatch.delenv(name)


class Project:
    """A throwaway project folder on sys.path and as the working directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str = "") -> Path:
        """Write a file (dedented), creating packages (with __init__.py) along the way."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            folder = path.parent
            while folder != self.root:
                (folder / "__init__.py").touch(exist_ok=True)
                folder = folder.parent
        path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
        importlib.invalidate_caches()
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A scratch project: files written here import as top-level modules during the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield Project(tmp_path)
    for name, module in list(sys.modules.items()):
        location = f"{getattr(module, '__file__', '')} {getattr(module, '__path__', '')}"
        if str(tmp_path) in location:
            del sys.modules[name]


AppFactory = Callable[..., TauseStackApp]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build an app from components, reading settings from an empty scratch folder."""

    def factory(
        *components: Any,
        overrides: dict[Any, Any] | None = None,
        routers: Sequence[APIRouter] = (),
        **setting_values: Any,
    ) -> TauseStackApp:
        settings = Settings(config_dir=tmp_path, **setting_values)
        return create_app(settings, components=components, overrides=overrides, routers=routers)

    return factory

"""TauseStack: modular apps, dependency injection and a batteries-included SDK on FastAPI.

The public API is what this module exports; see ``docs/`` for guides::

    from tausestack import Controller, Service, create_app, get

    @Service
    class Greeter:
        def greet(self, name: str) -> str:
            return f"Hello, {name}!"

    @Controller("/hello")
    class HelloController:
        def __init__(self, greeter: Greeter) -> None:
            self.greeter = greeter

        @get("/{name}")
        async def hello(self, name: str) -> dict[str, str]:
            return {"message": self.greeter.greet(name)}

    app = create_app(components=[Greeter, HelloController])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from .app import TauseStackApp, create_app
from .di import (
    Container,
    Qualifier,
    Repository,
    RequestScope,
    Scope,
    Service,
    provider,
)
from .errors import TauseStackError
from .settings import Settings, SettingsSection
from .web import Controller, Inject, delete, get, head, options, patch, post, put, websocket

try:
    __version__ = _version("tausestack")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "Container",
    "Controller",
    "Inject",
    "Qualifier",
    "Repository",
    "RequestScope",
    "Scope",
    "Service",
    "Settings",
    "SettingsSection",
    "TauseStackApp",
    "TauseStackError",
    "__version__",
    "create_app",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "provider",
    "put",
    "websocket",
]

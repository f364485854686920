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

Each name, and the SDK (``tausestack.sdk.storage``), is imported on first use (PEP 562), so
``import tausestack`` (and the command line's ``--help``) does not pay for FastAPI until
something asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names as _lazy_names  # private: not a public name of the package

if TYPE_CHECKING:
    from . import sdk as sdk
    from .app import TauseStackApp, create_app
    from .di import Container, Qualifier, Repository, RequestScope, Scope, Service, provider
    from .errors import TauseStackError
    from .settings import Settings, SettingsSection
    from .web import Controller, Inject, delete, get, head, options, patch, post, put, websocket

    __version__: str

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

#: The module each public name comes from, relative to this package.
_MODULES = {
    ".app": ("TauseStackApp", "create_app"),
    ".di": ("Container", "Qualifier", "Repository", "RequestScope", "Scope", "Service", "provider"),
    ".errors": ("TauseStackError",),
    ".settings": ("Settings", "SettingsSection"),
    ".web": (
        "Controller",
        "Inject",
        "delete",
        "get",
        "head",
        "options",
        "patch",
        "post",
        "put",
        "websocket",
    ),
}


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tausestack")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0"


# Hidden from type checkers, which read the imports above (and would take a typo for Any).
if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_names(
        __name__, _MODULES, submodules=("sdk",), computed={"__version__": _installed_version}
    )

"""Auto-configuration: framework providers added only when an application needs them.

The database's providers join a container when a component, a route or a dependency asks for
one of its types (``Database``, a session, an engine, a repository's backend), or when a module
of an installed app uses ``tausestack.sdk.database`` (to call its functions without DI). An app
that needs none of it never imports SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from .di._providers import Provider

#: (module with a ``providers()`` function, modules whose types ask for it, package whose use
#: in an installed app's module asks for it)
AUTO_CONFIGURATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "tausestack.sdk.database._providers",
        ("tausestack.sdk.database", "sqlalchemy", "sqlmodel"),
        "tausestack.sdk.database",
    ),
)


def wanted_types(providers: Sequence[Provider], injected: Iterable[Any]) -> set[Any]:
    """Every type something asks for: constructor and provider parameters, and Inject[...]."""
    wanted = {dependency.key.type for provider in providers for dependency in provider.dependencies}
    wanted.update(injected)
    return wanted


def autoconfigure(
    providers: Sequence[Provider], wanted: set[Any], app_modules: Iterable[str]
) -> tuple[list[Provider], dict[type[Exception], Any]]:
    """The framework providers (and exception handlers) to add for what ``wanted`` asks and
    ``providers`` lacks.

    ``app_modules`` are the installed apps' modules; one that uses a framework package (binds
    it, or something from it, as a global) asks for that package's providers too.
    """
    provided = {key.type for provider in providers for key in provider.keys}
    modules = [sys.modules[name] for name in app_modules if name in sys.modules]
    added: list[Provider] = []
    handlers: dict[type[Exception], Any] = {}
    for module_name, type_modules, package in AUTO_CONFIGURATIONS:
        asked = any(
            str(getattr(kind, "__module__", "")).startswith(type_modules) and kind not in provided
            for kind in wanted
        )
        if not asked and not any(_uses(module, package) for module in modules):
            continue
        configuration = importlib.import_module(module_name)
        added += [
            provider
            for provider in configuration.providers(wanted)
            if not any(key.type in provided for key in provider.keys)
        ]
        handlers |= configuration.exception_handlers()
    return added, handlers


def _uses(module: Any, package: str) -> bool:
    """Whether a module's globals hold ``package`` (or a submodule) or anything defined in it."""
    for value in vars(module).values():
        name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", "")
        if isinstance(name, str) and (name == package or name.startswith(package + ".")):
            return True
    return False

"""Auto-configuration: framework providers added only when an application needs them.

An SDK module's providers join a container when a component, a route or a dependency asks for
one of its types (``Database``, a session, ``Storage``, ``Cache``…), or when a module of an
installed app uses the SDK module (to call its functions without DI). An app that needs none of
it never imports SQLAlchemy, boto3 or redis.

A configuration module may also offer **checks**: ``async def checks(app, *, startup)``
returning a list of problems, each one message saying what is wrong and how to fix it (the
database's: revisions not applied, tables the models need missing). ``tausestack check`` runs
them and fails on any problem; an application runs them as it starts — after the ``lifespan``
given to ``create_app()`` has started, just before serving — and logs each problem as a warning
on the ``tausestack.checks`` logger, so it starts anyway. ``startup`` tells which: a
check may skip there what its settings turn off (``database.check_on_startup``). Checks run only
for the modules an application uses, so an app without a database never connects to one.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from .di._providers import Provider
from .errors import TauseStackError

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from .app import TauseStackApp
    from .settings import Settings

#: (module with a ``providers()`` function, modules whose types ask for it, package whose use
#: in an installed app's module asks for it)
AUTO_CONFIGURATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "tausestack.sdk.database._providers",
        ("tausestack.sdk.database", "sqlalchemy", "sqlmodel"),
        "tausestack.sdk.database",
    ),
    ("tausestack.sdk.storage._providers", ("tausestack.sdk.storage",), "tausestack.sdk.storage"),
    ("tausestack.sdk.cache._providers", ("tausestack.sdk.cache",), "tausestack.sdk.cache"),
    ("tausestack.sdk.secrets._providers", ("tausestack.sdk.secrets",), "tausestack.sdk.secrets"),
    ("tausestack.sdk.notify._providers", ("tausestack.sdk.notify",), "tausestack.sdk.notify"),
    ("tausestack.sdk.auth._providers", ("tausestack.sdk.auth",), "tausestack.sdk.auth"),
    ("tausestack.sdk.tasks._providers", ("tausestack.sdk.tasks",), "tausestack.sdk.tasks"),
)

#: Packages an application gets as soon as their settings choose a backend, even when nothing
#: asks for their types: routes guarded with ``auth_required=`` or ``CurrentUser`` need the
#: auth backend, started and stopped with the app, without naming it.
CONFIGURED_BY_SETTINGS: dict[str, Callable[[Settings], bool]] = {
    "tausestack.sdk.auth": lambda settings: settings.auth.backend is not None,
}


class Check(Protocol):
    """A check of an application, offered by a configuration module as ``checks``.

    Args:
        app: the application, built (its container, settings and discovery are there).
        startup: true when the application is starting, false when ``tausestack check`` runs.

    Returns:
        The problems found, each one message with the fix; empty when all is well.
    """

    def __call__(self, app: TauseStackApp, *, startup: bool) -> Awaitable[list[str]]: ...


async def run_checks(app: TauseStackApp, *, startup: bool) -> list[str]:
    """Run the checks of ``app`` (``app.checks``) in order and gather their problems.

    A check that fails with an error reports it as its problem instead of stopping the others
    (or the application's start).
    """
    problems: list[str] = []
    for check in getattr(app, "checks", ()):
        try:
            problems += await check(app, startup=startup)
        except TauseStackError as exc:
            problems.append(str(exc))
        except Exception as exc:
            name = f"{getattr(check, '__module__', '?')}.{getattr(check, '__qualname__', check)}"
            problems.append(f"The check {name} failed: {type(exc).__name__}: {exc}")
    return problems


def wanted_types(providers: Sequence[Provider], injected: Iterable[Any]) -> set[Any]:
    """Every type something asks for: constructor and provider parameters, and Inject[...]."""
    wanted = {dependency.key.type for provider in providers for dependency in provider.dependencies}
    wanted.update(injected)
    return wanted


@dataclass
class AutoConfiguration:
    """What the framework adds to an application for the SDK modules it uses."""

    providers: list[Provider] = field(default_factory=list)
    exception_handlers: dict[type[Exception], Any] = field(default_factory=dict)
    #: Routes a module serves itself (local storage's signed URLs).
    routers: list[APIRouter] = field(default_factory=list)
    #: Checks of the modules in use, run by ``tausestack check`` and at startup.
    checks: list[Check] = field(default_factory=list)
    #: Pure ASGI middleware (classes taking the app) that wrap the whole application, the
    #: first outermost: they see each request before anything else does.
    middleware: list[Callable[[ASGIApp], ASGIApp]] = field(default_factory=list)


def autoconfigure(
    providers: Sequence[Provider],
    wanted: set[Any],
    app_modules: Iterable[str],
    settings: Settings,
) -> AutoConfiguration:
    """The framework providers, exception handlers and routes to add for what ``wanted`` asks
    and ``providers`` lacks.

    ``app_modules`` are the installed apps' modules; one that uses a framework package (binds
    it, or something from it, as a global) asks for that package's providers too. A
    configuration module has ``providers(wanted)`` and ``exception_handlers()``, and may have
    ``routers(settings)``, ``requires(settings)`` (the packages it needs too: the ``jwt``
    auth backend needs the database), ``checks(app, *, startup)`` (see :class:`Check`) and
    ``middleware(settings)`` (see :attr:`AutoConfiguration.middleware`).
    """
    provided = {key.type for provider in providers for key in provider.keys}
    modules = [sys.modules[name] for name in app_modules if name in sys.modules]
    needed: set[str] = set()
    for module_name, type_modules, package in AUTO_CONFIGURATIONS:
        asked = any(
            str(getattr(kind, "__module__", "")).startswith(type_modules) and kind not in provided
            for kind in wanted
        )
        configured = CONFIGURED_BY_SETTINGS.get(package)
        if (
            asked
            or (configured is not None and configured(settings))
            or any(_uses(module, package) for module in modules)
        ):
            needed.add(package)
            requires = getattr(importlib.import_module(module_name), "requires", None)
            needed.update(requires(settings) if requires is not None else ())
    result = AutoConfiguration()
    for module_name, _, package in AUTO_CONFIGURATIONS:
        if package not in needed:
            continue
        configuration = importlib.import_module(module_name)
        result.providers += [
            provider
            for provider in configuration.providers(wanted)
            if not any(key.type in provided for key in provider.keys)
        ]
        result.exception_handlers |= configuration.exception_handlers()
        if hasattr(configuration, "routers"):
            result.routers += configuration.routers(settings)
        if hasattr(configuration, "checks"):
            result.checks.append(configuration.checks)
        if hasattr(configuration, "middleware"):
            result.middleware += configuration.middleware(settings)
    return result


def _uses(module: Any, package: str) -> bool:
    """Whether a module's globals hold ``package`` (or a submodule) or anything defined in it."""
    for value in vars(module).values():
        name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", "")
        if isinstance(name, str) and (name == package or name.startswith(package + ".")):
            return True
    return False

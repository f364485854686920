"""Discovery: import each installed app's conventional modules and collect what they declare.

For every entry of ``installed_apps`` (a dotted module path such as ``apps.users``), discovery
imports the app itself and each of its conventional modules that exists (``discovery.modules``
in the settings: ``settings``, ``models``, ``repositories``, ``services``, ``providers``,
``controllers``, ``routes``, ``tasks`` by default) and collects, in installed-apps order then
definition order:

* classes and functions marked with ``@Service``, ``@Repository``, ``@Controller`` or
  ``@provider`` that the module defines (not ones it imports),
* ``SettingsSection`` subclasses the module defines,
* ``fastapi.APIRouter`` objects found in a ``routes`` module,
* ``@task`` functions (``tausestack.sdk.tasks``) the module defines.

Nothing is registered anywhere: the result is plain data that ``create_app()`` turns into a
container and routes.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from fastapi import APIRouter

from ._naming import did_you_mean
from .di._markers import component_spec
from .errors import AppImportError, AppNotFoundError, DiscoveryError
from .sdk.tasks._task import Task
from .settings import DEFAULT_DISCOVERY_MODULES, SettingsSection

__all__ = ["DiscoveredApp", "Discovery", "discover"]

ROUTES_MODULE = "routes"


@dataclass
class DiscoveredApp:
    """What one installed app declares."""

    name: str
    modules: list[str] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    sections: list[type[SettingsSection]] = field(default_factory=list)
    tasks: list[Task[..., Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The last part of the app's module path (``users`` for ``apps.users``)."""
        return self.name.rpartition(".")[2]


@dataclass
class Discovery:
    """The result of discovering every installed app, in installed-apps order."""

    apps: list[DiscoveredApp] = field(default_factory=list)

    @property
    def components(self) -> list[Any]:
        """Every marked class and provider function."""
        return [component for app in self.apps for component in app.components]

    @property
    def routers(self) -> list[APIRouter]:
        """Every plain ``APIRouter`` found in a ``routes`` module."""
        return [router for app in self.apps for router in app.routers]

    @property
    def sections(self) -> list[type[SettingsSection]]:
        """Every settings section class."""
        return [section for app in self.apps for section in app.sections]

    @property
    def tasks(self) -> list[Task[..., Any]]:
        """Every ``@task`` function."""
        return [task for app in self.apps for task in app.tasks]


def discover(
    installed_apps: Sequence[str], modules: Sequence[str] = DEFAULT_DISCOVERY_MODULES
) -> Discovery:
    """Import every installed app and collect its components, routers and settings sections.

    Raises:
        AppNotFoundError: an entry names a module that cannot be found (with near names).
        AppImportError: one of an app's modules raised while importing (with its traceback).
        DiscoveryError: ``installed_apps`` itself is malformed (duplicates, not module paths).
    """
    _check_entries(installed_apps)
    discovery = Discovery()
    for name in installed_apps:
        app = DiscoveredApp(name)
        package = _import_app(name)
        seen: set[int] = set()
        for module, convention in _app_modules(package, modules):
            app.modules.append(module.__name__)
            _collect(app, module, seen, routes=convention == ROUTES_MODULE)
        app.routers = _outermost(app.routers)
        discovery.apps.append(app)
    return discovery


def _check_entries(installed_apps: Sequence[str]) -> None:
    if isinstance(installed_apps, str):
        raise DiscoveryError(
            f"installed_apps must be a list of module paths, not the string {installed_apps!r}. "
            f"Write installed_apps: [{installed_apps}]."
        )
    seen: set[str] = set()
    for entry in installed_apps:
        if not isinstance(entry, str) or not all(part.isidentifier() for part in entry.split(".")):
            hint = ""
            if isinstance(entry, str) and ("/" in entry or entry.endswith(".py")):
                dotted = entry.removesuffix(".py").strip("/").replace("/", ".")
                hint = f" Write it as a dotted module path: {dotted!r}."
            raise AppNotFoundError(
                f"installed_apps entry {entry!r} is not a Python module path such as "
                f"'apps.users'.{hint}"
            )
        if entry in seen:
            raise DiscoveryError(
                f"installed_apps lists {entry!r} twice; remove the duplicate entry."
            )
        seen.add(entry)


def _import_app(name: str) -> ModuleType:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not (name == missing or name.startswith(missing + ".")):
            # A parent package exists but imports something that does not.
            raise _import_error(name, name.rpartition(".")[0] or name, exc) from exc
        spec = None
    except Exception as exc:  # a parent package raised while being imported
        raise _import_error(name, name.rpartition(".")[0] or name, exc) from exc
    if spec is None:
        raise AppNotFoundError(_not_found_message(name))
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise _import_error(name, name, exc) from exc


def _app_modules(
    package: ModuleType, modules: Sequence[str]
) -> Iterator[tuple[ModuleType, str | None]]:
    """Yield the app's modules with the conventional name each was found under."""
    yield package, None
    if not hasattr(package, "__path__"):  # a single-module app
        return
    for module_name in modules:
        full_name = f"{package.__name__}.{module_name}"
        if importlib.util.find_spec(full_name) is None:
            continue
        for module in _import_tree(package.__name__, full_name):
            yield module, module_name


def _import_tree(app: str, name: str) -> Iterator[ModuleType]:
    """Import a module and, when it is a package, its submodules in name order."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise _import_error(app, name, exc) from exc
    yield module
    for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", [])), key=_by_name):
        yield from _import_tree(app, f"{name}.{info.name}")


def _by_name(info: pkgutil.ModuleInfo) -> str:
    return info.name


def _outermost(routers: list[APIRouter]) -> list[APIRouter]:
    """Drop routers that another collected router already includes (they come with it, under
    its prefix and dependencies; mounting them again would bypass those)."""
    nested: set[int] = set()
    for router in routers:
        nested.update(id(child) for child in _included(router))
    return [router for router in routers if id(router) not in nested]


def _included(router: APIRouter) -> Iterator[APIRouter]:
    for route in router.routes:
        child = getattr(route, "original_router", None)  # FastAPI's record of include_router
        if isinstance(child, APIRouter):
            yield child
            yield from _included(child)


def _collect(app: DiscoveredApp, module: ModuleType, seen: set[int], *, routes: bool) -> None:
    for value in vars(module).values():
        if id(value) in seen:
            continue
        defined_here = getattr(value, "__module__", None) == module.__name__
        if defined_here and component_spec(value) is not None:
            app.components.append(value)
        elif (
            defined_here
            and isinstance(value, type)
            and issubclass(value, SettingsSection)
            and value is not SettingsSection
        ):
            app.sections.append(value)
        elif routes and isinstance(value, APIRouter):
            app.routers.append(value)
        elif defined_here and isinstance(value, Task):
            app.tasks.append(value)
        else:
            continue
        seen.add(id(value))


def _import_error(app: str, module: str, exc: BaseException) -> AppImportError:
    details = "".join(traceback.format_exception(exc)).rstrip()
    return AppImportError(
        f"Installed app {app!r} could not be loaded: importing {module!r} raised "
        f"{type(exc).__name__}: {exc}\n\nOriginal traceback:\n{details}",
        app=app,
        module=module,
    )


def _not_found_message(name: str) -> str:
    parent, _, _ = name.rpartition(".")
    candidates: list[str] = []
    if parent:
        try:
            parent_module = importlib.import_module(parent)
        except Exception:
            parent_module = None
        if parent_module is not None and hasattr(parent_module, "__path__"):
            candidates = [
                f"{parent}.{info.name}" for info in pkgutil.iter_modules(parent_module.__path__)
            ]
        elif parent_module is None:
            top = parent.partition(".")[0]
            return (
                f"installed_apps lists {name!r}, but its package {top!r} cannot be imported."
                f"{did_you_mean(top, _top_level_names())} Run from the project folder "
                f"(now {os.getcwd()}) or put it on sys.path."
            )
    else:
        candidates = _top_level_names()
    return (
        f"installed_apps lists {name!r}, but no module of that name exists."
        f"{did_you_mean(name, candidates)} Check the spelling, or create the app "
        "package (a folder with an __init__.py)."
    )


def _top_level_names() -> list[str]:
    return [info.name for info in pkgutil.iter_modules()]

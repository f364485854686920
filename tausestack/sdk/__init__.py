"""The TauseStack SDK: databases, storage, cache, secrets, notifications and tasks.

Each module is imported on first use (``from tausestack import sdk; sdk.database``), so an app
pays only for what it uses. Every module has an abstract interface (``base.py``), backends
chosen by settings, injectable types for DI, and module-level functions for code without DI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import auth, cache, database, notify, secrets, storage, tasks
    from ._context import current_container, use

__all__ = [
    "auth",
    "cache",
    "current_container",
    "database",
    "notify",
    "secrets",
    "storage",
    "tasks",
    "use",
]

_MODULES = frozenset({"auth", "cache", "database", "notify", "secrets", "storage", "tasks"})


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("current_container", "use"):  # the container (Starlette): not for the settings
        return getattr(importlib.import_module(f"{__name__}._context"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

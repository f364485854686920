"""The TauseStack SDK: databases, storage, cache, secrets, notifications and tasks.

Each module is imported on first use (``from tausestack import sdk; sdk.database``), so an app
pays only for what it uses. Every module has an abstract interface (``base.py``), backends
chosen by settings, injectable types for DI, and module-level functions for code without DI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

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

# Hidden from type checkers, which read the imports above (and would take a typo for Any).
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(
        __name__,
        # the container (Starlette): not for the settings, which import sdk's subpackages
        {"._context": ("current_container", "use")},
        submodules=("auth", "cache", "database", "notify", "secrets", "storage", "tasks"),
    )

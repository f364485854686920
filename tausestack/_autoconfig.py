"""Auto-configuration: framework providers added only when an application needs them.

The database's providers join a container when a component, a route or a dependency asks for
one of its types (``Database``, a session, an engine, a repository's backend), or when the
project imported ``tausestack.sdk.database`` to use its functions. An app that needs none of
it never imports SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from .di._providers import Provider

#: (module with a ``providers()`` function, modules whose types ask for it, module whose import
#: asks for it)
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


def autoconfigure(providers: Sequence[Provider], wanted: set[Any]) -> list[Provider]:
    """The framework providers to add for what ``wanted`` asks and ``providers`` lacks."""
    provided = {key.type for provider in providers for key in provider.keys}
    added: list[Provider] = []
    for module_name, type_modules, imported in AUTO_CONFIGURATIONS:
        asked = any(
            str(getattr(kind, "__module__", "")).startswith(type_modules) and kind not in provided
            for kind in wanted
        )
        if not asked and imported not in sys.modules:
            continue
        module = importlib.import_module(module_name)
        added += [
            provider
            for provider in module.providers()
            if not any(key.type in provided for key in provider.keys)
        ]
    return added

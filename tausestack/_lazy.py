"""A package's public names imported on first use (PEP 562's module ``__getattr__``).

``tausestack``, ``tausestack.web`` and ``tausestack.testing`` export names whose modules import
FastAPI or SQLAlchemy; importing them eagerly would make ``import tausestack``, the command
line's ``--help`` and pytest's loading of the plugin pay for both. Each package hands this
module where its names live::

    if not TYPE_CHECKING:  # type checkers read the real imports above instead
        __getattr__, __dir__ = lazy_names(__name__, {".app": ("create_app",)}, submodules=("sdk",))

A name is imported on its first look-up and then stored in the package, so later look-ups are
ordinary attribute reads. A subpackage or module listed in ``submodules`` is imported on first
use too, so ``import tausestack`` then ``tausestack.sdk.storage`` works as it would with eager
imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    modules: Mapping[str, Iterable[str]],
    *,
    submodules: Iterable[str] = (),
    computed: Mapping[str, Callable[[], Any]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: The package's ``__name__``.
        modules: Each module (relative to the package, e.g. ``"._routes"``) and the names the
            package takes from it.
        submodules: Subpackages and modules reachable as attributes (``"sdk"``).
        computed: Names whose value a function gives (``__version__``).
    """
    locations = {name: module for module, names in modules.items() for name in names}
    computed = dict(computed or {})
    modules_by_name = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in locations:
            value = getattr(importlib.import_module(locations[name], package), name)
        elif name in computed:
            value = computed[name]()
        elif name in modules_by_name:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # the next look-up is an ordinary attribute
        return value

    def __dir__() -> list[str]:
        module = sys.modules[package]
        return sorted({*vars(module), *getattr(module, "__all__", ()), *modules_by_name})

    return __getattr__, __dir__

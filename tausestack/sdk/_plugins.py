"""Third-party backends named by dotted path in the settings (``package.module:ClassName``)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from .._redaction import mask_url_secrets
from ..settings import Settings


def load_backend(
    path: str,
    base: type[Any],
    settings: Settings,
    *,
    setting: str,
    built_in: Sequence[str],
    error: type[Exception],
) -> Any:
    """Import the class at ``path``, check it subclasses ``base``, and build it with the settings.

    Args:
        path: ``package.module:ClassName`` (or ``package.module.ClassName``).
        base: the abstract class it must implement (abstract classes are not ``type[T]`` to
            mypy, hence ``Any``; callers annotate what they get).
        settings: passed to the class's constructor.
        setting: the key that named it, for messages (``storage.backend``).
        built_in: the names of the built-in backends, offered as the alternative.
        error: the configuration error class of the SDK module.
    """
    alternatives = " or ".join(repr(name) for name in built_in)
    module_name, _, attribute = path.replace(":", ".").rpartition(".")
    try:
        backend_class: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise error(
            mask_url_secrets(
                f"{setting} {path!r} cannot be imported ({exc}); write it as "
                f"package.module:ClassName, or use {alternatives}.{url_hint(path, setting)}"
            )
        ) from None
    if not (isinstance(backend_class, type) and issubclass(backend_class, base)):
        raise error(
            mask_url_secrets(
                f"{setting} {path!r} is not a subclass of {base.__name__}; point it at one "
                f"(package.module:ClassName), or use {alternatives}."
            )
        )
    return backend_class(settings)


def url_hint(path: str, setting: str) -> str:
    """A sentence for a URL written as a backend's name (``redis://…`` for ``redis``), else
    nothing. (The messages that quote ``path`` mask its password.)"""
    scheme, found, _ = path.partition("://")
    if not found:
        return ""
    name = scheme.partition("+")[0].lower() or "NAME"
    section = setting.rpartition(".")[0] or setting
    return (
        f" A URL is not a backend: set {setting} to the backend's name ({name!r}) and put "
        f"the URL in that backend's own settings (under {section}.{name})."
    )

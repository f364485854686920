"""Which application an SDK function called without DI works for.

In order: the app serving the current request; the container chosen with :func:`use`; the one
app whose lifespan is running in this process; otherwise an app built once from the settings
(for scripts and shells).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from ..di._container import Container, running_containers
from ..di._keys import DependencyKey
from ..di._scope import current_request
from ..errors import ResolutionError

T = TypeVar("T")

_chosen: ContextVar[Container | None] = ContextVar("tausestack_sdk_container", default=None)
_default: list[Container] = []


def current_container() -> Container:
    """The container SDK functions use now (see the module docstring)."""
    request = current_request.get()
    if request is not None:
        return request[0]
    chosen = _chosen.get()
    if chosen is not None:
        return chosen
    running = running_containers()
    if len(running) == 1:
        return running[0]
    if len(running) > 1:
        raise ResolutionError(
            f"{len(running)} applications are running in this process, so the SDK cannot tell "
            "which one to use; wrap the call in `with tausestack.sdk.use(app.container):`."
        )
    if not _default:
        from ..app import create_app

        _default.append(create_app().container)
    return _default[0]


@contextmanager
def use(container: Container) -> Iterator[Container]:
    """Make SDK functions in this block work for ``container``'s application."""
    token = _chosen.set(container)
    try:
        yield container
    finally:
        _chosen.reset(token)


_STANDALONE: weakref.WeakKeyDictionary[Container, dict[type, Any]] = weakref.WeakKeyDictionary()


def current_component(kind: type[T], build: Callable[[Container], T]) -> T:
    """The current application's ``kind`` (``Storage``, ``Secrets``…).

    Its own provider's when the app has one; otherwise one made by ``build(container)`` on
    first use and kept for the application's lifetime (an app where nothing asked for it, such
    as a script's default app).
    """
    return component_of(current_container(), kind, build)


def component_of(container: Container, kind: Any, build: Callable[[Container], T]) -> T:
    """:func:`current_component` for a given application's container (``kind`` may be an
    abstract class, which mypy does not take as ``type[T]``)."""
    if container.graph.lookup(DependencyKey(kind)) is not None:
        chosen: T = container.get(kind)
        return chosen
    built = _STANDALONE.setdefault(container, {})
    if kind not in built:
        built[kind] = build(container)
    made: T = built[kind]
    return made

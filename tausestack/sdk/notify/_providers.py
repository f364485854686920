"""Notify's providers, added to an app's container when something in it sends email.

``create_app()`` adds them when a component or route asks for ``Notifier`` or a notify backend,
or when a module of an installed app uses ``tausestack.sdk.notify``. ``Notifier`` is a
singleton built with the container, so a misconfigured backend (no SMTP host, an unknown name,
an invalid ``notify.sender``) stops ``create_app()``; its start hook prepares the backend and,
with ``notify.check_on_startup``, reaches the server.
"""

from __future__ import annotations

from typing import Any

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ._notifier import Notifier
from .base import AbstractNotifyBackend

APP = "tausestack.sdk.notify"


def notify_backend(notifier: Notifier) -> AbstractNotifyBackend:
    """The backend the settings chose."""
    return notifier.backend


def providers(wanted: set[Any]) -> list[Provider]:
    """Notify's providers for one container."""
    return [
        class_provider(Notifier, ComponentSpec(kind="component"), app=APP),
        function_provider(notify_backend, ComponentSpec(kind="provider"), app=APP),
    ]


def exception_handlers() -> dict[type[Exception], Any]:
    """Notify adds no exception handlers: a message that cannot be sent is the server's error."""
    return {}

"""Errors of ``tausestack.sdk.notify``: they name the address, template or server at fault,
never a password or a key."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "DeliveryError",
    "EmailTemplateError",
    "InvalidMessageError",
    "NotifyConfigurationError",
    "NotifyError",
    "TemplateNotFoundError",
    "TemplateRenderError",
]


class NotifyError(TauseStackError):
    """Base class of the notify errors."""


class NotifyConfigurationError(NotifyError):
    """The ``notify:`` settings cannot work (unknown backend, no SMTP host, no sender…)."""


class InvalidMessageError(NotifyError, ValueError):
    """The message cannot be sent as asked (a bad address, no body, a line break in a header,
    too large); nothing was sent."""


class EmailTemplateError(NotifyError):
    """Base class of the template errors; nothing was sent."""


class TemplateNotFoundError(EmailTemplateError, LookupError):
    """No ``<name>.html`` nor ``<name>.txt`` in any email template folder."""


class TemplateRenderError(EmailTemplateError):
    """A template uses a variable the context lacks, has a syntax error, or raised."""


class DeliveryError(NotifyError):
    """The backend could not deliver the message: the message names the server and gives its
    reason (connection refused, login refused, sender not verified…)."""

"""Email through the console, ``.eml`` files, any SMTP server or Amazon SES, with templates.

With DI, inject :class:`Notifier`; without it, use this module's functions, which work for the
current application::

    from tausestack.sdk import notify

    notify.email("ada@example.com", "Welcome", text="Hello Ada")
    result = await notify.aemail(
        ["ada@example.com", "Grace <grace@example.com>"],
        template="welcome",                  # welcome.html / .txt / .subject.txt
        context={"user": user},
        attachments=[Path("terms.pdf"), ("data.csv", csv_bytes, "text/csv")],
        bcc="audit@example.com",
    )
    result.message_id

Every failure raises a :class:`NotifyError` subclass naming what to fix; nothing is ever
dropped silently or sent through another backend. See ``docs/notify.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..._lazy import lazy_names
from ...settings import Settings
from .._context import current_component
from ..settings import NotifySettings
from ._addresses import AddressLike, Recipients
from ._message import Attachment, AttachmentLike
from ._notifier import Notifier
from ._templates import RenderedEmail
from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail
from .console import ConsoleEmailBackend
from .errors import (
    DeliveryError,
    EmailTemplateError,
    InvalidMessageError,
    NotifyConfigurationError,
    NotifyError,
    TemplateNotFoundError,
    TemplateRenderError,
)
from .file import FileEmailBackend
from .smtp import SmtpEmailBackend

__all__ = [
    "AbstractNotifyBackend",
    "AddressLike",
    "Attachment",
    "AttachmentLike",
    "ConsoleEmailBackend",
    "DeliveryError",
    "EmailResult",
    "EmailTemplateError",
    "FileEmailBackend",
    "InvalidMessageError",
    "Notifier",
    "NotifyConfigurationError",
    "NotifyError",
    "NotifySettings",
    "OutgoingEmail",
    "Recipients",
    "RenderedEmail",
    "SmtpEmailBackend",
    "TemplateNotFoundError",
    "TemplateRenderError",
    "aemail",
    "current",
    "email",
    "render",
]


def current() -> Notifier:
    """The current application's :class:`Notifier` (built from its settings if nothing in the
    app asked for one)."""
    return current_component(Notifier, lambda container: Notifier(container.get(Settings)))


def email(
    to: Recipients,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    *,
    template: str | None = None,
    context: Mapping[str, Any] | None = None,
    attachments: AttachmentLike | Iterable[AttachmentLike] | None = None,
    cc: Recipients | None = None,
    bcc: Recipients | None = None,
    reply_to: Recipients | None = None,
    sender: AddressLike | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailResult:
    """Send one email through the current application's backend (see :meth:`Notifier.email`)."""
    return current().email(
        to, subject, text, html, template=template, context=context, attachments=attachments,
        cc=cc, bcc=bcc, reply_to=reply_to, sender=sender, headers=headers,
    )  # fmt: skip


async def aemail(
    to: Recipients,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    *,
    template: str | None = None,
    context: Mapping[str, Any] | None = None,
    attachments: AttachmentLike | Iterable[AttachmentLike] | None = None,
    cc: Recipients | None = None,
    bcc: Recipients | None = None,
    reply_to: Recipients | None = None,
    sender: AddressLike | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailResult:
    """Async :func:`email`."""
    return await current().aemail(
        to, subject, text, html, template=template, context=context, attachments=attachments,
        cc=cc, bcc=bcc, reply_to=reply_to, sender=sender, headers=headers,
    )  # fmt: skip


def render(template: str, context: Mapping[str, Any] | None = None) -> RenderedEmail:
    """The subject, text and HTML ``template`` gives for ``context``, without sending."""
    return current().render(template, context)


# ``SesEmailBackend`` (tausestack.sdk.notify.ses) imports boto3, so it is loaded on first
# use and left out of __all__: ``from tausestack.sdk.notify import *`` works without boto3.
if TYPE_CHECKING:
    from .ses import SesEmailBackend as SesEmailBackend
else:
    __getattr__, __dir__ = lazy_names(__name__, {".ses": ("SesEmailBackend",)})

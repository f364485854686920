"""``Notifier``: the facade an application injects, over the backend the settings chose."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import anyio.to_thread

from ..._naming import did_you_mean
from ...settings import Settings
from .._plugins import load_backend
from ..settings import NotifySettings
from ._addresses import AddressLike, Recipients, parse_address, parse_addresses
from ._message import AttachmentLike, compose, load_attachments
from ._templates import EmailTemplates, RenderedEmail, template_folders
from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail
from .errors import InvalidMessageError, NotifyConfigurationError

BUILT_IN_BACKENDS = ("console", "file", "smtp", "ses")

logger = logging.getLogger("tausestack.notify")


class Notifier:
    """Sends email through the configured backend.

    Inject it (``notifier: Notifier``) or use the module functions (``notify.email(...)``).

    Example::

        notifier.email("ada@example.com", "Welcome", text="Hello Ada")
        await notifier.aemail(user.email, template="welcome", context={"user": user},
                              attachments=[Path("terms.pdf")])
    """

    def __init__(self, settings: Settings) -> None:
        self._set_up(
            settings.notify, build_backend(settings), EmailTemplates(template_folders(settings))
        )

    @classmethod
    def over(
        cls,
        backend: AbstractNotifyBackend,
        settings: NotifySettings | None = None,
        *,
        template_dirs: Iterable[Path] = (),
    ) -> Notifier:
        """A Notifier over a backend you built yourself (tests, scripts)."""
        notifier = cls.__new__(cls)
        options = settings if settings is not None else NotifySettings()
        notifier._set_up(options, backend, EmailTemplates(list(template_dirs)))
        return notifier

    def _set_up(
        self, settings: NotifySettings, backend: AbstractNotifyBackend, templates: EmailTemplates
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.templates = templates
        self.sender: Address | None = None
        if settings.sender is not None:
            try:
                self.sender = parse_address(settings.sender, "notify.sender")
            except InvalidMessageError as exc:
                raise NotifyConfigurationError(f"{exc} Fix the setting notify.sender.") from None

    async def start(self) -> None:
        """Prepare the backend at startup, and reach it when ``notify.check_on_startup``."""
        await self.backend.start()
        if self.settings.check_on_startup:
            await self.backend.check(self.sender.addr_spec if self.sender else None)

    async def stop(self) -> None:
        """Release the backend's connections at shutdown."""
        await self.backend.stop()

    def email(
        self,
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
        """Send one email and return its :class:`EmailResult`.

        Args:
            to: one address or a list (``"Ada <ada@example.com>"``, ``"ada@example.com"``).
            subject: the subject; with ``template``, defaults to ``<template>.subject.txt``.
            text: the plain-text body.
            html: the HTML body; without ``text``, a plain-text part is derived from it.
            template: render ``<template>.html``/``.txt``/``.subject.txt`` from the email
                template folders instead of passing ``text``/``html``.
            context: the template's variables.
            attachments: ``Attachment`` objects, paths, or ``(filename, bytes[, type])``.
            cc, bcc, reply_to: one address or a list each; Bcc is never written in a header.
            sender: the From address; default ``notify.sender``.
            headers: extra headers (``{"List-Unsubscribe": "<https://…>"}``).

        Raises:
            InvalidMessageError: a bad address, header, attachment or body; nothing was sent.
            EmailTemplateError: the template is missing, or uses a variable ``context`` lacks.
            DeliveryError: the backend could not deliver it (the reason is in the message).
        """
        outgoing = self.prepare(
            to, subject, text, html, template=template, context=context,
            attachments=attachments, cc=cc, bcc=bcc, reply_to=reply_to, sender=sender,
            headers=headers,
        )  # fmt: skip
        return self._sent(self.backend.send(outgoing))

    async def aemail(
        self,
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
        """Async :meth:`email`: templates and attached files are read, and the message sent,
        off the event loop."""

        def prepare() -> OutgoingEmail:
            return self.prepare(
                to, subject, text, html, template=template, context=context,
                attachments=attachments, cc=cc, bcc=bcc, reply_to=reply_to, sender=sender,
                headers=headers,
            )  # fmt: skip

        if template is not None or attachments is not None:  # files to read
            outgoing = await anyio.to_thread.run_sync(prepare)
        else:
            outgoing = prepare()
        return self._sent(await self.backend.asend(outgoing))

    def prepare(
        self,
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
    ) -> OutgoingEmail:
        """The checked message :meth:`email` would send, without sending it."""
        # Addresses first: a bad one fails before a template is rendered or a file read.
        from_address = self._sender(sender)
        to_addresses, cc_addresses = parse_addresses(to, "to"), parse_addresses(cc, "cc")
        bcc_addresses = parse_addresses(bcc, "bcc")
        reply_addresses = parse_addresses(reply_to, "reply_to")
        if template is not None:
            if text is not None or html is not None:
                raise InvalidMessageError(
                    "Pass either template= or text=/html=, not both: the template gives the bodies."
                )
            rendered = self.templates.render(template, context)
            subject = subject if subject is not None else rendered.subject
            text, html = rendered.text, rendered.html
            if subject is None:
                raise InvalidMessageError(
                    f"The email has no subject: pass subject=, or add {template}.subject.txt "
                    "next to the template."
                )
        elif context is not None:
            raise InvalidMessageError("context= is for templates; pass template= too.")
        if subject is None:
            raise InvalidMessageError("The email has no subject: pass subject=.")
        return compose(
            sender=from_address,
            to=to_addresses,
            cc=cc_addresses,
            bcc=bcc_addresses,
            reply_to=reply_addresses,
            subject=subject,
            text=text,
            html=html,
            attachments=load_attachments(attachments, self.settings.max_message_size),
            headers=headers,
            message_id_domain=self.settings.message_id_domain,
            max_size=self.settings.max_message_size,
        )

    def render(self, template: str, context: Mapping[str, Any] | None = None) -> RenderedEmail:
        """The subject, text and HTML that ``template`` gives for ``context`` (a preview)."""
        return self.templates.render(template, context)

    def _sender(self, sender: AddressLike | None) -> Address:
        if sender is not None:
            return parse_address(sender, "sender")
        if self.sender is None:
            raise NotifyConfigurationError(
                "The email has no sender: set notify.sender (for example 'Shop "
                "<noreply@shop.example>', or TAUSESTACK_NOTIFY__SENDER), or pass sender=."
            )
        return self.sender

    def _sent(self, result: EmailResult) -> EmailResult:
        logger.info(
            "Email %s sent through %s to %d recipient(s)",
            result.message_id,
            result.backend,
            len(result.recipients),
        )
        if result.refused:
            logger.warning(
                "Email %s: %s refused %d recipient(s)",
                result.message_id,
                result.backend,
                len(result.refused),
            )
        return result


def build_backend(settings: Settings) -> AbstractNotifyBackend:
    """The backend ``notify.backend`` names: ``console``, ``file``, ``smtp``, ``ses`` or a
    dotted path."""
    options = settings.notify
    name = options.backend
    if name == "console":
        from .console import ConsoleEmailBackend

        return ConsoleEmailBackend()
    if name == "file":
        from .file import FileEmailBackend

        path = options.file.path
        return FileEmailBackend(path if path.is_absolute() else settings.config_dir / path)
    if name == "smtp":
        from .smtp import SmtpEmailBackend

        return SmtpEmailBackend(options.smtp)
    if name == "ses":
        try:
            from .ses import SesEmailBackend
        except ImportError:
            raise NotifyConfigurationError(
                "notify.backend is 'ses', which needs boto3; install it with "
                "`pip install 'tausestack[aws]'`."
            ) from None
        return SesEmailBackend(options.ses)
    if "." not in name and ":" not in name:
        raise NotifyConfigurationError(
            f"Unknown notify.backend {name!r}: use 'console', 'file', 'smtp', 'ses', or the "
            "dotted path of an AbstractNotifyBackend subclass (package.module:ClassName)."
            f"{did_you_mean(name, BUILT_IN_BACKENDS)}"
        )
    backend: AbstractNotifyBackend = load_backend(
        name,
        AbstractNotifyBackend,
        settings,
        setting="notify.backend",
        built_in=BUILT_IN_BACKENDS,
        error=NotifyConfigurationError,
    )
    return backend

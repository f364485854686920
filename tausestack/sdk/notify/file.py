"""The ``file`` backend: each message written to a folder as one ``.eml`` file.

A file is the message exactly as an SMTP server would receive it, preceded by two headers that
record the envelope, as mail servers do on delivery: ``X-Envelope-From`` and ``X-Envelope-To``
(every recipient, Bcc included, which the message's own headers never name). Any mail client
opens the file. It is named after the Message-ID (``20260131120000.<hex>.eml``), so listing the
folder sorts messages by time. It is written to a temporary file (``.~tmp-<hex>.part``, which
no ``*.eml`` pattern matches) that is then renamed, so a reader never sees half a message and a
failed write leaves nothing behind. Files are readable by their owner only (mode 0600): a
message may hold a password-reset link or a private attachment.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail
from .errors import DeliveryError, NotifyConfigurationError

__all__ = ["FileEmailBackend"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
TEMPORARY_PREFIX = ".~tmp-"
TEMPORARY_SUFFIX = ".part"
#: Created exclusively (never through a link someone left there), for the owner only.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_MODE = 0o600


class FileEmailBackend(AbstractNotifyBackend):
    """Writes each message to ``folder`` (created when missing)."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f"the folder {self.folder}"

    async def start(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NotifyConfigurationError(
                f"Cannot create {self.describe()}: {exc.strerror or exc}. Fix notify.file.path "
                "or the folder's permissions."
            ) from None

    def path_for(self, email: OutgoingEmail) -> Path:
        """The file ``email`` is written to."""
        local_part = email.message_id.strip("<>").rpartition("@")[0] or email.message_id
        return self.folder / f"{_UNSAFE.sub('_', local_part)[:200]}.eml"

    def send(self, email: OutgoingEmail) -> EmailResult:
        envelope = (
            f"X-Envelope-From: <{email.sender}>\r\nX-Envelope-To: {', '.join(email.recipients)}\r\n"
        ).encode("ascii")
        target = self.path_for(email)
        temporary = self.folder / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}{TEMPORARY_SUFFIX}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(temporary, _CREATE, _MODE), "wb") as file:
                file.write(envelope + email.as_bytes())
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise DeliveryError(
                f"Cannot write {email.message_id} to {self.describe()}: "
                f"{exc.strerror or exc}. Nothing was written."
            ) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return email.sent(self.name)

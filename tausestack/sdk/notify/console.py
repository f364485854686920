"""The ``console`` backend (the default): each message printed to standard output, readable.

Standard output rather than a logger, so a developer sees the email whatever the logging
configuration, and a test captures it with ``capsys``. The rendering shows the headers
(decoded), the Bcc recipients (which no real backend puts in a header), the plain-text and HTML
parts, and each attachment's name, type and size, never its bytes. Messages from concurrent
sends are never interleaved.
"""

from __future__ import annotations

import sys
import threading
from email.message import EmailMessage
from typing import TextIO

from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail

__all__ = ["ConsoleEmailBackend", "render_for_console"]

RULE = "=" * 72
#: Headers that describe the MIME structure, not the message; left out of the rendering.
_STRUCTURE = frozenset({"mime-version", "content-type", "content-transfer-encoding"})


class ConsoleEmailBackend(AbstractNotifyBackend):
    """Prints messages to ``stream`` (standard output when None, looked up at each send)."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "the console (standard output)"

    def send(self, email: OutgoingEmail) -> EmailResult:
        rendering = render_for_console(email)
        with self._lock:
            stream = self.stream if self.stream is not None else sys.stdout
            stream.write(rendering)
            stream.flush()
        return email.sent(self.name)

    async def asend(self, email: OutgoingEmail) -> EmailResult:
        return self.send(email)  # a short write to a terminal or a pipe: no thread


def render_for_console(email: OutgoingEmail) -> str:
    """The readable rendering the console backend prints."""
    message = email.message
    lines = [RULE]
    for name, value in message.items():
        if name.lower() not in _STRUCTURE:
            lines.append(f"{name}: {value}")
    if email.bcc:
        lines.append(f"Bcc: {', '.join(email.bcc)}")
    attachments = [_describe_attachment(part) for part in message.iter_attachments()]
    if attachments:
        lines.append(f"Attachments: {'; '.join(attachments)}")
    for subtype in ("plain", "html"):
        body = message.get_body(preferencelist=(subtype,))
        if isinstance(body, EmailMessage):
            lines.append(f"{'-' * 8} text/{subtype} {'-' * (72 - 15 - len(subtype))}")
            lines.append(str(body.get_content()).rstrip("\n"))
    lines.append(RULE)
    return "\n".join(lines) + "\n"


def _describe_attachment(part: EmailMessage) -> str:
    content = part.get_payload(decode=True)
    size = len(content) if isinstance(content, bytes) else 0
    return f"{part.get_filename()} ({part.get_content_type()}, {size:,} bytes)"

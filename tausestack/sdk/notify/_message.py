"""Building the MIME message: headers checked, parts assembled, attachments read, size capped.

Everything that can be wrong with a message is found here, before a backend sees it, so an
invalid message never half-leaves: a bad address, a line break in a header, a missing body, an
unreadable attachment or an oversized message raise InvalidMessageError and nothing is sent.
"""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from ._html_text import html_to_text
from .base import OutgoingEmail
from .errors import InvalidMessageError

__all__ = ["Attachment", "AttachmentLike", "compose", "load_attachments"]

#: C0 and C1 controls but tab, and the Unicode line and paragraph separators: all are line
#: breaks to Python or forbidden in a header.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
#: RFC 5322's limit on a line, CRLF excluded; 78 is the length it recommends.
_MAX_LINE, _FOLD_AT = 998, 78
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")
#: Bodies encoded as quoted-printable or base64 when not ASCII: a message of 7-bit lines
#: passes every relay, with or without 8BITMIME.
_POLICY = default.clone(cte_type="7bit")
#: Headers TauseStack writes itself; pass them as arguments instead.
_RESERVED = frozenset(
    {
        "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
        "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Attachment:
    """A file attached to an email.

    ``content_type`` (``application/pdf``, ``text/csv; charset=utf-8``) is guessed from the
    file name when omitted, else ``application/octet-stream``.

    Example::

        Attachment("report.csv", csv_text.encode(), "text/csv; charset=utf-8")
        Attachment.from_path("invoices/7.pdf")
    """

    filename: str
    content: bytes
    content_type: str | None = None

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """An attachment holding the file at ``path`` (read now), named after it."""
        file = Path(path)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise InvalidMessageError(
                f"Cannot read attachment {str(file)!r}: {exc.strerror or exc}."
            ) from None
        return cls(filename or file.name, content, content_type)


#: What ``attachments=`` takes: Attachment objects, paths, or ``(filename, content)`` and
#: ``(filename, content, content_type)`` tuples (``str`` content is encoded as UTF-8).
AttachmentLike = Attachment | Path | tuple[str, bytes | str] | tuple[str, bytes | str, str]


def load_attachments(
    items: AttachmentLike | Iterable[AttachmentLike] | None, max_size: int
) -> list[Attachment]:
    """The attachments as :class:`Attachment` objects; paths are read only once the total
    size is known to fit in ``max_size`` bytes."""
    if items is None:
        return []
    given: object = items
    one = isinstance(given, Attachment | Path | str | bytes) or (
        isinstance(given, tuple) and bool(given) and isinstance(given[0], str)
    )  # one attachment, not in a list
    listed = [given] if one or not isinstance(given, Iterable) else list(given)
    pending: list[Attachment | Path] = []
    total = 0
    for item in listed:
        loaded = _attachment(item)
        if isinstance(loaded, Path):
            try:
                total += loaded.stat().st_size
            except OSError as exc:
                raise InvalidMessageError(
                    f"Cannot read attachment {str(loaded)!r}: {exc.strerror or exc}."
                ) from None
        else:
            total += len(loaded.content)
        pending.append(loaded)
        if total > max_size:
            raise InvalidMessageError(
                f"The attachments hold {_size(total)} or more, over notify.max_message_size "
                f"({_size(max_size)}). Send a link to large files instead (storage.binary.url)."
            )
    return [Attachment.from_path(item) if isinstance(item, Path) else item for item in pending]


def _attachment(item: object) -> Attachment | Path:
    if isinstance(item, Attachment | Path):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3) and isinstance(item[0], str):
        content = item[1]
        if isinstance(content, str):
            content = content.encode("utf-8")
        if isinstance(content, bytes | bytearray | memoryview):
            content_type = item[2] if len(item) == 3 else None
            if content_type is None or isinstance(content_type, str):
                return Attachment(item[0], bytes(content), content_type)
    raise InvalidMessageError(
        f"Invalid attachment {_short(item)}: pass an Attachment, a pathlib.Path, or a "
        "(filename, bytes) or (filename, bytes, content_type) tuple."
    )


def compose(
    *,
    sender: Address,
    to: list[Address],
    cc: list[Address],
    bcc: list[Address],
    reply_to: list[Address],
    subject: str,
    text: str | None,
    html: str | None,
    attachments: list[Attachment],
    headers: Mapping[str, str] | None,
    message_id_domain: str | None,
    max_size: int,
) -> OutgoingEmail:
    """The checked message, ready for a backend."""
    if not (to or cc or bcc):
        raise InvalidMessageError("The email has no recipient: pass to= (or cc=, bcc=).")
    if text is None and html is None:
        raise InvalidMessageError("The email has no body: pass text=, html= or template=.")
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = _header_text("subject", subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = _message_id(message_id_domain or sender.domain)
    for name, value in _extra_headers(headers):
        if value.isascii():  # verbatim: an encoded word would break a URI (List-Unsubscribe)
            message.set_raw(name, _folded(name, value))
        else:
            message[name] = value
    _add_body(message, text, html)
    for attachment in attachments:
        _attach(message, attachment)
    outgoing = OutgoingEmail(
        message=message,
        sender=sender.addr_spec,
        to=tuple(address.addr_spec for address in to),
        cc=tuple(address.addr_spec for address in cc),
        bcc=tuple(address.addr_spec for address in bcc),
    )
    size = len(outgoing.as_bytes())
    if size > max_size:
        raise InvalidMessageError(
            f"The email is {_size(size)} once encoded, over notify.max_message_size "
            f"({_size(max_size)}). Send a link to large files instead (storage.binary.url)."
        )
    return outgoing


def _add_body(message: EmailMessage, text: str | None, html: str | None) -> None:
    for name, value in (("text", text), ("html", html)):
        if value is not None and not isinstance(value, str):
            raise InvalidMessageError(f"{name}= must be a str, not {type(value).__name__}.")
    if text is None:
        assert html is not None
        text = html_to_text(html)  # every HTML email also carries readable plain text
    message.set_content(_lines(text))
    if html is not None:
        message.add_alternative(_lines(html), subtype="html")


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    filename = attachment.filename
    if not isinstance(filename, str) or not filename.strip() or _CONTROL.search(filename):
        raise InvalidMessageError(
            f"Invalid attachment file name {filename!r}: it must be non-empty, without line "
            "breaks or control characters."
        )
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1]  # a name, never a path
    if filename.strip() in ("", ".", ".."):
        raise InvalidMessageError(
            f"Invalid attachment file name {attachment.filename!r}: it names a folder, not a "
            "file; pass a name such as 'report.pdf'."
        )
    if not isinstance(attachment.content, bytes):
        raise InvalidMessageError(
            f"Attachment {filename!r} holds {type(attachment.content).__name__}; pass bytes."
        )
    content_type = attachment.content_type or mimetypes.guess_type(filename)[0]
    kind, params = _content_type(content_type or "application/octet-stream", filename)
    maintype, _, subtype = kind.partition("/")
    message.add_attachment(
        attachment.content, maintype=maintype, subtype=subtype, filename=filename, params=params
    )


def _content_type(value: str, filename: str) -> tuple[str, dict[str, str]]:
    kind, *rest = (part.strip() for part in value.split(";"))
    params: dict[str, str] = {}
    for part in rest:
        key, equals, param = part.partition("=")
        if equals and key.strip():
            params[key.strip().lower()] = param.strip().strip('"')
    if not _CONTENT_TYPE.match(kind) or _CONTROL.search(value):
        raise InvalidMessageError(
            f"Invalid content type {value!r} for attachment {filename!r}: write it as "
            "type/subtype, such as 'application/pdf'."
        )
    return kind.lower(), params


def _extra_headers(headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
    checked = []
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidMessageError(f"Invalid header name {name!r}: printable ASCII, no ':'.")
        if name.lower() in _RESERVED:
            raise InvalidMessageError(
                f"Header {name!r} is written by TauseStack; pass it as an argument of email() "
                "(to=, cc=, reply_to=, sender=, subject=…)."
            )
        checked.append((name, _header_text(f"header {name!r}", value)))
    return checked


def _folded(name: str, value: str) -> str:
    """An ASCII header value folded before whitespace where a line would pass 78 characters;
    a word longer than that stays whole, within RFC 5322's 998."""
    lines = [""]
    width = len(name) + 2  # "Name: "
    for piece in re.split(r"(?=[ \t])", value):  # each piece but the first starts with a blank
        if width + len(piece) > _FOLD_AT and lines[-1].strip() and piece.strip():
            lines.append(piece)
            width = len(piece)
        else:
            lines[-1] += piece
            width += len(piece)
        if width > _MAX_LINE:
            raise InvalidMessageError(
                f"Header {name!r} holds a line over {_MAX_LINE} characters, which servers "
                "refuse; put spaces between its items (a space after each comma)."
            )
    return "\n".join(lines)


def _header_text(what: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidMessageError(f"The {what} must be a str, not {type(value).__name__}.")
    if _CONTROL.search(value):
        raise InvalidMessageError(
            f"The {what} {value[:80]!r} holds a line break or another control character, "
            "which could add headers to the message; remove it."
        )
    return value


def _message_id(domain: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{secrets.token_hex(12)}@{domain}>"


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."

"""Where each notify backend delivers, read back the way a user would check it.

- ``console``: what the backend printed to standard output (captured by ``capsys``), parsed
  back from its readable rendering (attachments show a size, never bytes);
- ``file``: the ``.eml`` files in the folder, parsed with the ``email`` package;
- ``smtp``: the messages a real aiosmtpd server accepted, with their envelope;
- ``ses``: the raw messages moto's SES server kept (``GET /moto-api/data.json``).

Each inbox builds a :class:`Notifier` from ``Settings`` (so the backend comes from the settings
as in an app) and returns a :class:`Delivered` for a send's result. Headers are compared twice:
decoded, as a mail client shows them, and as the bytes that travelled (``raw_header``), where an
encoding that a client would undo but a URI does not survive is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest

from tausestack import Settings
from tausestack.sdk.notify import EmailResult, Notifier
from tausestack.sdk.notify.console import RULE
from tests.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, MotoServer, SmtpServer

SENDER = "Tienda Ñandú <noreply@shop.test>"
OTHER_SENDER = "billing@shop.test"

BACKENDS = [
    pytest.param("console", id="console"),
    pytest.param("file", id="file"),
    pytest.param("smtp", id="smtp-aiosmtpd", marks=pytest.mark.smtp),
    pytest.param("ses", id="ses-moto", marks=pytest.mark.s3),
]


@dataclass
class Part:
    """An attachment as delivered (``content`` is None on the console, which shows sizes)."""

    filename: str
    content_type: str
    size: int
    content: bytes | None


@dataclass
class Delivered:
    """One delivered message: decoded headers, where it went, its parts, its bytes (None on
    the console, which prints a rendering)."""

    headers: dict[str, str]
    envelope: set[str]
    text: str | None
    html: str | None
    attachments: list[Part] = field(default_factory=list)
    raw: bytes | None = None
    #: For Destination-level checks: every address moto's SES recorded, in order.
    destinations: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def raw_header(self, name: str) -> str | None:
        """Header ``name`` as it travelled, unfolded but never decoded (the first one)."""
        assert self.raw is not None, "the console has no bytes"
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        pattern = rf"^{re.escape(name)}:[ \t]?([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)"
        match = re.search(pattern, head, re.MULTILINE | re.IGNORECASE)
        return None if match is None else re.sub(r"\r\n(?=[ \t])", "", match.group(1))


class Inbox:
    """One backend's deliveries."""

    name = ""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def settings(self) -> dict[str, Any]:
        """The ``notify:`` settings of this backend."""
        raise NotImplementedError

    def notifier(self, **extra: Any) -> Notifier:
        notify = {"sender": SENDER, **self.settings(), **extra}
        return Notifier(Settings(config_dir=self.tmp_path, notify=notify))

    def all(self) -> list[Delivered]:
        raise NotImplementedError

    def delivered(self, result: EmailResult) -> Delivered:
        """The message ``result`` describes; fails if it is not exactly once in the inbox."""
        found = [message for message in self.all() if self._is(message, result)]
        assert len(found) == 1, f"{result.message_id} delivered {len(found)} times"
        return found[0]

    def _is(self, message: Delivered, result: EmailResult) -> bool:
        return message.header("Message-ID") == result.message_id


def from_mime(message: EmailMessage, envelope: set[str], raw: bytes | None = None) -> Delivered:
    """A :class:`Delivered` read from a parsed MIME message (and the bytes it was parsed from)."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    parts = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        filename = part.get_filename()
        assert filename is not None
        parts.append(Part(filename, part.get_content_type(), len(content), content))
    return Delivered(
        headers={name.lower(): str(value) for name, value in message.items()},
        envelope=envelope,
        text=_content(text),
        html=_content(html),
        attachments=parts,
        raw=raw,
    )


def _content(part: object) -> str | None:
    """A text part as a mail client shows it (line ends as ``\n``, whatever the transport)."""
    if not isinstance(part, EmailMessage):
        return None
    return str(part.get_content()).replace("\r\n", "\n")


def bare(addresses: list[str]) -> set[str]:
    return {address for _, address in getaddresses(addresses) if address}


class ConsoleInbox(Inbox):
    name = "console"

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(tmp_path)
        self.capsys = capsys
        self.printed = ""

    def settings(self) -> dict[str, Any]:
        return {"backend": "console"}

    def all(self) -> list[Delivered]:
        self.printed += self.capsys.readouterr().out
        blocks = self.printed.split(RULE + "\n")
        return [_parse_console(block) for block in blocks[1::2]]


_SECTION = re.compile(r"^-------- (text/plain|text/html) -+$", re.MULTILINE)
_ATTACHMENT = re.compile(r"^(?P<name>.+) \((?P<type>[^,]+), (?P<size>[\d,]+) bytes\)$")


def _parse_console(block: str) -> Delivered:
    head, *sections = _SECTION.split(block)
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    bodies = {
        kind: body.strip("\n") + "\n"
        for kind, body in zip(sections[::2], sections[1::2], strict=True)
    }
    parts = []
    for item in filter(None, headers.pop("attachments", "").split("; ")):
        match = _ATTACHMENT.match(item)
        assert match is not None, item
        size = int(match["size"].replace(",", ""))
        parts.append(Part(match["name"], match["type"], size, None))
    listed = [headers.get(name, "") for name in ("to", "cc")] + [headers.pop("bcc", "")]
    return Delivered(
        headers=headers,
        envelope=bare([value for value in listed if value]),
        text=bodies.get("text/plain"),
        html=bodies.get("text/html"),
        attachments=parts,
    )


class FileInbox(Inbox):
    name = "file"

    @property
    def folder(self) -> Path:
        return self.tmp_path / "outbox"

    def settings(self) -> dict[str, Any]:
        return {"backend": "file", "file": {"path": "outbox"}}

    def all(self) -> list[Delivered]:
        found = []
        for path in sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else []:
            data = path.read_bytes()
            message = BytesParser(policy=default).parsebytes(data)
            assert isinstance(message, EmailMessage)
            envelope = bare([str(message["X-Envelope-To"])])
            delivered = from_mime(message, envelope, data.split(b"\r\n", 2)[2])
            del delivered.headers["x-envelope-from"], delivered.headers["x-envelope-to"]
            found.append(delivered)
        return found


class SmtpInbox(Inbox):
    name = "smtp"

    def __init__(self, tmp_path: Path, server: SmtpServer) -> None:
        super().__init__(tmp_path)
        self.server = server

    def settings(self) -> dict[str, Any]:
        return {"backend": "smtp", "smtp": self.server.settings()}

    def all(self) -> list[Delivered]:
        return [
            from_mime(received.message, set(received.recipients), received.data)
            for received in self.server.messages
        ]


def ses_client(server: MotoServer, service: str = "sesv2") -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )


def ses_settings(server: MotoServer, **extra: Any) -> dict[str, Any]:
    return {
        "region": S3_REGION,
        "endpoint_url": server.endpoint_url,
        "access_key_id": S3_ACCESS_KEY,
        "secret_access_key": S3_SECRET_KEY,
        **extra,
    }


class SesInbox(Inbox):
    name = "ses"

    def __init__(self, tmp_path: Path, server: MotoServer) -> None:
        super().__init__(tmp_path)
        self.server = server
        self.ids: set[str] = set()
        client = ses_client(server, "ses")
        for sender in (SENDER, OTHER_SENDER):  # SES refuses senders it has not verified
            client.verify_email_identity(EmailAddress=bare([sender]).pop())

    def settings(self) -> dict[str, Any]:
        return {"backend": "ses", "ses": ses_settings(self.server)}

    def _raw(self) -> list[dict[str, Any]]:
        response = httpx2.get(f"{self.server.endpoint_url}/moto-api/data.json", timeout=10)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["ses"]["RawMessage"]
        return messages

    def all(self) -> list[Delivered]:
        found = []
        for raw in self._raw():
            data = raw["raw_data"].encode()
            message = BytesParser(policy=default).parsebytes(data)
            assert isinstance(message, EmailMessage)
            delivered = from_mime(message, bare(raw["destinations"]), data)
            delivered.headers["x-ses-message-id"] = raw["id"]
            delivered.destinations = list(raw["destinations"])
            found.append(delivered)
        return found

    def _is(self, message: Delivered, result: EmailResult) -> bool:
        return message.header("X-SES-Message-ID") == result.message_id

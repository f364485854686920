"""The notify contract: the console, ``.eml`` files, a real SMTP server and moto's SES server.

Every test sends through each backend, built from settings, and reads back what was delivered
(``tests/contract/notify_inboxes.py``): headers, envelope, both parts and attachments. The SMTP
server is aiosmtpd with STARTTLS and a login; SES is moto's server over HTTP.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from tausestack.sdk.notify import (
    Attachment,
    AttachmentLike,
    DeliveryError,
    EmailResult,
    InvalidMessageError,
    TemplateRenderError,
)
from tests.contract.notify_inboxes import (
    BACKENDS,
    OTHER_SENDER,
    ConsoleInbox,
    FileInbox,
    Inbox,
    SesInbox,
    SmtpInbox,
)
from tests.servers import MotoServer, SmtpServer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40  # binary, with every byte value
ADA = "Ada Lovelace <ada@example.com>"


@pytest.fixture(params=BACKENDS)
def inbox(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Inbox:
    if request.param == "console":
        return ConsoleInbox(tmp_path, capsys)
    if request.param == "file":
        return FileInbox(tmp_path)
    if request.param == "smtp":
        server: SmtpServer = request.getfixturevalue("smtp_inbox")
        return SmtpInbox(tmp_path, server)
    moto: MotoServer = request.getfixturevalue("ses_server")
    return SesInbox(tmp_path, moto)


def test_a_text_email_reaches_its_recipient(inbox: Inbox) -> None:
    result = inbox.notifier().email(ADA, "Your order", text="Order 7 has shipped.\n")
    assert result.backend == inbox.name
    assert result.message_id
    assert result.recipients == ("ada@example.com",)
    assert result.refused == {}
    delivered = inbox.delivered(result)
    assert delivered.header("From") == "Tienda Ñandú <noreply@shop.test>"
    assert delivered.header("To") == ADA
    assert delivered.header("Subject") == "Your order"
    assert delivered.header("Date")
    assert delivered.envelope == {"ada@example.com"}
    assert delivered.text == "Order 7 has shipped.\n"
    assert delivered.html is None
    assert delivered.attachments == []
    if delivered.raw is not None:  # the bytes: ASCII only, the name encoded, the rest as is
        assert delivered.raw.isascii()
        assert (
            delivered.raw_header("From") == "Tienda =?utf-8?q?=C3=91and=C3=BA?= <noreply@shop.test>"
        )
        assert delivered.raw_header("To") == ADA
        assert delivered.raw_header("Subject") == "Your order"


def test_text_and_html_parts_both_arrive(inbox: Inbox) -> None:
    html = "<h1>Shipped</h1><p>Track it <a href='https://shop.test/t/7'>here</a>.</p>"
    result = inbox.notifier().email("ada@example.com", "Shipped", text="Plain version", html=html)
    delivered = inbox.delivered(result)
    assert delivered.text is not None
    assert delivered.html is not None
    assert delivered.text.strip() == "Plain version"
    assert delivered.html.strip() == html


def test_html_alone_gets_a_derived_text_part_that_keeps_links(inbox: Inbox) -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><h1>Welcome &amp; thanks</h1>"
        "<p>Please <a href='https://shop.test/confirm?t=abc'>confirm your address</a>.</p>"
        "</body></html>"
    )
    delivered = inbox.delivered(inbox.notifier().email("ada@example.com", "Confirm", html=html))
    assert delivered.html is not None
    assert "<a href=" in delivered.html
    assert delivered.text == (
        "Welcome & thanks\n\nPlease confirm your address (https://shop.test/confirm?t=abc).\n"
    )


def test_attachments_arrive_with_their_names_types_and_bytes(inbox: Inbox, tmp_path: Path) -> None:
    invoice = tmp_path / "invoice-7.pdf"
    invoice.write_bytes(PDF)
    attachments: list[AttachmentLike] = [
        invoice,  # a path: named after the file, type guessed from .pdf
        ("ventes-été.csv", "région,total\nÎle-de-France,12\n", "text/csv; charset=utf-8"),
        Attachment("photo.PNG", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("blob", b"\x00\xff"),
    ]
    result = inbox.notifier().email(
        "ada@example.com", "Documents", text="Attached.", attachments=attachments
    )
    delivered = inbox.delivered(result)
    expected = [
        ("invoice-7.pdf", "application/pdf", PDF),
        ("ventes-été.csv", "text/csv", "région,total\nÎle-de-France,12\n".encode()),
        ("photo.PNG", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("blob", "application/octet-stream", b"\x00\xff"),
    ]
    got = [(part.filename, part.content_type, part.size) for part in delivered.attachments]
    assert got == [(name, kind, len(content)) for name, kind, content in expected]
    if inbox.name != "console":  # the console shows sizes, never bytes
        assert [part.content for part in delivered.attachments] == [c for *_, c in expected]
    assert delivered.text is not None
    assert delivered.text.strip() == "Attached."


def test_the_console_never_prints_attachment_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = ConsoleInbox(tmp_path, capsys)
    secret = b"TOP-SECRET-ATTACHMENT-CONTENT"
    inbox.notifier().email("ada@example.com", "x", text="y", attachments=[("s.txt", secret)])
    printed = capsys.readouterr().out
    assert "s.txt (text/plain, 29 bytes)" in printed
    assert secret.decode() not in printed


def test_cc_is_a_header_and_bcc_only_the_envelope(inbox: Inbox) -> None:
    result = inbox.notifier().email(
        [ADA, "grace@example.com"],
        "Team news",
        text="Hello all",
        cc="Linus <linus@example.com>",
        bcc=["audit@example.com", "Archive <archive@example.com>"],
        reply_to="Support <help@shop.test>",
    )
    everyone = {
        "ada@example.com",
        "grace@example.com",
        "linus@example.com",
        "audit@example.com",
        "archive@example.com",
    }
    assert set(result.recipients) == everyone
    delivered = inbox.delivered(result)
    assert delivered.header("To") == f"{ADA}, grace@example.com"
    assert delivered.header("Cc") == "Linus <linus@example.com>"
    assert delivered.header("Reply-To") == "Support <help@shop.test>"
    assert delivered.header("Bcc") is None
    assert all("audit@" not in value for value in delivered.headers.values())
    assert delivered.envelope == everyone
    if delivered.raw is not None:
        assert b"audit@" not in delivered.raw
        assert b"archive@" not in delivered.raw
        assert delivered.raw_header("Bcc") is None
        assert delivered.raw_header("Cc") == "Linus <linus@example.com>"


def test_unicode_subjects_and_names(inbox: Inbox) -> None:
    subject = "Café ☕ — 注文 #7 shipped; «merci» " + "long " * 20
    result = inbox.notifier().email(
        "Zoë Ørsted <zoe@example.com>", subject.strip(), text="Ünïcödé body ✓"
    )
    delivered = inbox.delivered(result)
    assert delivered.header("Subject") == subject.strip()
    assert delivered.header("To") == "Zoë Ørsted <zoe@example.com>"
    if delivered.raw is not None:  # encoded words, every line within the recommended 78
        raw_subject = delivered.raw_header("Subject")
        assert raw_subject is not None
        assert raw_subject.startswith("=?utf-8?")
        head = delivered.raw.split(b"\r\n\r\n")[0]
        assert head.isascii()
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert delivered.text is not None
    assert delivered.text.strip() == "Ünïcödé body ✓"


def test_an_internationalized_domain_is_sent_as_ascii(inbox: Inbox) -> None:
    result = inbox.notifier().email("jose@example.com", "x", text="y", cc="buero@bücher.example")
    assert result.recipients == ("jose@example.com", "buero@xn--bcher-kva.example")
    delivered = inbox.delivered(result)
    assert "buero@xn--bcher-kva.example" in delivered.envelope
    if delivered.raw is not None:
        assert delivered.raw_header("Cc") == "buero@xn--bcher-kva.example"


def test_sender_and_headers_per_call(inbox: Inbox) -> None:
    result = inbox.notifier().email(
        "ada@example.com",
        "Invoice",
        text="x",
        sender=f"Billing <{OTHER_SENDER}>",
        headers={"X-Campaign": "march", "List-Unsubscribe": "<https://shop.test/u/1>"},
    )
    delivered = inbox.delivered(result)
    assert delivered.header("From") == f"Billing <{OTHER_SENDER}>"
    assert delivered.header("X-Campaign") == "march"
    assert delivered.header("List-Unsubscribe") == "<https://shop.test/u/1>"
    if delivered.raw is not None:
        assert delivered.raw_header("From") == f"Billing <{OTHER_SENDER}>"
        assert delivered.raw_header("X-Campaign") == "march"
        assert delivered.raw_header("List-Unsubscribe") == "<https://shop.test/u/1>"


def test_a_long_list_unsubscribe_arrives_as_written(inbox: Inbox) -> None:
    url = "<https://shop.test/unsubscribe?token=" + "A1b2" * 30 + ">"
    value = f"{url}, <mailto:unsub@shop.test?subject=unsubscribe>"
    headers = {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    result = inbox.notifier().email("ada@example.com", "News", text="x", headers=headers)
    delivered = inbox.delivered(result)
    assert delivered.header("List-Unsubscribe") == value
    if delivered.raw is not None:  # no encoded word: a mail client follows the URI as written
        assert delivered.raw_header("List-Unsubscribe") == value
        assert f"List-Unsubscribe: {url},\r\n <mailto:".encode() in delivered.raw
        assert delivered.raw_header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"


def test_templates_give_subject_and_both_parts(inbox: Inbox, tmp_path: Path) -> None:
    folder = tmp_path / "mail_templates"
    folder.mkdir()
    (folder / "welcome.subject.txt").write_text("Welcome,\n  {{ user.name }}!\n")
    (folder / "welcome.txt").write_text("Hi {{ user.name }}, {{ note }}\n")
    (folder / "welcome.html").write_text("<p>Hi {{ user.name }}, {{ note }}</p>\n")
    notifier = inbox.notifier(template_dirs=[str(folder)])
    context = {"user": {"name": "Ada"}, "note": "<b>bold</b> & more"}
    delivered = inbox.delivered(notifier.email(ADA, template="welcome", context=context))
    assert delivered.header("Subject") == "Welcome, Ada!"
    assert delivered.text == "Hi Ada, <b>bold</b> & more\n"
    assert delivered.html == "<p>Hi Ada, &lt;b&gt;bold&lt;/b&gt; &amp; more</p>\n"


def test_a_missing_template_variable_sends_nothing(inbox: Inbox, tmp_path: Path) -> None:
    folder = tmp_path / "mail_templates"
    folder.mkdir()
    (folder / "reset.html").write_text("<p>Hi {{ user.name }}</p>\n<a href='{{ link }}'>x</a>")
    notifier = inbox.notifier(template_dirs=[str(folder)])
    before = len(inbox.all())
    with pytest.raises(TemplateRenderError, match=r"reset\.html, line 2: 'link' is undefined"):
        notifier.email(ADA, "Reset", template="reset", context={"user": {"name": "Ada"}})
    assert len(inbox.all()) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"to": "not-an-address"}, "Invalid to address 'not-an-address'"),
        ({"to": "a@example.com, b@example.com"}, "pass several addresses as a list"),
        ({"cc": ["ok@example.com", "Eve <eve@example.com>\r\nBcc: x@evil.test"]}, "line break"),
        ({"bcc": "ada@exa mple.com"}, "Invalid bcc address"),
        ({"subject": "Hi\r\nBcc: victim@evil.test"}, "line break"),
        ({"text": None}, "no body"),
        ({"headers": {"X-Note": "a\nBcc: x@evil.test"}}, "line break"),
        ({"headers": {"Bcc": "x@evil.test"}}, "written by TauseStack"),
        ({"attachments": [("a\r\nb.txt", b"x")]}, "Invalid attachment file name"),
        ({"attachments": ["report.pdf"]}, "Invalid attachment 'report.pdf'"),
        ({"sender": "nobody"}, "Invalid sender address 'nobody'"),
        ({"to": [], "cc": None}, "no recipient"),
    ],
)
def test_an_invalid_message_is_refused_before_anything_is_sent(
    inbox: Inbox, arguments: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"to": "ada@example.com", "subject": "Hello", "text": "Hi"}
    values.update(arguments)
    before = len(inbox.all())
    with pytest.raises(InvalidMessageError, match=message):
        inbox.notifier().email(**values)  # type: ignore[arg-type]
    assert len(inbox.all()) == before


def test_async_sends_at_once_each_arrive_once(inbox: Inbox) -> None:
    # That aemail leaves the event loop free is shown against a slow server in test_smtp.py.
    notifier = inbox.notifier()

    async def scenario() -> list[str]:
        results = await asyncio.gather(
            *(
                notifier.aemail(f"user{index}@example.com", f"Batch {index}", text=f"n={index}")
                for index in range(8)
            )
        )
        return [result.message_id for result in results]

    ids = asyncio.run(scenario())
    assert len(set(ids)) == 8
    for index, message_id in enumerate(ids):
        delivered = inbox.delivered(_result(inbox, message_id))
        assert delivered.header("Subject") == f"Batch {index}"
        assert delivered.envelope == {f"user{index}@example.com"}


def _result(inbox: Inbox, message_id: str) -> EmailResult:
    return EmailResult(message_id=message_id, backend=inbox.name, recipients=())


def test_a_message_over_the_size_limit_is_refused(inbox: Inbox, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * 300_000)
    notifier = inbox.notifier(max_message_size=200_000)
    before = len(inbox.all())
    with pytest.raises(InvalidMessageError, match=r"over notify.max_message_size \(200,000"):
        notifier.email("ada@example.com", "Big", text="x", attachments=[big])
    # Base64 makes 150 kB of attachment about 200 kB: refused once encoded, too.
    with pytest.raises(InvalidMessageError, match=r"once encoded, over notify.max_message_size"):
        notifier.email("ada@example.com", "Big", text="x", attachments=[("b", b"1" * 150_000)])
    assert len(inbox.all()) == before


def test_smtp_refusing_some_recipients_reports_them(smtp_inbox: SmtpServer, tmp_path: Path) -> None:
    inbox = SmtpInbox(tmp_path, smtp_inbox)
    result = inbox.notifier().email(["ada@example.com", "ghost@refused.test"], "Partly", text="x")
    assert result.refused == {"ghost@refused.test": "550 5.1.1 No such user here"}
    assert inbox.delivered(result).envelope == {"ada@example.com"}
    with pytest.raises(DeliveryError, match=r"refused every recipient: ghost@refused\.test \(550"):
        inbox.notifier().email("ghost@refused.test", "None", text="x")


def test_ses_refuses_an_unverified_sender_with_the_reason(
    ses_server: MotoServer, tmp_path: Path
) -> None:
    notifier = SesInbox(tmp_path, ses_server).notifier()
    with pytest.raises(DeliveryError) as caught:
        notifier.email("ada@example.com", "x", text="y", sender="stranger@unverified.test")
    message = str(caught.value)
    assert "Amazon SES in us-east-1" in message
    assert "MessageRejected" in message
    assert "Verify stranger@unverified.test (or its domain) in SES" in message


def test_a_failed_file_write_leaves_nothing_behind(tmp_path: Path) -> None:
    inbox = FileInbox(tmp_path)
    notifier = inbox.notifier()
    outgoing = notifier.prepare("ada@example.com", "x", text="y")
    backend = notifier.backend
    inbox.folder.mkdir()
    target = backend.path_for(outgoing)  # type: ignore[attr-defined]
    target.mkdir()  # the message cannot replace a folder
    with pytest.raises(DeliveryError, match=r"Cannot write <.*> to the folder .*outbox"):
        backend.send(outgoing)
    assert [path.name for path in inbox.folder.iterdir()] == [target.name]


def test_eml_files_are_named_by_time_and_open_as_messages(tmp_path: Path) -> None:
    inbox = FileInbox(tmp_path)
    first = inbox.notifier().email("ada@example.com", "First", text="1")
    second = inbox.notifier().email("ada@example.com", "Second", text="2")
    names = sorted(path.name for path in inbox.folder.iterdir())
    assert len(names) == 2
    assert all(name.endswith(".eml") and name[:14].isdigit() for name in names)
    head = (inbox.folder / names[0]).read_text().splitlines()[:2]
    assert head == [
        "X-Envelope-From: <noreply@shop.test>",
        "X-Envelope-To: ada@example.com",
    ]
    assert {first.message_id, second.message_id} == {
        message.header("Message-ID") for message in inbox.all()
    }


def test_the_console_rendering_is_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ConsoleInbox(tmp_path, capsys).notifier().email(
        ADA, "Hello", html="<p>Hi <b>Ada</b></p>", bcc="audit@example.com"
    )
    printed = capsys.readouterr().out
    expected = textwrap.dedent(
        """\
        From: Tienda Ñandú <noreply@shop.test>
        To: Ada Lovelace <ada@example.com>
        Subject: Hello
        """
    )
    assert expected in printed
    assert "Bcc: audit@example.com\n" in printed
    assert "-------- text/plain" in printed
    assert "\nHi Ada\n" in printed
    assert "\n<p>Hi <b>Ada</b></p>\n" in printed

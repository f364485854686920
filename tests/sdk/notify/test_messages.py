"""Building messages: addresses, the derived text part, attachments, headers and Message-IDs."""

from __future__ import annotations

import re
from email.headerregistry import Address
from pathlib import Path

import pytest
from pydantic import ValidationError

from tausestack.sdk.notify import (
    Attachment,
    ConsoleEmailBackend,
    InvalidMessageError,
    Notifier,
    NotifySettings,
)
from tausestack.sdk.notify._addresses import parse_address, parse_addresses
from tausestack.sdk.notify._html_text import html_to_text


def notifier(**settings: object) -> Notifier:
    options = NotifySettings(sender="Shop <noreply@shop.test>", **settings)  # type: ignore[arg-type]
    return Notifier.over(ConsoleEmailBackend(), options)


@pytest.mark.parametrize(
    ("given", "name", "address"),
    [
        ("ada@example.com", "", "ada@example.com"),
        ("  Ada Lovelace <ada@example.com> ", "Ada Lovelace", "ada@example.com"),
        ('"Lovelace, Ada" <ada@example.com>', "Lovelace, Ada", "ada@example.com"),
        ("<ada@example.com>", "", "ada@example.com"),
        ("Zoë <zoe+news@sub.example.co.uk>", "Zoë", "zoe+news@sub.example.co.uk"),
        ("o'brien@münchen.example", "", "o'brien@xn--mnchen-3ya.example"),
        # IDNA 2008 keeps ß (IDNA 2003, Python's codec, made it strasse.de: another domain).
        ("info@straße.de", "", "info@xn--strae-oqa.de"),
        ("info@BÜCHER.example", "", "info@xn--bcher-kva.example"),
        ("root@localhost", "", "root@localhost"),
        (Address("Ada", "ada", "example.com"), "Ada", "ada@example.com"),
    ],
)
def test_addresses_that_are_accepted(given: object, name: str, address: str) -> None:
    parsed = parse_address(given, "to")
    assert (parsed.display_name, parsed.addr_spec) == (name, address)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "an address looks like name@example.com"),
        ("ada", "an address looks like name@example.com"),
        ("ada@", "an address looks like name@example.com"),
        ("ada@example..com", "is not a valid domain"),
        ("ada@-example.com", "is not a valid domain"),
        (".ada@example.com", "is not a valid part before @"),
        ("a..da@example.com", "is not a valid part before @"),
        ("josé@example.com", "must be ASCII"),
        ("x" * 65 + "@example.com", "longer than 64 characters"),
        ("ada@example.com, bob@example.com", "pass several addresses as a list"),
        ("ada@example.com\nBcc: eve@evil.test", "line break"),
        ("Ada\r\n <ada@example.com>", "line break"),
        ("Ada\u2028Bcc: eve@evil.test <ada@example.com>", "line break"),
        ("Ada\x85 <ada@example.com>", "line break"),
        (Address("Ada\u2029", "ada", "example.com"), "line break"),
        (42, "expected a str"),
    ],
)
def test_addresses_that_are_refused_say_why(given: object, reason: str) -> None:
    with pytest.raises(InvalidMessageError, match=re.escape(reason)) as caught:
        parse_address(given, "cc")
    assert str(caught.value).startswith("Invalid cc address")


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("not an email", "it has no @; an address looks like name@example.com"),
        ("", "it is empty; an address looks like name@example.com"),
        (
            "ada @example.com",
            "it holds a space, which an address cannot (a name goes before it: "
            "'Ada <ada@example.com>')",
        ),
        ("a@x.test b@x.test", "it holds 2 addresses; pass several addresses as a list"),
        ("a@x.test; b@x.test, c@x.test", "it holds 3 addresses; pass several addresses as a list"),
    ],
)
def test_an_address_refused_says_what_is_wrong_with_it(given: str, reason: str) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        parse_address(given, "to")
    assert str(caught.value) == f"Invalid to address {given!r}: {reason}."


def test_recipients_may_be_one_address_or_many() -> None:
    assert [a.addr_spec for a in parse_addresses("a@x.test", "to")] == ["a@x.test"]
    many = parse_addresses(("a@x.test", "B <b@x.test>"), "to")
    assert [a.addr_spec for a in many] == ["a@x.test", "b@x.test"]
    assert parse_addresses(None, "cc") == []
    with pytest.raises(InvalidMessageError, match="not bytes"):
        parse_addresses(b"a@x.test", "to")  # type: ignore[arg-type]


def test_recipients_are_each_in_the_envelope_once() -> None:
    outgoing = notifier().prepare(
        ["a@x.test", "A@X.test"], "s", text="t", cc="a@x.test", bcc=["b@x.test", "b@x.test"]
    )
    assert outgoing.recipients == ("a@x.test", "b@x.test")
    assert outgoing.message["To"] == "a@x.test, A@X.test", "headers keep what was given"


def test_html_to_text() -> None:
    html = """<html><head><title>T</title><style>p{color:red}</style>
    <script>alert(1)</script></head><body>
    <h1>Welcome,   Ada &amp; co</h1>
    <p>Thanks for joining.<br>Second line.</p>
    <p>Please <a href="https://x.test/c?t=1&amp;u=2">confirm</a>, visit
    <a href="https://x.test">https://x.test</a> or write to
    <a href="mailto:help@x.test">help@x.test</a>. <a href="#top">Top</a></p>
    <ul><li>one</li><li>two <b>bold</b><ol><li>a</li><li>b</li></ol></li></ul>
    <table><tr><td>Total</td><td>12 €</td></tr><tr><td>Tax</td><td>2</td></tr></table>
    <img src="logo.png" alt="Shop logo"><hr>
    <pre>  code
    kept</pre></body></html>"""
    assert html_to_text(html) == (
        "Welcome, Ada & co\n\n"
        "Thanks for joining.\nSecond line.\n\n"
        "Please confirm (https://x.test/c?t=1&u=2), visit https://x.test or write to "
        "help@x.test. Top\n\n"
        "- one\n- two bold\n  1. a\n  2. b\n\n"
        "Total 12 €\nTax 2\n\n"
        "Shop logo\n----\n\n"
        "  code\n    kept\n"
    )


def test_message_structure() -> None:
    text_only = notifier().prepare("a@x.test", "s", text="t").message
    assert text_only.get_content_type() == "text/plain"
    both = notifier().prepare("a@x.test", "s", text="t", html="<p>h</p>").message
    assert both.get_content_type() == "multipart/alternative"
    attached = (
        notifier().prepare("a@x.test", "s", html="<p>h</p>", attachments=[("a.txt", b"x")]).message
    )
    assert attached.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in attached.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/plain",
    ]


def test_message_ids_are_unique_and_use_the_sender_domain_or_the_setting() -> None:
    ids = {notifier().prepare("a@x.test", "s", text="t").message_id for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"<\d{14}\.[0-9a-f]{24}@shop\.test>", value) for value in ids)
    custom = notifier(message_id_domain="mail.shop.test").prepare("a@x.test", "s", text="t")
    assert custom.message_id.endswith("@mail.shop.test>")


def test_attachment_forms_and_types(tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF")
    single = notifier().prepare("a@x.test", "s", text="t", attachments=report).message
    [part] = single.iter_attachments()
    assert (part.get_filename(), part.get_content_type()) == ("report.pdf", "application/pdf")
    outgoing = notifier().prepare(
        "a@x.test",
        "s",
        text="t",
        attachments=[
            ("notes.csv", "é,1", "text/csv; charset=utf-8"),
            Attachment.from_path(report, filename="renamed.bin", content_type="x-app/custom"),
            ("../../etc/passwd", b"root"),
        ],
    )
    parts = list(outgoing.message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("notes.csv", "text/csv"),
        ("renamed.bin", "x-app/custom"),
        ("passwd", "application/octet-stream"),
    ]
    assert parts[0].get_param("charset") == "utf-8"
    assert parts[0].get_payload(decode=True) == "é,1".encode()


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        (("x.txt", 12), "Invalid attachment"),
        (("x.txt", b"x", "pdf"), "Invalid content type 'pdf'"),
        (("", b"x"), "Invalid attachment file name"),
        (("reports/", b"x"), "Invalid attachment file name 'reports/': it names a folder"),
        (("a\\", b"x"), "Invalid attachment file name 'a\\\\': it names a folder"),
        (("..", b"x"), "Invalid attachment file name '..': it names a folder"),
        (("../ ", b"x"), "Invalid attachment file name '../ ': it names a folder"),
        (("report\u2028.pdf", b"x"), "Invalid attachment file name"),
        (Path("/nonexistent/file.pdf"), "Cannot read attachment '/nonexistent/file.pdf'"),
    ],
)
def test_attachments_that_are_refused(attachment: object, message: str) -> None:
    with pytest.raises(InvalidMessageError, match=re.escape(message)):
        notifier().prepare("a@x.test", "s", text="t", attachments=[attachment])  # type: ignore[list-item]


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.iso"
    with huge.open("wb") as file:
        file.truncate(8 * 1024**3)  # 8 GiB, sparse: reading it would take memory and time
    with pytest.raises(InvalidMessageError, match=r"8192\.0 MiB or more, over notify"):
        notifier().prepare("a@x.test", "s", text="t", attachments=[huge])


def test_text_with_any_line_ends_and_long_lines_goes_out_7bit_safe() -> None:
    text = "line one\r\nline two\rline three " + "é" * 2000
    outgoing = notifier().prepare("a@x.test", "Subject ✓", text=text)
    raw = outgoing.as_bytes()
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    body = outgoing.message.get_body()
    assert body is not None
    assert body.get_content() == "line one\nline two\nline three " + "é" * 2000 + "\n"


def test_html_without_a_closing_head_keeps_its_body() -> None:
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Welcome</title>'
        '<body><h1>Hi Ada</h1><p>Confirm <a href="https://x.test/c">here</a></p></body></html>'
    )
    assert html_to_text(html) == "Hi Ada\n\nConfirm here (https://x.test/c)\n"


def test_links_and_images_in_hidden_elements_are_left_out() -> None:
    html = (
        "<p>Hello</p><noscript><a href='https://track.test/pixel'>t</a>"
        "<img src='p.gif' alt='tracking pixel'><br><hr></noscript><p>Bye</p>"
    )
    assert html_to_text(html) == "Hello\n\nBye\n"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x9b"])
def test_unicode_line_breaks_and_c1_controls_are_refused_in_headers(separator: str) -> None:
    with pytest.raises(InvalidMessageError, match="line break or another control character"):
        notifier().prepare("a@x.test", f"Hi{separator}Bcc: eve@evil.test", text="t")
    with pytest.raises(InvalidMessageError, match="line break or another control character"):
        notifier().prepare("a@x.test", "s", text="t", headers={"X-Note": f"a{separator}b"})


@pytest.mark.parametrize("domain", ["bad domain", "x>y", "a\r\nBcc: e@x.test", "-a.test", "a..b"])
def test_message_id_domain_must_be_a_host_name(domain: str) -> None:
    with pytest.raises(ValidationError, match=r"message_id_domain\n.*must be a host name"):
        NotifySettings(message_id_domain=domain)


def test_ascii_extra_headers_are_written_verbatim() -> None:
    url = "<https://shop.test/unsubscribe?token=" + "A1b2" * 30 + ">"
    both = f"{url}, <mailto:unsub@shop.test?subject=unsubscribe>"
    outgoing = notifier().prepare(
        "a@x.test",
        "s",
        html="<p>h</p>",  # multipart: headers survive the change of structure
        attachments=[("a.txt", b"x")],
        headers={"List-Unsubscribe": both, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    raw = outgoing.as_bytes()
    assert (
        f"\r\nList-Unsubscribe: {url},\r\n <mailto:unsub@shop.test?subject=unsubscribe>\r\n"
    ).encode() in raw, "folded before the space only, never encoded"
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"=?" not in raw.split(b"\r\n\r\n")[0]
    assert outgoing.message["List-Unsubscribe"] == both


def test_a_header_line_over_998_characters_is_refused() -> None:
    with pytest.raises(InvalidMessageError, match=r"over 998 characters"):
        notifier().prepare("a@x.test", "s", text="t", headers={"X-Token": "x" * 990})
    long_but_spaced = " ".join(["word"] * 400)  # folds between the words
    raw = notifier().prepare("a@x.test", "s", text="t", headers={"X-Words": long_but_spaced})
    assert max(len(line) for line in raw.as_bytes().split(b"\r\n")) <= 78
    assert raw.message["X-Words"] == long_but_spaced


def test_non_ascii_extra_headers_are_encoded() -> None:
    raw = notifier().prepare("a@x.test", "s", text="t", headers={"X-Note": "Ünïcode ✓"})
    assert raw.as_bytes().isascii()
    assert b"X-Note: =?utf-8?" in raw.as_bytes()
    assert raw.message["X-Note"] == "Ünïcode ✓"

"""The ``smtp`` backend against real aiosmtpd servers: each kind of security, and every way a
server can fail, each a DeliveryError that names ``host:port`` and never the password. What
aiosmtpd cannot play (an odd QUIT reply, a slow or trickling server) is played by
:class:`~tests.sdk.notify.scripted_smtp.ScriptedSmtpServer`, a raw-socket peer."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tausestack import Settings
from tausestack.sdk.notify import DeliveryError, Notifier, NotifyConfigurationError
from tests.processes import free_port
from tests.sdk.notify.scripted_smtp import ScriptedSmtpServer
from tests.servers import SMTP_PASSWORD, SMTP_USERNAME, SmtpServer

pytestmark = pytest.mark.smtp

SENDER = "noreply@shop.test"


def notifier(tmp_path: Path, **smtp: Any) -> Notifier:
    settings = Settings(
        config_dir=tmp_path, notify={"backend": "smtp", "sender": SENDER, "smtp": smtp}
    )
    return Notifier(settings)


@pytest.mark.parametrize("security", ["tls", "none"])
def test_implicit_tls_and_plain_servers(tmp_path: Path, security: str) -> None:
    with SmtpServer(security=security, login=security == "tls") as server:  # type: ignore[arg-type]
        result = notifier(tmp_path, **server.settings()).email(
            "ada@example.com", "Ünïcode", text="Grüße ✓", attachments=[("a.bin", b"\x00\xff")]
        )
        [received] = server.messages
    assert received.sender == SENDER
    assert received.recipients == ["ada@example.com"]
    assert received.data.isascii(), "bodies and headers are 7-bit safe for every relay"
    assert received.message["Message-ID"] == result.message_id
    assert received.message["Subject"] == "Ünïcode"


def test_a_wrong_password_names_the_server_and_user_not_the_password(
    tmp_path: Path, smtp_inbox: SmtpServer, capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-password-123"
    with pytest.raises(DeliveryError) as caught:
        notifier(tmp_path, **smtp_inbox.settings(password=wrong)).email(
            "a@example.com", "x", text="y"
        )
    message = str(caught.value)
    assert f"the SMTP server 127.0.0.1:{smtp_inbox.port} refused the login of 'mailer'" in message
    assert "535" in message
    assert "notify.smtp.password" in message
    # The error, its repr and whatever reached stdout or stderr (smtplib prints the AUTH line,
    # base64 and all, when its debug level is on); the cause is not chained for a traceback.
    printed = capfd.readouterr()
    shown = message + repr(caught.value) + printed.out + printed.err
    auth_plain = base64.b64encode(f"\0mailer\0{wrong}".encode()).decode()
    assert wrong not in shown
    assert auth_plain not in shown
    assert SMTP_PASSWORD not in shown
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert smtp_inbox.messages == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("password", "contraseña-ñ"),
        ("password", "line\nbreak"),
        ("username", "usér"),
        ("local_hostname", "hôte.example"),
        ("local_hostname", "x\r\nRSET"),
        ("local_hostname", "two words"),
    ],
)
def test_values_smtplib_cannot_send_are_refused_when_built_never_shown(
    tmp_path: Path, smtp_inbox: SmtpServer, setting: str, value: str
) -> None:
    with pytest.raises(NotifyConfigurationError, match=rf"notify\.smtp\.{setting} ") as caught:
        notifier(tmp_path, **smtp_inbox.settings(**{setting: value})).email(
            "a@example.com", "x", text="y"
        )
    assert value not in str(caught.value) + repr(caught.value)
    assert SMTP_PASSWORD not in str(caught.value)
    assert smtp_inbox.messages == []


def test_a_host_name_that_cannot_be_encoded_is_a_delivery_error(tmp_path: Path) -> None:
    broken = notifier(tmp_path, host="xn--bad..example", port=2525, security="none")
    with pytest.raises(DeliveryError, match=r"xn--bad\.\.example:2525: a value .* encoded"):
        broken.email("a@example.com", "x", text="y")


def test_a_server_that_is_not_running(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(
        DeliveryError, match=rf"Cannot connect to the SMTP server 127\.0\.0\.1:{port}"
    ):
        notifier(tmp_path, host="127.0.0.1", port=port, security="none").email(
            "a@example.com", "x", text="y"
        )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_times_out(tmp_path: Path, silent_port: int) -> None:
    slow = notifier(tmp_path, host="127.0.0.1", port=silent_port, security="none", timeout=0.3)
    with pytest.raises(
        DeliveryError, match=rf"127\.0\.0\.1:{silent_port} did not answer within 0\.3 s"
    ):
        slow.email("a@example.com", "x", text="y")


def test_starttls_against_a_server_without_it(tmp_path: Path) -> None:
    with SmtpServer(security="none", login=False) as server:
        options = server.settings(security="starttls")
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            notifier(tmp_path, **options).email("a@example.com", "x", text="y")
        assert server.messages == []


def test_a_certificate_for_another_host_name_is_refused(
    tmp_path: Path, smtp_inbox: SmtpServer
) -> None:
    # "127.1" reaches 127.0.0.1, but the certificate names only localhost and 127.0.0.1.
    options = smtp_inbox.settings(host="127.1")
    with pytest.raises(
        DeliveryError,
        match=r"Cannot verify the TLS certificate of the SMTP server 127\.1:\d+: Hostname "
        r"mismatch.*fix notify\.smtp\.host",
    ):
        notifier(tmp_path, **options).email("a@example.com", "x", text="y")
    assert smtp_inbox.messages == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path, smtp_inbox: SmtpServer) -> None:
    options = smtp_inbox.settings()
    del options["ca_file"]  # the system's authorities do not know the test certificate
    with pytest.raises(DeliveryError, match=r"Cannot verify the TLS certificate .*ca_file"):
        notifier(tmp_path, **options).email("a@example.com", "x", text="y")
    assert smtp_inbox.messages == []


def test_the_wrong_kind_of_tls_explains_the_setting(tmp_path: Path, smtp_inbox: SmtpServer) -> None:
    options = smtp_inbox.settings(security="tls")  # the server starts plain, for STARTTLS
    with pytest.raises(DeliveryError, match=r"TLS with .* failed .* Check notify\.smtp\.security"):
        notifier(tmp_path, **options).email("a@example.com", "x", text="y")
    with SmtpServer(security="tls") as server:  # the server waits for a TLS handshake
        options = server.settings(security="starttls", timeout=0.3)
        with pytest.raises(DeliveryError, match=r"stays silent until it begins: check"):
            notifier(tmp_path, **options).email("a@example.com", "x", text="y")


def test_login_without_tls_to_another_machine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotifyConfigurationError, match="password would cross the network"):
        notifier(
            tmp_path,
            host="smtp.example.com",
            security="none",
            username=SMTP_USERNAME,
            password=SMTP_PASSWORD,
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "notify.smtp.host is not set"),
        ({"host": "smtp.example.com", "password": "x"}, "username is not"),
        ({"host": "smtp.example.com", "ca_file": "/nonexistent/ca.pem"}, "Cannot read"),
    ],
)
def test_settings_that_cannot_work_fail_when_built(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotifyConfigurationError, match=message):
        notifier(tmp_path, **options)


def test_default_ports_follow_the_security(tmp_path: Path) -> None:
    ports = {
        security: notifier(tmp_path, host="smtp.example.com", security=security).backend.describe()
        for security in ("starttls", "tls", "none")
    }
    assert ports == {
        "starttls": "the SMTP server smtp.example.com:587",
        "tls": "the SMTP server smtp.example.com:465",
        "none": "the SMTP server smtp.example.com:25",
    }


@pytest.mark.parametrize("quit_reply", ["250 2.0.0 Not quite goodbye", "421 4.3.2 Busy", None])
def test_a_delivered_message_stays_delivered_whatever_quit_gets(
    tmp_path: Path, quit_reply: str | None
) -> None:
    with ScriptedSmtpServer(quit_reply=quit_reply) as server:
        result = notifier(tmp_path, **server.settings()).email("a@example.com", "x", text="y")
    assert result.recipients == ("a@example.com",)
    assert len(server.messages) == 1, "accepted once, so a retry would send it twice"


def test_an_odd_quit_does_not_mask_the_refusal_before_it(tmp_path: Path) -> None:
    refusing = ScriptedSmtpServer(rcpt_reply="550 5.1.1 No such user", quit_reply="250 Bye")
    refusal = r"refused every recipient: a@example\.com \(550 5\.1\.1 No such user\)"
    with refusing as server, pytest.raises(DeliveryError, match=refusal):
        notifier(tmp_path, **server.settings()).email("a@example.com", "x", text="y")
    assert server.messages == []


def test_send_timeout_bounds_a_server_that_trickles_its_reply(tmp_path: Path) -> None:
    with ScriptedSmtpServer(trickle=True) as server:
        slow = notifier(tmp_path, **server.settings(timeout=5, send_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(
            DeliveryError, match=r"did not finish the exchange within 0\.5 s \(notify\.smtp"
        ):
            slow.email("a@example.com", "x", text="y")
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"a byte every 50 ms never trips the 5 s read timeout ({elapsed:.1f} s)"


def test_aemail_leaves_the_event_loop_free_while_a_slow_server_answers(tmp_path: Path) -> None:
    delay, sends = 0.5, 4

    async def scenario(mailer: Notifier) -> tuple[int, float]:
        ticks = 0
        sending = True

        async def ticker() -> None:
            nonlocal ticks
            while sending:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.gather(
            *(mailer.aemail(f"u{n}@example.com", "x", text="y") for n in range(sends))
        )
        elapsed = time.monotonic() - started
        sending = False
        await ticking
        return ticks, elapsed

    with ScriptedSmtpServer(data_delay=delay) as server:
        ticks, elapsed = asyncio.run(scenario(notifier(tmp_path, **server.settings())))
    assert len(server.messages) == sends
    assert elapsed < delay * sends * 0.75, f"the sends ran one after another ({elapsed:.2f} s)"
    assert ticks >= 20, f"the loop ran {ticks} times in {elapsed:.2f} s: it was blocked"

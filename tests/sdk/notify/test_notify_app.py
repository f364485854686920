"""Notify in an application: the backend from settings (and the original SDK's variables), DI,
module functions without DI, async sends from a request, and checks at startup."""

from __future__ import annotations

import logging
import subprocess
import sys
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from tausestack import Controller, Service, Settings, create_app, post
from tausestack._settings_sources import iter_leaf_paths
from tausestack.errors import SettingsError
from tausestack.sdk import notify, use
from tausestack.sdk.notify import (
    AbstractNotifyBackend,
    ConsoleEmailBackend,
    EmailResult,
    FileEmailBackend,
    Notifier,
    NotifyConfigurationError,
    NotifySettings,
    OutgoingEmail,
    SmtpEmailBackend,
)
from tausestack.testing import TestClient
from tests.contract.notify_inboxes import ses_client, ses_settings
from tests.servers import SMTP_PASSWORD, MotoServer, SmtpServer


@Service
class Welcomer:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def welcome(self, address: str) -> EmailResult:
        return self.notifier.email(address, "Welcome", text="Hello")


def test_console_is_the_default_and_notifier_is_injectable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(config_dir=tmp_path, notify={"sender": "Shop <noreply@shop.test>"})
    app = create_app(settings, components=[Welcomer])
    with TestClient(app):
        result = app.container.get(Welcomer).welcome("ada@example.com")
        assert app.container.get(AbstractNotifyBackend) is app.container.get(Notifier).backend
    assert isinstance(app.container.get(Notifier).backend, ConsoleEmailBackend)
    assert result.backend == "console"
    printed = capsys.readouterr().out
    assert f"Message-ID: {result.message_id}\n" in printed
    assert "To: ada@example.com\n" in printed


def test_the_original_sdk_variables_keep_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_NOTIFY_BACKEND", "local_file")
    monkeypatch.setenv("TAUSESTACK_NOTIFY_LOCAL_FILE_PATH", str(tmp_path / "sent"))
    monkeypatch.setenv("TAUSESTACK_NOTIFY_SES_SOURCE_EMAIL", "noreply@legacy.test")
    monkeypatch.setenv("TAUSESTACK_NOTIFY_SES_AWS_REGION", "eu-west-1")
    settings = Settings(config_dir=tmp_path)
    assert settings.notify.backend == "file"
    assert settings.notify.sender == "noreply@legacy.test"
    assert settings.notify.ses.region == "eu-west-1"
    assert settings.source_of("notify", "sender") == (
        "TAUSESTACK_NOTIFY_SES_SOURCE_EMAIL (a variable of the original SDK)"
    )
    app = create_app(settings)
    with use(app.container):
        result = notify.email("ada@example.com", "Legacy", text="still works")
        backend = notify.current().backend
    assert isinstance(backend, FileEmailBackend)
    assert backend.folder == tmp_path / "sent"
    [written] = (tmp_path / "sent").glob("*.eml")
    message = BytesParser(policy=default).parsebytes(written.read_bytes())
    assert message["From"] == "noreply@legacy.test"
    assert message["Message-ID"] == result.message_id


def test_the_current_names_win_over_the_original_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_NOTIFY_BACKEND", "local_file")
    monkeypatch.setenv("TAUSESTACK_NOTIFY__BACKEND", "console")
    assert Settings(config_dir=tmp_path).notify.backend == "console"


def test_module_functions_without_di_and_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "hi.txt").write_text("Hi {{ name }}")
    (tmp_path / "mail" / "hi.subject.txt").write_text("Hello {{ name }}")
    settings = Settings(
        config_dir=tmp_path, notify={"sender": "noreply@shop.test", "template_dirs": ["mail"]}
    )
    app = create_app(settings)
    with use(app.container):
        preview = notify.render("hi", {"name": "Ada"})
        result = notify.email("ada@example.com", template="hi", context={"name": "Ada"})
        assert notify.current() is notify.current(), "one Notifier per application"
    assert (preview.subject, preview.text, preview.html) == ("Hello Ada", "Hi Ada", None)
    printed = capsys.readouterr().out
    assert "Subject: Hello Ada\n" in printed
    assert result.backend == "console"


@Controller("/signup")
class SignupController:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    @post("/")
    async def signup(self, email: str) -> dict[str, str]:
        result = await self.notifier.aemail(email, "Confirm your address", html="<p>Hi</p>")
        return {"message_id": result.message_id}


def test_aemail_from_a_request_through_smtp(tmp_path: Path, smtp_inbox: SmtpServer) -> None:
    options = {"backend": "smtp", "sender": "noreply@shop.test", "smtp": smtp_inbox.settings()}
    app = create_app(Settings(config_dir=tmp_path, notify=options), components=[SignupController])
    with TestClient(app) as client:
        response = client.post("/signup/", params={"email": "ada@example.com"})
    assert response.status_code == 200
    [received] = smtp_inbox.messages
    assert received.recipients == ["ada@example.com"]
    assert received.message["Message-ID"] == response.json()["message_id"]
    assert isinstance(app.container.get(Notifier).backend, SmtpEmailBackend)


def test_a_wrong_smtp_password_stops_startup_when_checked(
    tmp_path: Path, smtp_inbox: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    options = {
        "backend": "smtp",
        "sender": "noreply@shop.test",
        "check_on_startup": True,
        "smtp": smtp_inbox.settings(password="wrong-password-456"),
    }
    app = create_app(Settings(config_dir=tmp_path, notify=options), components=[Welcomer])
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(NotifyConfigurationError) as caught,
        TestClient(app),
    ):
        pass
    assert "notify.check_on_startup" in str(caught.value)
    assert "refused the login of 'mailer'" in str(caught.value)
    assert "wrong-password-456" not in str(caught.value) + caplog.text
    good = {**options, "smtp": smtp_inbox.settings()}
    app = create_app(Settings(config_dir=tmp_path, notify=good), components=[Welcomer])
    with TestClient(app):
        app.container.get(Welcomer).welcome("ada@example.com")
    assert len(smtp_inbox.messages) == 1
    assert SMTP_PASSWORD not in repr(app.settings.notify)


def test_ses_from_settings_and_its_startup_check(tmp_path: Path, ses_server: MotoServer) -> None:
    ses_client(ses_server, "ses").verify_domain_identity(Domain="verified-domain.test")
    options: dict[str, Any] = {
        "backend": "ses",
        "sender": "Shop <hello@verified-domain.test>",
        "check_on_startup": True,
        "ses": ses_settings(ses_server),
    }
    app = create_app(Settings(config_dir=tmp_path, notify=options), components=[Welcomer])
    with TestClient(app):
        result = app.container.get(Welcomer).welcome("ada@example.com")
    assert result.backend == "ses"
    assert "@" not in result.message_id, "SES's own id"
    unverified = {**options, "sender": "hello@unverified-domain.test"}
    app = create_app(Settings(config_dir=tmp_path, notify=unverified), components=[Welcomer])
    with (
        pytest.raises(NotifyConfigurationError, match="is not a verified identity"),
        TestClient(app),
    ):
        pass


def test_ses_without_a_region_anywhere_stops_create_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    options = {"backend": "ses", "sender": "noreply@shop.test"}
    with pytest.raises(
        NotifyConfigurationError, match=r"no AWS region is set\. Set notify\.ses\.region .*"
    ) as caught:
        create_app(Settings(config_dir=tmp_path, notify=options), components=[Welcomer])
    assert "AWS_DEFAULT_REGION" in str(caught.value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # boto3's own configuration will do
    app = create_app(Settings(config_dir=tmp_path, notify=options), components=[Welcomer])
    assert app.container.get(Notifier).backend.describe() == "Amazon SES in eu-west-1"


@pytest.mark.parametrize(
    ("notify_settings", "message"),
    [
        ({"backend": "smpt"}, "Unknown notify.backend 'smpt'.*Did you mean 'smtp'"),
        ({"backend": "smtp"}, "notify.smtp.host is not set"),
        ({"sender": "not an address"}, "Invalid notify.sender address 'not an address'"),
        ({"backend": "no.such.module:Backend"}, "notify.backend 'no.such.module:Backend' cannot"),
        ({"backend": "pathlib:Path"}, "is not a subclass of AbstractNotifyBackend"),
    ],
)
def test_misconfiguration_stops_create_app(
    tmp_path: Path, notify_settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotifyConfigurationError, match=message):
        create_app(Settings(config_dir=tmp_path, notify=notify_settings), components=[Welcomer])


def test_invalid_settings_values_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"notify\.smtp\.security"):
        Settings(config_dir=tmp_path, notify={"smtp": {"security": "ssl"}})


def test_no_sender_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    notifier = Notifier(Settings(config_dir=tmp_path))
    with pytest.raises(NotifyConfigurationError, match="set notify.sender .* or pass sender="):
        notifier.email("ada@example.com", "x", text="y")
    assert notifier.email("ada@example.com", "x", text="y", sender="me@shop.test").message_id


class CollectingBackend(AbstractNotifyBackend):
    """A third-party backend named by dotted path: keeps what it is given."""

    name = "collecting"

    def __init__(self, settings: Settings) -> None:
        self.sent: list[OutgoingEmail] = []

    def describe(self) -> str:
        return "a list"

    def send(self, email: OutgoingEmail) -> EmailResult:
        self.sent.append(email)
        return email.sent(self.name)


def test_a_backend_named_by_dotted_path(tmp_path: Path) -> None:
    options = {"backend": f"{__name__}:CollectingBackend", "sender": "noreply@shop.test"}
    app = create_app(Settings(config_dir=tmp_path, notify=options), components=[Welcomer])
    result = app.container.get(Welcomer).welcome("Ada <ada@example.com>")
    backend = app.container.get(AbstractNotifyBackend)
    assert isinstance(backend, CollectingBackend)
    [outgoing] = backend.sent
    assert result.backend == "collecting"
    assert outgoing.to == ("ada@example.com",)
    assert outgoing.message["To"] == "Ada <ada@example.com>"


def test_sending_email_imports_no_aws_library(tmp_path: Path) -> None:
    script = f"""
import sys
from tausestack import Settings, create_app
from tausestack.sdk import notify, use
app = create_app(Settings(config_dir={str(tmp_path)!r}, notify={{"sender": "a@shop.test"}}))
with use(app.container):
    notify.email("b@shop.test", "s", text="t", attachments=[("a.txt", b"x")])
print(sorted(name for name in ("boto3", "botocore") if name in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_every_setting_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "notify.md").read_text()
    missing = []
    for path in iter_leaf_paths(NotifySettings().model_dump()):
        key, section = ".".join(("notify", *path)), ".".join(("notify", *path[:-1]))
        if f"`{key}`" not in docs and not (f"`{section}." in docs and f"`{path[-1]}`" in docs):
            missing.append(key)
    assert missing == []

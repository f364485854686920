"""The ``ses`` backend: Amazon SES through boto3's ``sesv2`` client.

Messages go as raw MIME (``Content.Raw``), the same bytes the other backends produce, so
attachments, both parts and every header reach SES unchanged; Bcc recipients travel only in
``Destination``, each address once, as over SMTP. SES writes its own Message-ID header, so the
result carries the id SES returns. A refusal (an unverified sender, a sandbox recipient, a
throttle) is a DeliveryError with SES's code and message, and the advice to verify an identity
only when that is the cause. boto3's client is thread-safe; the async twin runs it in a worker
thread. No region anywhere (settings, environment, ``~/.aws/config``) stops ``create_app()``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from .._aws import aws_client
from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail
from .errors import DeliveryError, NotifyConfigurationError

if TYPE_CHECKING:
    from ..settings import SesNotifySettings

__all__ = ["SesEmailBackend"]

#: How SES (and moto) say a refusal is about an identity that is not verified: the fix is to
#: verify it (or leave the sandbox). MessageRejected has other causes (size, content).
_UNVERIFIED = re.compile(r"not verified|authority to send", re.IGNORECASE)


class SesEmailBackend(AbstractNotifyBackend):
    """Sends through Amazon SES (or a compatible endpoint such as moto's)."""

    name = "ses"

    def __init__(self, settings: SesNotifySettings) -> None:
        self.region = settings.region
        self.endpoint_url = settings.endpoint_url
        self.configuration_set = settings.configuration_set
        session = boto3.session.Session()
        if settings.region is None and session.region_name is None:
            raise _no_region()
        try:
            self.client: Any = aws_client("sesv2", settings, session)
        except NoRegionError:
            raise _no_region() from None

    def describe(self) -> str:
        region = self.region or self.client.meta.region_name
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"Amazon SES in {region}{where}"

    def send(self, email: OutgoingEmail) -> EmailResult:
        request: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": _destination(email),
            "Content": {"Raw": {"Data": email.as_bytes()}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = self.client.send_email(**request)
        except ClientError as exc:
            code, text = _error(exc)
            hint = (
                f" Verify {email.sender} (or its domain) in SES, and the recipients too while "
                "the account is in the sandbox."
                if code == "MailFromDomainNotVerifiedException" or _UNVERIFIED.search(text)
                else ""
            )
            raise DeliveryError(
                f"{self.describe()} refused {email.message_id}: {code}: {text}.{hint}"
            ) from None
        except BotoCoreError as exc:
            raise DeliveryError(
                f"Cannot reach {self.describe()}: {exc}. Check notify.ses.region, endpoint_url "
                "and the credentials."
            ) from None
        return email.sent(self.name, message_id=str(response["MessageId"]))

    async def check(self, sender: str | None) -> None:
        if sender is not None:
            await anyio.to_thread.run_sync(self.check_sender, sender)

    def check_sender(self, sender: str) -> None:
        """NotifyConfigurationError unless SES may send from ``sender`` (the address or its
        domain is a verified identity)."""
        for identity in (sender, sender.rpartition("@")[2]):
            try:
                found = self.client.get_email_identity(EmailIdentity=identity)
            except ClientError as exc:
                code, text = _error(exc)
                if code == "NotFoundException":
                    continue
                raise NotifyConfigurationError(
                    f"notify.check_on_startup: {self.describe()} answered {code}: {text}."
                ) from None
            except BotoCoreError as exc:
                raise NotifyConfigurationError(
                    f"notify.check_on_startup: cannot reach {self.describe()}: {exc}."
                ) from None
            status = found.get("VerificationStatus")
            if found.get("VerifiedForSendingStatus") or status == "SUCCESS":
                return
        raise NotifyConfigurationError(
            f"notify.check_on_startup: {sender} is not a verified identity in "
            f"{self.describe()}, nor is its domain. Verify one in SES, or fix notify.sender."
        )

    async def stop(self) -> None:
        self.client.close()


def _destination(email: OutgoingEmail) -> dict[str, list[str]]:
    """``Destination`` with each address once (case aside), in the first field that has it."""
    seen: set[str] = set()
    destination: dict[str, list[str]] = {}
    for key, addresses in (
        ("ToAddresses", email.to),
        ("CcAddresses", email.cc),
        ("BccAddresses", email.bcc),
    ):
        unique = []
        for address in addresses:
            if address.lower() not in seen:
                seen.add(address.lower())
                unique.append(address)
        if unique:
            destination[key] = unique
    return destination


def _no_region() -> NotifyConfigurationError:
    return NotifyConfigurationError(
        "notify.backend is 'ses' but no AWS region is set. Set notify.ses.region (or "
        "TAUSESTACK_NOTIFY__SES__REGION), or AWS_DEFAULT_REGION, to the region of your SES "
        "identities, e.g. us-east-1."
    )


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", "")).rstrip(".")

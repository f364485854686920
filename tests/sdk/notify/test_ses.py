"""The ``ses`` backend against moto's SES server, beyond the contract suite: when the advice to
verify an identity is given, Destination without repeats, and the configuration set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tausestack.sdk.notify import DeliveryError
from tests.contract.notify_inboxes import SesInbox
from tests.servers import MotoServer


def test_ses_gives_the_verification_advice_only_when_it_applies(
    ses_server: MotoServer, tmp_path: Path
) -> None:
    notifier = SesInbox(tmp_path, ses_server).notifier()
    crowd = [f"user{n}@example.com" for n in range(60)]  # over SES's 50 recipients
    with pytest.raises(DeliveryError) as caught:
        notifier.email(crowd, "x", text="y")
    message = str(caught.value)
    assert "MessageRejected: Too many recipients" in message
    assert "Verify" not in message, "the sender is verified: that advice would mislead"


def test_ses_lists_each_address_once_in_destination(ses_server: MotoServer, tmp_path: Path) -> None:
    inbox = SesInbox(tmp_path, ses_server)
    result = inbox.notifier().email(
        "ada@example.com",
        "x",
        text="y",
        cc="grace@example.com",
        bcc=["audit@example.com", "Audit@Example.com", "grace@example.com", "ADA@example.com"],
    )
    destinations = inbox.delivered(result).destinations
    # moto records Destination, then adds the addresses of the To and Cc headers.
    assert [d for d in destinations if d.lower() == "audit@example.com"] == ["audit@example.com"]
    assert destinations.count("grace@example.com") == 2
    assert [d.lower() for d in destinations].count("ada@example.com") == 2


def test_ses_sends_the_configuration_set(ses_server: MotoServer, tmp_path: Path) -> None:
    # moto accepts ConfigurationSetName and keeps nothing of it, so the request is read as it
    # leaves botocore for moto's server (the hook observes; the request still goes out).
    inbox = SesInbox(tmp_path, ses_server)
    notifier = inbox.notifier(ses={**inbox.settings()["ses"], "configuration_set": "transactional"})
    sent: list[dict[str, Any]] = []

    def observe(request: Any, **_: Any) -> None:
        sent.append(json.loads(request.body))

    notifier.backend.client.meta.events.register("before-send.sesv2.SendEmail", observe)  # type: ignore[attr-defined]
    result = notifier.email("ada@example.com", "x", text="y")
    assert inbox.delivered(result).envelope == {"ada@example.com"}
    [request] = sent
    assert request["ConfigurationSetName"] == "transactional"
    assert request["Destination"] == {"ToAddresses": ["ada@example.com"]}

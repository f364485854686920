"""The interface of a notify backend: deliver one message that is already built and checked.

:class:`~tausestack.sdk.notify.Notifier` validates addresses, renders templates, builds the MIME
message (Message-ID included) and checks its size; a backend only delivers the
:class:`OutgoingEmail` it is given, and raises :class:`~tausestack.sdk.notify.DeliveryError`
with the server's reason when it cannot. The async twin runs the sync method in a worker thread
unless a backend overrides it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from typing import ClassVar

import anyio
import anyio.to_thread

__all__ = ["AbstractNotifyBackend", "EmailResult", "OutgoingEmail"]

#: The SMTP policy, but headers stored verbatim (extra ASCII headers, folded when they were
#: set) are written as they are instead of being refolded into encoded words.
_WIRE = SMTP.clone(refold_source="none")


@dataclass(frozen=True)
class EmailResult:
    """What a send returns.

    Attributes:
        message_id: the ``Message-ID`` header TauseStack set (``<…@domain>``), or the id SES
            gave the message (SES writes its own Message-ID header).
        backend: the backend's name: ``console``, ``file``, ``smtp``, ``ses``…
        recipients: every envelope recipient (To, Cc and Bcc), bare addresses.
        refused: recipients the SMTP server refused while it accepted others, with its reply;
            empty when every recipient was accepted (if all are refused, the send raises).
    """

    message_id: str
    backend: str
    recipients: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready to deliver.

    Attributes:
        message: the MIME message; its headers never include Bcc.
        sender: the envelope sender (``MAIL FROM``), a bare address.
        to, cc, bcc: bare addresses, as given (Bcc travels only in the envelope).
    """

    message: EmailMessage
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]

    @property
    def message_id(self) -> str:
        """The ``Message-ID`` header."""
        return str(self.message["Message-ID"])

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every envelope recipient, each once (To, then Cc, then Bcc)."""
        seen: dict[str, str] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(address.lower(), address)
        return tuple(seen.values())

    def as_bytes(self) -> bytes:
        """The message as sent over SMTP (CRLF line ends, non-ASCII headers encoded)."""
        return self.message.as_bytes(policy=_WIRE)

    def sent(
        self, backend: str, message_id: str | None = None, refused: Mapping[str, str] | None = None
    ) -> EmailResult:
        """The :class:`EmailResult` of delivering this message through ``backend``."""
        return EmailResult(
            message_id=message_id or self.message_id,
            backend=backend,
            recipients=self.recipients,
            refused=dict(refused or {}),
        )


class AbstractNotifyBackend(ABC):
    """Delivers email. Subclasses set ``name`` and implement :meth:`describe` and :meth:`send`.

    A backend named in the settings by dotted path is built with the application's
    ``Settings``.
    """

    #: The name results carry (``EmailResult.backend``).
    name: ClassVar[str] = "custom"
    #: Threads the async twin may use at once for this backend.
    max_threads: ClassVar[int] = 16

    _limiter: anyio.CapacityLimiter | None = None

    @abstractmethod
    def describe(self) -> str:
        """Where messages go, for error messages (``the SMTP server smtp.example.com:587``)."""

    @abstractmethod
    def send(self, email: OutgoingEmail) -> EmailResult:
        """Deliver ``email``; DeliveryError with the reason when it cannot be delivered."""

    async def asend(self, email: OutgoingEmail) -> EmailResult:
        """Async :meth:`send` (in a worker thread by default)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_threads)
        return await anyio.to_thread.run_sync(self.send, email, limiter=self._limiter)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare what is cheap to check (a folder); called at application startup."""

    async def check(self, sender: str | None) -> None:  # noqa: B027 - optional hook
        """Reach the service (log in, check the sender may send); called at startup when
        ``notify.check_on_startup`` is on. Raise NotifyConfigurationError saying what to fix."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called at application shutdown."""

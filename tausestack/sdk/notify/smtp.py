"""The ``smtp`` backend: the standard library's smtplib, one connection per message.

smtplib rather than aiosmtplib: it is in the standard library and has decades of use, and
sending email is network-bound and infrequent next to requests, so the async twin runs it in a
worker thread (see ``base.py``) at no loss, with no extra dependency.

``security`` chooses how the connection is protected: ``starttls`` (port 587, upgraded before
anything else is said), ``tls`` (port 465, encrypted from the first byte) or ``none`` (a local
relay). Certificates are verified against the system's authorities, or ``ca_file``. A login
over an unencrypted connection to another machine is refused, as it would send the password in
clear. Every failure becomes a DeliveryError naming ``host:port`` and the server's reply; the
password never appears in a message or a log (the username, password and EHLO name must be
printable ASCII, checked when the backend is built, as smtplib sends nothing else).

``timeout`` bounds each network operation (connecting, one read, one write); ``send_timeout``
bounds the whole exchange: a watchdog shuts the connection down when it is up, so a server that
answers one byte at a time cannot hold a worker thread for ever. Once the server has accepted
the message, the send has succeeded: an odd reply to ``QUIT``, or a server that hangs up
instead, changes nothing (reporting a failure would send the message again on a retry).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from .base import AbstractNotifyBackend, EmailResult, OutgoingEmail
from .errors import DeliveryError, NotifyConfigurationError

if TYPE_CHECKING:
    from ..settings import SmtpNotifySettings

__all__ = ["SmtpEmailBackend"]

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_PRINTABLE = re.compile(r"[ -~]*")  # printable ASCII, space included
_HOST_NAME = re.compile(r"[!-~]+")  # printable ASCII, no space (an EHLO argument)
_T = TypeVar("_T")


class SmtpEmailBackend(AbstractNotifyBackend):
    """Sends through one SMTP server."""

    name = "smtp"

    def __init__(self, settings: SmtpNotifySettings) -> None:
        if not settings.host:
            raise NotifyConfigurationError(
                "notify.backend is 'smtp' but notify.smtp.host is not set. Set it (or "
                "TAUSESTACK_NOTIFY__SMTP__HOST) to your SMTP server, e.g. smtp.example.com."
            )
        if settings.password is not None and not settings.username:
            raise NotifyConfigurationError(
                "notify.smtp.password is set but notify.smtp.username is not; set both to log "
                "in, or neither."
            )
        if settings.username and settings.security == "none" and settings.host not in _LOOPBACK:
            raise NotifyConfigurationError(
                f"notify.smtp.username is set but notify.smtp.security is 'none', so the "
                f"password would cross the network to {settings.host} in clear. Use 'starttls' "
                "(port 587) or 'tls' (port 465)."
            )
        _check_ascii(settings)
        self.host = settings.host
        self.port = settings.port or DEFAULT_PORTS[settings.security]
        self.security = settings.security
        self.username = settings.username
        self._password = settings.password
        self.timeout = settings.timeout
        self.send_timeout = settings.send_timeout
        self.local_hostname = settings.local_hostname
        self.tls_context = _tls_context(settings)

    def describe(self) -> str:
        return f"the SMTP server {self.host}:{self.port}"

    def send(self, email: OutgoingEmail) -> EmailResult:
        sender, recipients, data = email.sender, list(email.recipients), email.as_bytes()
        refused = self._exchange(lambda client: client.sendmail(sender, recipients, data))
        replies = {address: _reply(code, text) for address, (code, text) in refused.items()}
        return email.sent(self.name, refused=replies)

    async def check(self, sender: str | None) -> None:
        try:
            await anyio.to_thread.run_sync(self._exchange, smtplib.SMTP.noop)
        except DeliveryError as exc:
            raise NotifyConfigurationError(f"notify.check_on_startup: {exc}") from None

    def _exchange(self, work: Callable[[smtplib.SMTP], _T]) -> _T:
        """``work`` on a new connection, then QUIT; the whole within ``send_timeout``.

        A failure closes the connection and raises the DeliveryError for it; once ``work`` has
        succeeded, nothing QUIT does can turn it into a failure.
        """
        deadline = _Deadline(self.send_timeout)
        try:
            client = self._connect(deadline)
            try:
                result = work(client)
            except BaseException:
                client.close()
                raise
            _quit(client)
            return result
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise self._error(exc, expired=deadline.expired) from None
        finally:
            deadline.cancel()

    def _connect(self, deadline: _Deadline) -> smtplib.SMTP:
        """A connection that is encrypted (unless ``none``) and logged in (with a username)."""
        client: smtplib.SMTP
        if self.security == "tls":
            client = _TlsClient(
                deadline,
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.tls_context,
            )
        else:
            client = _Client(
                deadline,
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
            )
        try:
            client.ehlo()
            if self.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"{self.describe()} does not offer STARTTLS. Set notify.smtp.security "
                        "to 'tls' if it expects TLS from the start (port 465), or to 'none' for "
                        "a local relay without encryption."
                    )
                client.starttls(context=self.tls_context)
                client.ehlo()
            if self.username:
                password = self._password.get_secret_value() if self._password else ""
                client.login(self.username, password)
        except BaseException:
            client.close()
            raise
        return client

    def _error(self, exc: BaseException, *, expired: bool = False) -> DeliveryError:
        """The DeliveryError for an smtplib, socket or encoding failure, naming the server."""
        if isinstance(exc, DeliveryError):
            return exc
        where = self.describe()
        if expired:  # whatever the shut-down connection made smtplib raise
            return DeliveryError(
                f"{where} did not finish the exchange within {self.send_timeout:g} s "
                "(notify.smtp.send_timeout), so the connection was closed. Raise the setting "
                "for very large messages on a slow link."
            )
        if isinstance(exc, ValueError) and not isinstance(exc, OSError):  # not a TLS error:
            # a UnicodeError or smtplib's ValueError, whose text holds what it could not send
            return DeliveryError(
                f"Cannot talk to {where}: a value smtplib must send cannot be encoded "
                f"({type(exc).__name__}). Check notify.smtp.host and notify.smtp.local_hostname."
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{where} refused the login of {self.username!r}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}. Check notify.smtp.username and "
                "notify.smtp.password."
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return DeliveryError(
                f"{where} refused the sender {exc.sender}: {_reply(exc.smtp_code, exc.smtp_error)}."
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = "; ".join(
                f"{address} ({_reply(code, text)})"
                for address, (code, text) in exc.recipients.items()
            )
            return DeliveryError(f"{where} refused every recipient: {refused}.")
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"{where} refused the message: {_reply(exc.smtp_code, exc.smtp_error)}."
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps read timeouts
                return self._timeout()
            return DeliveryError(f"{where} closed the connection unexpectedly ({exc}).")
        if isinstance(exc, smtplib.SMTPException):
            return DeliveryError(f"{where} failed: {exc}.")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"Cannot verify the TLS certificate of {where}: {exc.verify_message}. Trust "
                "its authority with notify.smtp.ca_file, or fix notify.smtp.host."
            )
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(
                f"TLS with {where} failed ({exc.reason or exc}). Check notify.smtp.security: "
                "'tls' for port 465, 'starttls' for 587."
            )
        if isinstance(exc, TimeoutError):
            return self._timeout()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return DeliveryError(
            f"Cannot connect to {where}: {reason}. Check notify.smtp.host and notify.smtp.port, "
            "and that the server is running."
        )

    def _timeout(self) -> DeliveryError:
        hint = (
            " A server that expects TLS from the start (usually port 465) stays silent until "
            "it begins: check notify.smtp.port and notify.smtp.security."
            if self.security != "tls"
            else ""
        )
        return DeliveryError(f"{self.describe()} did not answer within {self.timeout:g} s.{hint}")


class _Deadline:
    """Shuts a connection down once ``seconds`` have passed, from a timer thread.

    Socket timeouts bound one read, not a reply sent one byte at a time. The deadline keeps a
    duplicate of the socket's descriptor: shutting it down ends the connection that smtplib
    is blocked on, and it can never reach another connection that reused a closed descriptor.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection: socket.socket) -> None:
        """Shut ``connection`` down when the time is up (at once if it already is)."""
        with self._lock:
            if self._socket is not None:  # a second connection: the first is done with
                self._socket.close()
            self._socket = connection.dup()
            if self.expired:
                self._shut_down()

    def cancel(self) -> None:
        """Stop the timer and let go of the connection."""
        self._timer.cancel()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                self._socket.shutdown(socket.SHUT_RDWR)


class _Watched(smtplib.SMTP):
    """Hands its TCP connection to a deadline as soon as it exists (before TLS, if any)."""

    deadline: _Deadline

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connection: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.deadline.watch(connection)
        return connection


class _Client(_Watched):
    def __init__(self, deadline: _Deadline, host: str, port: int, **options: Any) -> None:
        self.deadline = deadline
        super().__init__(host, port, **options)


class _TlsClient(smtplib.SMTP_SSL, _Watched):
    # SMTP_SSL wraps the socket that _Watched._get_socket made, so the handshake is watched too.
    def __init__(self, deadline: _Deadline, host: str, port: int, **options: Any) -> None:
        self.deadline = deadline
        super().__init__(host, port, **options)


def _quit(client: smtplib.SMTP) -> None:
    """Say goodbye once the work is done: a reply other than 221, or a server that hangs up
    first, changes nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def _check_ascii(settings: SmtpNotifySettings) -> None:
    """NotifyConfigurationError naming the setting (never its value) that smtplib cannot send."""
    password = settings.password.get_secret_value() if settings.password is not None else None
    for name, value in (("username", settings.username), ("password", password)):
        if value is not None and not _PRINTABLE.fullmatch(value):
            raise NotifyConfigurationError(
                f"notify.smtp.{name} holds a character smtplib cannot send: only printable "
                "ASCII (letters, digits, punctuation, spaces) is supported. The value is not "
                "shown."
            )
    if settings.local_hostname is not None and not _HOST_NAME.fullmatch(settings.local_hostname):
        raise NotifyConfigurationError(
            "notify.smtp.local_hostname must be a host name in printable ASCII without spaces "
            "or line breaks, such as mail.shop.example (an internationalized one in its xn-- "
            "form)."
        )


def _tls_context(settings: SmtpNotifySettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file is not None else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise NotifyConfigurationError(
            f"Cannot read notify.smtp.ca_file {str(settings.ca_file)!r}: "
            f"{getattr(exc, 'strerror', None) or exc}."
        ) from None


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"

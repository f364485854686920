"""A tiny SMTP server on a raw socket, for what aiosmtpd cannot play.

aiosmtpd always answers ``QUIT`` with 221 and answers at once. :class:`ScriptedSmtpServer`
speaks just enough SMTP for smtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) over a real TCP
connection on ``127.0.0.1``, and can answer QUIT with another code or not at all, refuse every
recipient, wait before accepting a message, or trickle its greeting one byte at a time for ever.
Each connection is served in its own thread; accepted messages are kept in ``messages``.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from typing import Self

POLL = 0.05  # seconds between checks for stop()


class ScriptedSmtpServer:
    """An SMTP server whose replies the test chooses; use it as a context manager.

    Args:
        rcpt_reply: the reply to every ``RCPT TO``.
        quit_reply: the reply to ``QUIT``, or None to hang up without one.
        data_delay: seconds to wait before accepting each message.
        trickle: send ``2`` then ``-`` every 50 ms instead of a greeting, never a full line.
    """

    def __init__(
        self,
        *,
        rcpt_reply: str = "250 2.1.5 OK",
        quit_reply: str | None = "221 2.0.0 Bye",
        data_delay: float = 0.0,
        trickle: bool = False,
    ) -> None:
        self.rcpt_reply = rcpt_reply
        self.quit_reply = quit_reply
        self.data_delay = data_delay
        self.trickle = trickle
        self.messages: list[bytes] = []
        self.port = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None

    def __enter__(self) -> Self:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)  # accept() wakes up to see stop()
        self.port = self._listener.getsockname()[1]
        self._start(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def settings(self, **extra: object) -> dict[str, object]:
        """``notify.smtp`` settings that reach this server (plain, no login)."""
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout": 5} | extra

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(10)
            self._start(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            try:
                if self.trickle:
                    self._trickle(connection)
                else:
                    self._converse(connection, reader)
            except OSError:
                pass  # the client went away

    def _trickle(self, connection: socket.socket) -> None:
        connection.sendall(b"2")
        while not self._stopping.wait(POLL):
            connection.sendall(b"-")

    def _converse(self, connection: socket.socket, reader: io.BufferedReader) -> None:
        def reply(text: str) -> None:
            connection.sendall(text.encode() + b"\r\n")

        reply("220 scripted.test ESMTP")
        for line in reader:
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                reply("250 scripted.test")
            elif command == b"RCPT":
                reply(self.rcpt_reply)
            elif command == b"DATA":
                reply("354 End data with <CR><LF>.<CR><LF>")
                self._receive(reader)
                reply("250 2.0.0 Queued")
            elif command == b"QUIT":
                if self.quit_reply is not None:
                    reply(self.quit_reply)
                return
            else:  # MAIL, RSET, NOOP
                reply("250 2.0.0 OK")

    def _receive(self, reader: io.BufferedReader) -> None:
        lines = []
        for line in reader:
            if line == b".\r\n":
                break
            lines.append(line)
        time.sleep(self.data_delay)
        self.messages.append(b"".join(lines))

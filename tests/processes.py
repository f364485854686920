"""Starting servers as real processes in tests: free ports, readiness, a clean stop."""

import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_closed(port: int) -> bool:
    """Whether nothing accepts connections on ``port`` any more."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or takes 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx2.get(url, timeout=1)
        except httpx2.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"the server did not answer {url} within 30 s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGINT) -> None:
    """Ask the server to stop; kill it if it has not after 15 s."""
    process.send_signal(sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    command: Sequence[str],
    cwd: Path,
    port: int,
    log: Path,
    ready_path: str = "/openapi.json",
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run ``command`` (which listens on ``port``) in ``cwd``; yield its base URL; stop it."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=env
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base + ready_path, log)
        yield base
    finally:
        stop(process)
    assert port_closed(port), f"port {port} still open after the server stopped"

"""A plain route's latency and the server's peak memory while 60 logins arrive at once.

What is measured: one uvicorn server (asyncio, h11, one worker) serving an app with
``tausestack.contrib.auth`` (the ``jwt`` backend on SQLite, default settings: argon2id with
pwdlib's recommended parameters, m=64 MiB, t=3, p=4) and a plain sync route ``GET /ping`` (run
by the shared thread pool, like every ``def`` route). First ``/ping`` alone, one request after
the other, for ``--idle`` requests; then ``--logins`` logins of one account sent at once while
``/ping`` is requested until the last login has answered. It prints the p50, p99 and
max of ``/ping`` in both phases, how long the flood took, and the server's peak resident memory
(``VmHWM`` of ``/proc/PID/status``) before and after the flood. During the flood ``/ping`` is
sent every ``--interval`` (20 ms) without waiting for the previous answer (an open loop), so a
route that stalls shows in every request sent meanwhile, not in one.

Before ``auth.jwt.max_concurrent_hashes`` (every login hashed on the shared pool, up to 40 at
once) the flood took the server to about 1 GB and ``/ping`` waited behind the logins; see
bench/README.md. Nothing is asserted; results are printed.

Run: ``.venv/bin/python bench/login_flood.py`` (about 30 seconds on 2 cores; ``--help``).
"""

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import httpx2

PASSWORD = "correct horse battery"
APP = """
from pathlib import Path

from sqlmodel import SQLModel

from tausestack import Controller, Settings, create_app, get
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.database import Database

HERE = Path(__file__).parent


@Controller("/ping")
class Ping:
    @get("/")
    def ping(self) -> dict[str, bool]:
        return {"pong": True}


settings = Settings(
    config_dir=HERE,
    installed_apps=["tausestack.contrib.auth"],
    database={"url": f"sqlite:///{HERE / 'app.db'}"},
    auth={"backend": "jwt", "jwt": {"secret": "login-flood-bench-secret-of-32-bytes-and-more"}},
)
app = create_app(settings, components=[Ping])
SQLModel.metadata.create_all(
    app.container.get(Database).engine, tables=[AuthAccount.__table__, AuthToken.__table__]
)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=60, help="logins sent at once (60)")
    parser.add_argument("--idle", type=int, default=200, help="/ping requests before (200)")
    parser.add_argument(
        "--interval", type=float, default=0.02, help="seconds between pings in the flood (0.02)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "flood_app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "flood_app:app", "--port", str(port)]
        server_options = ["--no-access-log", "--log-level", "warning", "--loop", "asyncio"]
        server = subprocess.Popen([*command, *server_options, "--http", "h11"], cwd=folder)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_answering(base + "/ping/", server)
            register = {"email": "ana@example.com", "password": PASSWORD}
            answer = httpx2.post(base + "/auth/register", json=register, timeout=60)
            assert answer.status_code == 201, answer.text
            before = peak_memory(server.pid)
            idle, flood, took, statuses = asyncio.run(measure(base, options))
            after = peak_memory(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {options.logins} logins")
    print(f"logins answered: {dict(sorted(statuses.items()))}; the flood took {took:.1f} s")
    for name, latencies in (("idle", idle), ("during the flood", flood)):
        print(f"GET /ping {name:>17}: {summary(latencies)}")
    print(f"server peak memory (VmHWM): {before / 2**20:.0f} MiB before, {after / 2**20:.0f} after")
    return 0


async def measure(
    base: str, options: argparse.Namespace
) -> tuple[list[float], list[float], float, dict[int, int]]:
    limits = httpx2.Limits(max_connections=options.logins + 10)
    async with httpx2.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        idle = [await timed(client) for _ in range(options.idle)]
        form = {"username": "ana@example.com", "password": PASSWORD}
        started = time.perf_counter()
        logins = [
            asyncio.create_task(client.post("/auth/login", data=form))
            for _ in range(options.logins)
        ]
        # Open loop: a /ping every --interval whatever the answers, so a stall delays many.
        pings = []
        while not all(login.done() for login in logins):
            pings.append(asyncio.create_task(timed(client)))
            await asyncio.sleep(options.interval)
        took = time.perf_counter() - started
        flood = list(await asyncio.gather(*pings))
        statuses: dict[int, int] = {}
        for login in logins:
            status = login.result().status_code
            statuses[status] = statuses.get(status, 0) + 1
    return idle, flood, took, statuses


async def timed(client: httpx2.AsyncClient) -> float:
    started = time.perf_counter()
    answer = await client.get("/ping/")
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    return (
        f"n={len(ordered):4d}  p50 {median * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


def peak_memory(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found, "no VmHWM in /proc/PID/status (Linux only)"
    return int(found.group(1)) * 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f}s")


if __name__ == "__main__":
    sys.exit(main())

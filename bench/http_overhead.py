"""Per-request overhead of TauseStack's DI versus bare FastAPI, over real HTTP.

What is measured: requests per second and p50/p99 latency of ``GET /users/{id}`` served by
uvicorn (one worker, no access log) for four apps that do the same work - look the user up in a
dict held by the deepest object of a three-level service chain and return a Pydantic
``UserRead`` (see ``bench/http_apps/``):

  (a) bare      - FastAPI, the chain wired by hand at module level,
  (b) depends   - FastAPI, a three-level chain of ``async def`` ``Depends`` functions,
  (c) singleton - TauseStack controller over three singletons (@Service/@Repository),
  (d) request   - (c) plus one ``@Service(scope="request")`` taken as ``Inject[...]``.

How: every round starts a fresh server per variant (a subprocess on a free 127.0.0.1 port,
pinned to CPU 0 with ``taskset``), waits until each answers and warms each up with ``wrk``.
Then ``wrk`` pinned to CPU 1 measures the variants in short interleaved slices
(``wrk -t1 -c32 -d<slice>s --latency``, the variant order rotated every slice), so that the
machine's speed drifting over time hits every variant alike; only one server is loaded at a
time. The servers are stopped and their ports checked closed. The summary prints, per variant,
the median req/s, p50 and p99 over all slices of all rounds and the ratio of the median req/s
to (a)'s; as cross-checks it also prints the median of per-slice ratios to (a)'s neighbouring
slice, and the ratio of the fastest slices. Targets: (c) >= 0.97 x (a), (d) >= 0.90 x (a).
Nothing is asserted.

Run: ``.venv/bin/python bench/http_overhead.py`` (about 3.5 minutes; ``--help`` for options).
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PATH = "/users/42"

VARIANTS = {
    "a": ("bare FastAPI (module-level wiring)", "http_apps.bare:app"),
    "b": ("FastAPI, 3-level async Depends chain", "http_apps.depends:app"),
    "c": ("TauseStack, 3 singletons deep", "http_apps.ts_singleton:app"),
    "d": ("TauseStack, + 1 request-scoped Inject", "http_apps.ts_request:app"),
    "e": ("TauseStack as (c), security headers and body limit off", "http_apps.ts_unguarded:app"),
}
TARGETS = {"c": 0.97, "d": 0.90}


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str = ""  # wrk's socket-error and non-2xx lines, if any


def main() -> int:
    options = parse_arguments()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed. Install it with:  apt-get install -y wrk")
        return 1
    taskset = shutil.which("taskset")
    pinned = taskset is not None and options.pin
    pin_server = [taskset, "-c", str(options.server_cpu)] if taskset and pinned else []
    pin_wrk = [taskset, "-c", str(options.wrk_cpu)] if taskset and pinned else []
    loop, http = loop_and_http()
    print_environment(options, loop, http, wrk, pinned=pinned)

    variants = [key for key in VARIANTS if key in options.variants]
    results: dict[str, list[list[WrkResult]]] = {key: [] for key in variants}
    for round_number in range(options.rounds):
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for key in variants:
                servers[key] = start_server(key, loop, http, pin_server)
            slices = measure_round(options, servers, [*pin_wrk, wrk], round_number)
        finally:
            for server, port in servers.values():
                stop(server, port)
        for key in variants:
            results[key].append(slices[key])
            rate = statistics.median(s.requests_per_second for s in slices[key])
            errors = "; ".join(s.errors for s in slices[key] if s.errors)
            print(
                f"round {round_number + 1}/{options.rounds}  ({key}) {rate:>8,.0f} req/s "
                f"(median of {len(slices[key])} slices: "
                + " ".join(f"{s.requests_per_second:.0f}" for s in slices[key])
                + ")"
                + (f"  ERRORS: {errors}" if errors else ""),
                flush=True,
            )
    print_summary(results)
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds, fresh servers each (5)")
    parser.add_argument(
        "--slices", type=int, default=8, help="measured slices per variant per round (8)"
    )
    parser.add_argument("--slice", type=int, default=1, help="seconds per slice (1)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per server (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--variants", default="abcde", help="which variants to run (abcde)")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU for the servers (0)")
    parser.add_argument("--wrk-cpu", type=int, default=1, help="CPU for wrk (1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not use taskset")
    return parser.parse_args()


def loop_and_http() -> tuple[str, str]:
    """uvloop/httptools only when installed, and then for every variant alike."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def print_environment(
    options: argparse.Namespace, loop: str, http: str, wrk: str, *, pinned: bool
) -> None:
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    wrk_version = (version.stdout or version.stderr).split("\n")[0].split(" Copyright")[0]
    packages = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("tausestack", "fastapi", "starlette", "pydantic", "uvicorn")
    )
    placement = (
        f"servers on CPU {options.server_cpu}, wrk on CPU {options.wrk_cpu}"
        if pinned
        else "not pinned"
    )
    per_variant = options.slices * options.slice
    print(f"date:     {datetime.date.today().isoformat()}")
    print(f"cpu:      {cpu_model()} ({os.cpu_count()} cores), {placement}")
    print(f"python:   {platform.python_version()}; {packages}")
    print(f"uvicorn:  --workers 1 --loop {loop} --http {http} --no-access-log")
    print(f"wrk:      {wrk_version.strip()}; -t1 -c{options.connections} --latency")
    print(
        f"runs:     {options.rounds} rounds x {len(options.variants)} variants; per round and "
        f"variant {options.warmup}s warm-up, then {options.slices} x {options.slice}s "
        f"interleaved slices ({per_variant}s measured)"
    )
    print(f"request:  GET {PATH}")
    print()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- servers -----------------------------------------------------------------------------------


def start_server(
    key: str, loop: str, http: str, pin: list[str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        *pin,
        sys.executable,
        "-m",
        "uvicorn",
        VARIANTS[key][1],
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        loop,
        "--http",
        http,
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=BENCH_DIR)
    try:
        wait_until_answering(port, server)
    except BaseException:
        stop(server, port)
        raise
    return server, port


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}{PATH}"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f}s")


def stop(server: subprocess.Popen[bytes], port: int) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    deadline = time.monotonic() + 5
    while port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} is still open after the server stopped")
        time.sleep(0.05)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# -- load --------------------------------------------------------------------------------------


def measure_round(
    options: argparse.Namespace,
    servers: dict[str, tuple[subprocess.Popen[bytes], int]],
    wrk: list[str],
    round_number: int,
) -> dict[str, list[WrkResult]]:
    """Warm every server up, then measure them in interleaved slices."""
    keys = list(servers)

    def run_wrk(key: str, seconds: int) -> str:
        url = f"http://127.0.0.1:{servers[key][1]}{PATH}"
        command = [*wrk, "-t1", f"-c{options.connections}", f"-d{seconds}s", "--latency", url]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    if options.warmup > 0:
        for key in keys:
            run_wrk(key, options.warmup)
    slices: dict[str, list[WrkResult]] = {key: [] for key in keys}
    for number in range(options.slices):
        shift = (round_number + number) % len(keys)
        for key in keys[shift:] + keys[:shift]:
            slices[key].append(parse_wrk(run_wrk(key, options.slice)))
    return slices


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    def latency(percentile: str) -> float:
        match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {percentile}% latency in wrk output:\n{output}")
        return float(match.group(1)) * _UNITS_MS[match.group(2)]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{output}")
    errors = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Socket errors", "Non-2xx"))
    ]
    return WrkResult(float(rate.group(1)), latency("50"), latency("99"), "; ".join(errors))


# -- report ------------------------------------------------------------------------------------


def print_summary(results: dict[str, list[list[WrkResult]]]) -> None:
    """Medians over every slice of every round, and ratios to (a)."""
    flat = {key: [s for slices in rounds for s in slices] for key, rounds in results.items()}
    base = flat.get("a")
    base_rate = statistics.median(s.requests_per_second for s in base) if base else None
    print()
    print(
        f"medians over {len(next(iter(results.values())))} rounds x "
        f"{len(next(iter(results.values()))[0])} slices per variant"
    )
    header = (
        f"{'variant':<42} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'vs (a)':>7} "
        f"{'paired':>7} {'best':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for key, slices in flat.items():
        rate = statistics.median(s.requests_per_second for s in slices)
        p50 = statistics.median(s.p50_ms for s in slices)
        p99 = statistics.median(s.p99_ms for s in slices)
        ratio = paired = best = "      -"
        target = ""
        if base and base_rate:
            ratio = f"{rate / base_rate:7.3f}"
            per_slice = [
                s.requests_per_second / a.requests_per_second
                for s, a in zip(slices, base, strict=True)
            ]
            paired = f"{statistics.median(per_slice):7.3f}"
            fastest = max(s.requests_per_second for s in slices)
            best = f"{fastest / max(a.requests_per_second for a in base):7.3f}"
            if key in TARGETS:
                met = rate / base_rate >= TARGETS[key]
                target = f">= {TARGETS[key]:.2f}: {'met' if met else 'MISSED'}"
        label = f"({key}) {VARIANTS[key][0]}"
        print(
            f"{label:<42} {rate:>8,.0f} {p50:>7.2f} {p99:>7.2f} {ratio} {paired} {best}  {target}"
        )
    print()
    print("vs (a):  ratio of the median req/s (the measure the targets use);")
    print("paired:  median of (variant / (a)) over slices taken next to each other in time;")
    print("best:    fastest slice of the variant / fastest slice of (a).")


if __name__ == "__main__":
    sys.exit(main())

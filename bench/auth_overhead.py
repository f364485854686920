"""Requests per second of an authenticated route (``jwt`` backend) next to the same route without.

What is measured: ``GET /users/42`` through the TauseStack controller of ``http_overhead.py``'s
(c) (a three-level singleton chain, a Pydantic ``UserRead``), in apps of ``bench/http_apps/``
that differ only in what the route asks of the caller:

  (n) auth_none          - no auth (the baseline),
  (j) auth_jwt           - a ``CurrentUser`` parameter; ``jwt`` backend, HS256, with its
                           verified-token cache (the default),
  (k) auth_jwt_uncached  - (j) with ``auth.jwt.verified_cache: 0``: PyJWT checks the signature
                           on every request,
  (r) auth_roles         - ``roles=["reader"]`` on the route (the user holds the role), cache on;
  (s) ts_singleton       - optional (``--variants njkrs``): (n) without the auth and database
                           settings, i.e. ``http_overhead.py``'s (c).

(n), (j), (k) and (r) have the same settings (a SQLite database for the backend's accounts, an
HS256 secret), hence the same container and middleware. Before any server starts, the script
creates that database, two users (one with the role, one without) and their access tokens in a
temporary folder, and passes the folder to the apps in ``BENCH_AUTH_DIR``. wrk sends the same
``Authorization: Bearer`` header to every variant, (n) included, so the servers parse the same
bytes and only the auth work differs.

How: ``http_overhead.py``'s method (fresh servers every round, pinned to CPU 0; ``wrk`` pinned
to CPU 1 measures the variants in short interleaved, rotated slices). Before measuring, each
server must answer 200 with the right body to the token, 401 without a token or with a forged
one (auth variants), and 403 to the user without the role (r); anything else stops the run.
Then, as a cross-check without sockets, the same apps are called in-process as ASGI apps
(``asgi_overhead.py``'s loop, the header added to each scope). It prints req/s per variant and
the ratios to (n). Target: (j) >= 0.85 x (n) over HTTP. Nothing is asserted.

Run: ``.venv/bin/python bench/auth_overhead.py`` (about 2.5 minutes; ``--help`` for options).
``--profile j`` runs cProfile over in-process requests of one variant instead.
"""

import argparse
import asyncio
import cProfile
import http.client
import importlib
import importlib.metadata
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# bench/ is on sys.path when a script here runs.
from asgi_overhead import call as asgi_call
from asgi_overhead import measure as asgi_measure
from http_apps.auth_settings import DATABASE_FILE, DIR_VARIABLE, ROLE, SECRET_FILE, auth_settings
from http_overhead import (
    PATH,
    WrkResult,
    free_port,
    loop_and_http,
    measure_round,
    print_environment,
    stop,
)

import tausestack

BENCH_DIR = Path(__file__).resolve().parent
#: key: (label, module in http_apps/, whether the route needs a token)
VARIANTS = {
    "n": ("TauseStack route, no auth", "auth_none", False),
    "s": ("(n) without auth/database settings", "ts_singleton", False),
    "j": ("+ CurrentUser, jwt HS256, cache on", "auth_jwt", True),
    "k": ("+ CurrentUser, jwt HS256, cache off", "auth_jwt_uncached", True),
    "r": ('+ roles=["reader"], jwt HS256, cache on', "auth_roles", True),
}
TARGETS = {"j": 0.85}
BASE = "n"
EXPECTED_BODY = b'{"id":42,"name":"user-42"}'
PASSWORD = "bench-password-1234"
Server = tuple[subprocess.Popen[bytes], int]


def main() -> int:
    options = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="tausestack-auth-bench-") as folder:
        tokens = prepare(Path(folder))
        os.environ[DIR_VARIABLE] = folder  # read by the apps, in this process and the servers
        if options.profile:
            return profile(options.profile, tokens["reader"], options.profile_requests)
        failed = False
        if options.rounds > 0:
            failed = run_http(options, tokens)
        if options.batches > 0:
            run_asgi(options, tokens["reader"])
    return 1 if failed else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds, fresh servers each (4)")
    parser.add_argument(
        "--slices", type=int, default=6, help="measured slices per variant per round (6)"
    )
    parser.add_argument("--slice", type=int, default=1, help="seconds per slice (1)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per server (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--variants", default="njkr", help="which variants to run (njkr)")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU for the servers (0)")
    parser.add_argument("--wrk-cpu", type=int, default=1, help="CPU for wrk (1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin CPUs")
    parser.add_argument(
        "--batches", type=int, default=10, help="in-process ASGI batches per variant; 0 skips (10)"
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per in-process batch (2000)"
    )
    parser.add_argument(
        "--profile",
        choices=list(VARIANTS),
        help="only profile one variant in-process with cProfile (no HTTP, no ASGI pass)",
    )
    parser.add_argument(
        "--profile-requests", type=int, default=20000, help="requests under --profile (20000)"
    )
    options = parser.parse_args()
    options.variants = "".join(key for key in VARIANTS if key in options.variants)
    if BASE not in options.variants:
        parser.error(f"--variants must include the baseline ({BASE})")
    return options


# -- preparation -------------------------------------------------------------------------------


def prepare(folder: Path) -> dict[str, str]:
    """The database, the users and their tokens, made before any app starts."""
    from sqlmodel import SQLModel

    from tausestack.contrib.auth.models import AuthAccount, AuthToken
    from tausestack.sdk.auth._providers import auth_backend

    (folder / SECRET_FILE).write_text(secrets.token_urlsafe(48))
    backend: Any = auth_backend(auth_settings(folder))
    engine = backend.database.engine
    tables = [AuthAccount.__table__, AuthToken.__table__]  # type: ignore[attr-defined]
    SQLModel.metadata.create_all(engine, tables=tables)
    tokens: dict[str, str] = {}
    for name, roles in (("reader", [ROLE]), ("norole", [])):
        backend.create_user(f"{name}@bench.example", PASSWORD, roles=roles)
        tokens[name] = backend.login(f"{name}@bench.example", PASSWORD).access_token
    engine.dispose()
    if not (folder / DATABASE_FILE).is_file():
        raise RuntimeError(f"the backend did not write {folder / DATABASE_FILE}")
    return tokens


# -- HTTP --------------------------------------------------------------------------------------


def run_http(options: argparse.Namespace, tokens: dict[str, str]) -> bool:
    """The wrk pass; True when wrk saw errors or non-2xx answers."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed. Install it with:  apt-get install -y wrk")
        return True
    taskset = shutil.which("taskset") if options.pin else None
    pin_server = [taskset, "-c", str(options.server_cpu)] if taskset else []
    pin_wrk = [taskset, "-c", str(options.wrk_cpu)] if taskset else []
    loop, http = loop_and_http()
    print_environment(options, loop, http, wrk, pinned=taskset is not None)
    token = tokens["reader"]
    print(
        f"auth:     jwt backend, HS256 (PyJWT {importlib.metadata.version('pyjwt')}); every "
        f"variant gets 'Authorization: Bearer <{len(token)}-byte token>'"
    )
    print(f"code:     tausestack from {Path(tausestack.__file__).parent}")
    print()
    load = [*pin_wrk, wrk, "-H", f"Authorization: Bearer {token}"]
    results: dict[str, list[WrkResult]] = {key: [] for key in options.variants}
    errors = False
    for round_number in range(options.rounds):
        servers: dict[str, Server] = {}
        try:
            for key in options.variants:
                servers[key] = serve(key, loop, http, pin_server, tokens)
            slices = measure_round(options, servers, load, round_number)
        finally:
            for server in servers.values():
                stop(*server)
        for key, measured in slices.items():
            results[key] += measured
            problems = "; ".join(s.errors for s in measured if s.errors)
            errors = errors or bool(problems)
            print(
                f"round {round_number + 1}/{options.rounds}  ({key}) "
                f"{statistics.median(s.requests_per_second for s in measured):>8,.0f} req/s  "
                + " ".join(f"{s.requests_per_second:.0f}" for s in measured)
                + (f"  ERRORS: {problems}" if problems else ""),
                flush=True,
            )
    rates = {key: [s.requests_per_second for s in measured] for key, measured in results.items()}
    print()
    print(f"HTTP: medians over {options.rounds} rounds x {options.slices} slices per variant")
    report(
        rates,
        "req/s",
        lambda rate: f"{rate:,.0f}",
        extra={
            "p50 ms": [f"{statistics.median(s.p50_ms for s in results[k]):.2f}" for k in rates],
            "p99 ms": [f"{statistics.median(s.p99_ms for s in results[k]):.2f}" for k in rates],
        },
        targets=TARGETS,
    )
    if errors:
        print("wrk reported socket errors or non-2xx answers (see ERRORS above).")
    return errors


def serve(key: str, loop: str, http: str, pin: list[str], tokens: dict[str, str]) -> Server:
    """Start one variant's uvicorn and check its answers (it inherits ``BENCH_AUTH_DIR``)."""
    port = free_port()
    module = f"http_apps.{VARIANTS[key][1]}:app"
    flags = ["--workers", "1", "--loop", loop, "--http", http, "--no-access-log"]
    command = [*pin, sys.executable, "-m", "uvicorn", module, "--app-dir", str(BENCH_DIR)]
    command += ["--host", "127.0.0.1", "--port", str(port), *flags, "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=BENCH_DIR)
    try:
        check_answers(key, port, server, tokens)
    except BaseException:
        stop(server, port)
        raise
    return server, port


def check_answers(
    key: str, port: int, server: subprocess.Popen[bytes], tokens: dict[str, str]
) -> None:
    """Wait for the server, then make sure auth is enforced as the variant says."""
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"({key}) exited with code {server.returncode} before answering")
        try:
            status, body = fetch(port, tokens["reader"])
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"({key}) did not answer on port {port} within 30s") from None
            time.sleep(0.05)
    checks = [("the token", (status, body), 200)]
    forged = tokens["reader"][:-4] + ("AAAA" if not tokens["reader"].endswith("AAAA") else "BBBB")
    authenticated = VARIANTS[key][2]
    checks.append(("no token", fetch(port, None), 401 if authenticated else 200))
    checks.append(("a forged token", fetch(port, forged), 401 if authenticated else 200))
    checks.append(
        ("a user without the role", fetch(port, tokens["norole"]), 403 if key == "r" else 200)
    )
    for what, (got, content), expected in checks:
        if got != expected or (expected == 200 and content != EXPECTED_BODY):
            raise RuntimeError(
                f"({key}) GET {PATH} with {what} answered {got} {content[:200]!r}; "
                f"expected {expected}" + (f" {EXPECTED_BODY!r}" if expected == 200 else "")
            )


def fetch(port: int, token: str | None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- in-process ASGI ---------------------------------------------------------------------------


def load_apps(keys: str, token: str) -> dict[str, Any]:
    """Each variant's app, wrapped to add the bearer header to every scope."""
    header = (b"authorization", f"Bearer {token}".encode())

    def with_token(app: Any) -> Any:
        async def authorized(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope["headers"].append(header)
            await app(scope, receive, send)

        return authorized

    return {
        key: with_token(importlib.import_module(f"http_apps.{VARIANTS[key][1]}").app)
        for key in keys
    }


def run_asgi(options: argparse.Namespace, token: str) -> None:
    if options.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {options.server_cpu})
    apps = load_apps(options.variants, token)
    print()
    print(
        f"in-process ASGI: {options.batches} batches x {options.requests} requests per variant, "
        "interleaved (no server, no sockets)"
    )
    timings = asyncio.run(asgi_measure(apps, options.batches, options.requests))
    report(
        {key: [1e6 / us for us in values] for key, values in timings.items()},
        "req/s",
        lambda rate: f"{rate:,.0f}",
        extra={"us/req": [f"{statistics.median(values):.1f}" for values in timings.values()]},
        targets={},
    )


def profile(key: str, token: str, requests: int) -> int:
    """cProfile over ``requests`` in-process requests of one variant."""
    app = load_apps(key, token)[key]

    async def run(count: int) -> None:
        for _ in range(count):
            await asgi_call(app)

    asyncio.run(run(500))
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(asyncio.run, run(requests))
    elapsed = (time.perf_counter() - start) / requests * 1e6
    print(f"({key}) {VARIANTS[key][0]}: {requests} requests, {elapsed:.1f} us/req under cProfile")
    stats = pstats.Stats(profiler)
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(30)
    return 0


# -- report ------------------------------------------------------------------------------------


def paired(values: list[float], base: list[float]) -> str:
    """The median ratio of measurements taken next to each other (a stalled slice of the
    baseline, at 0 req/s, is left out rather than divided by)."""
    ratios = [value / other for value, other in zip(values, base, strict=True) if other > 0]
    return f"{statistics.median(ratios):.3f}" if ratios else "n/a"


def report(
    rates: dict[str, list[float]],
    unit: str,
    show: Callable[[float], str],
    extra: dict[str, Sequence[str]],
    targets: dict[str, float],
) -> None:
    """Median rate per variant, its ratio to (n)'s, the median of neighbouring ratios (slices
    or batches taken next to each other in time) and the ratio of the best ones."""
    base = rates[BASE]
    columns = [unit, *extra, f"vs ({BASE})", "paired", "best"]
    header = f"{'variant':<44}" + "".join(f"{name:>9}" for name in columns) + "  target"
    print(header)
    print("-" * len(header))
    for index, (key, values) in enumerate(rates.items()):
        ratio = statistics.median(values) / statistics.median(base)
        cells = [
            show(statistics.median(values)),
            *(column[index] for column in extra.values()),
            f"{ratio:.3f}",
            paired(values, base),
            f"{max(values) / max(base):.3f}",
        ]
        target = ""
        if key in targets:
            target = f">= {targets[key]:.2f}: {'met' if ratio >= targets[key] else 'MISSED'}"
        label = f"({key}) {VARIANTS[key][0]}"
        print(f"{label:<44}" + "".join(f"{cell:>9}" for cell in cells) + f"  {target}")
    print()
    print(f"vs ({BASE}): ratio of the medians; paired: median of neighbouring ratios; best: ratio")
    print(f"of the fastest slice or batch of each. The target is judged on vs ({BASE}) over HTTP.")


if __name__ == "__main__":
    sys.exit(main())

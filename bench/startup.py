"""Cold-start cost of a large TauseStack application versus bare FastAPI with the same routes.

What is measured: an application of 100 installed apps with 10 GET routes each (1,000 routes),
generated into a temporary folder, built three ways:

  fastapi          - bare FastAPI: every app's module defines its handlers and a module-level
                     service object; the harness mounts them with ``app.add_api_route`` (the
                     baseline),
  fastapi-routers  - the same handlers, one ``APIRouter`` per app joined with ``include_router``
                     (the usual FastAPI layout; shown for information),
  tausestack       - each app is a package with ``models.py``, ``services.py`` (one ``@Service``)
                     and ``controllers.py`` (one ``@Controller`` with 10 ``@get`` methods that
                     use the service); ``create_app(Settings(installed_apps=[...100 apps]))``.

Every handler has the same shape: ``item_id: int`` path parameter, returns a Pydantic model
built by the app's service.

How: each measurement is a fresh ``python`` subprocess (pinned to CPU 0 with ``taskset`` when
available), repeated and interleaved (variant order rotated each repeat); one discarded warm-up
run per variant first, so bytecode caches (kept in a private ``PYTHONPYCACHEPREFIX`` folder
inside the temporary folder) and the OS file cache are warm for all. Inside the
child, with ``time.perf_counter``:

  framework import  - ``import fastapi`` or ``import tausestack`` (which imports FastAPI too),
  apps import       - importing the 100 generated app packages' modules (for TauseStack the
                      harness imports them before ``create_app()``, so discovery finds them
                      loaded; the sum of the columns is what ``create_app()`` alone would take),
  build             - bare: ``FastAPI()`` + 1,000 ``add_api_route`` (or 100 ``include_router``);
                      TauseStack: ``create_app()`` (settings, discovery, container, mounting,
                      route checks),
  first response    - one in-process ASGI ``GET`` (direct ASGI call under ``asyncio.run``) to a
                      route of app #50; includes Starlette building the middleware stack,
  process wall      - measured by the parent: from spawning the interpreter to its exit.

The 1.3x target is checked on "apps import + build + first response" (everything between the
framework being importable and the first answer). Nothing is asserted; results are printed.

Run: ``.venv/bin/python bench/startup.py`` (about 40 seconds; ``--help`` for options).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _asgi import get_scope  # bench/ is on sys.path when a script here runs

VARIANTS = ("fastapi", "fastapi-routers", "tausestack")
BASELINE = "fastapi"
TARGET = 1.3
PHASES = ("framework_import", "apps_import", "build", "first_response")
PHASE_LABELS = {
    "framework_import": "framework import",
    "apps_import": "apps import",
    "build": "build",
    "first_response": "first response",
    "startup": "apps+build+1st",
    "wall": "process wall",
}


def main() -> int:
    options = parse_arguments()
    if options.child:
        print(json.dumps(child(options.child, Path(options.root), options.apps, options.routes)))
        return 0
    return parent(options)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=100, help="installed apps (100)")
    parser.add_argument("--routes", type=int, default=10, help="routes per app (10)")
    parser.add_argument("--repeats", type=int, default=9, help="runs per variant (9)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the runs to (0)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not use taskset")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    return parser.parse_args()


# -- the generated apps ------------------------------------------------------------------------


def generate(root: Path, apps: int, routes: int) -> None:
    """Write ``ts_apps`` (TauseStack) and ``fa_apps`` (bare FastAPI) packages under ``root``."""
    for package in ("ts_apps", "fa_apps"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    for index in range(apps):
        name = f"App{index:03d}"
        prefix = f"/app_{index:03d}"
        models = (
            "from pydantic import BaseModel\n\n\n"
            f"class {name}Item(BaseModel):\n"
            "    id: int\n"
            "    name: str\n"
            "    route: int\n"
        )
        service_body = (
            "    def __init__(self) -> None:\n"
            "        self.names = {i: f'item-{i}' for i in range(100)}\n\n"
            f"    def get(self, item_id: int, route: int) -> {name}Item:\n"
            f"        return {name}Item(id=item_id, name=self.names.get(item_id, '?'), "
            "route=route)\n"
        )
        ts = root / "ts_apps" / f"app_{index:03d}"
        ts.mkdir(exist_ok=True)
        (ts / "__init__.py").write_text("")
        (ts / "models.py").write_text(models)
        (ts / "services.py").write_text(
            f"from tausestack import Service\n\nfrom .models import {name}Item\n\n\n"
            f"@Service\nclass {name}Service:\n{service_body}"
        )
        methods = "".join(
            f'\n    @get("/items{route}/{{item_id}}")\n'
            f"    async def item{route}(self, item_id: int) -> {name}Item:\n"
            f"        return self.service.get(item_id, {route})\n"
            for route in range(routes)
        )
        (ts / "controllers.py").write_text(
            "from tausestack import Controller, get\n\n"
            f"from .models import {name}Item\nfrom .services import {name}Service\n\n\n"
            f'@Controller("{prefix}")\nclass {name}Controller:\n'
            f"    def __init__(self, service: {name}Service) -> None:\n"
            "        self.service = service\n" + methods
        )
        fa = root / "fa_apps" / f"app_{index:03d}"
        fa.mkdir(exist_ok=True)
        (fa / "__init__.py").write_text("")
        (fa / "models.py").write_text(models)
        (fa / "services.py").write_text(
            f"from .models import {name}Item\n\n\nclass {name}Service:\n{service_body}"
        )
        handlers = "".join(
            f"\n\nasync def item{route}(item_id: int) -> {name}Item:\n"
            f"    return service.get(item_id, {route})\n"
            for route in range(routes)
        )
        table = ", ".join(
            f'("{prefix}/items{route}/{{item_id}}", item{route})' for route in range(routes)
        )
        (fa / "routes.py").write_text(
            f"from .models import {name}Item\nfrom .services import {name}Service\n\n"
            f"service = {name}Service()\n{handlers}\n\nROUTES = [{table}]\n"
        )


# -- one measurement, in a fresh interpreter ---------------------------------------------------


def child(variant: str, root: Path, apps: int, routes: int) -> dict[str, object]:
    import asyncio
    import importlib

    sys.path.insert(0, str(root))
    timings: dict[str, object] = {}
    names = [f"app_{index:03d}" for index in range(apps)]

    start = time.perf_counter()
    if variant == "tausestack":
        import tausestack
    else:
        import fastapi
    timings["framework_import"] = time.perf_counter() - start

    start = time.perf_counter()
    if variant == "tausestack":
        modules = [importlib.import_module(f"ts_apps.{name}.controllers") for name in names]
    else:
        modules = [importlib.import_module(f"fa_apps.{name}.routes") for name in names]
    timings["apps_import"] = time.perf_counter() - start

    start = time.perf_counter()
    if variant == "tausestack":
        settings = tausestack.Settings(
            installed_apps=[f"ts_apps.{name}" for name in names], config_dir=root
        )
        app = tausestack.create_app(settings)
    elif variant == "fastapi":
        app = fastapi.FastAPI()
        for module in modules:
            for path, handler in module.ROUTES:
                app.add_api_route(path, handler, methods=["GET"])
    else:
        app = fastapi.FastAPI()
        for module in modules:
            router = fastapi.APIRouter()
            for path, handler in module.ROUTES:
                router.add_api_route(path, handler, methods=["GET"])
            app.include_router(router)
    timings["build"] = time.perf_counter() - start

    target = f"/app_{apps // 2:03d}/items{routes // 2}/7"
    start = time.perf_counter()
    status, body = asyncio.run(asgi_get(app, target))
    timings["first_response"] = time.perf_counter() - start
    timings["status"] = status
    timings["body"] = body.decode()
    timings["routes"] = len(app.routes)
    return timings


async def asgi_get(app: object, path: str) -> tuple[int, bytes]:
    scope = get_scope(path)
    messages: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        messages.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")  # type: ignore[misc]
    return int(status), body  # type: ignore[call-overload]


# -- the parent: generate, run, summarize ------------------------------------------------------


def parent(options: argparse.Namespace) -> int:
    pin = ["taskset", "-c", str(options.cpu)] if options.pin and shutil.which("taskset") else []
    if options.keep:
        root = Path(options.keep).resolve()
        root.mkdir(parents=True, exist_ok=True)
        return run_all(root, options, pin)
    with tempfile.TemporaryDirectory(prefix="tausestack-startup-") as folder:
        return run_all(Path(folder), options, pin)


def run_all(root: Path, options: argparse.Namespace, pin: list[str]) -> int:
    generate(root, options.apps, options.routes)
    total_routes = options.apps * options.routes
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; generated into {root}")
    print(
        f"{options.apps} apps x {options.routes} routes = {total_routes} routes; "
        f"{options.repeats} runs per variant after 1 warm-up run each, interleaved, "
        + (f"pinned to CPU {options.cpu}" if pin else "not pinned")
    )
    print()
    command = [*pin, sys.executable, str(Path(__file__).resolve())]
    # Bytecode is cached in a private folder, so every variant starts with warm .pyc files
    # even where PYTHONDONTWRITEBYTECODE is set, and nothing is written next to the sources.
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(root / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    common = ["--root", str(root), "--apps", str(options.apps), "--routes", str(options.routes)]

    def run(variant: str) -> dict[str, float]:
        start = time.perf_counter()
        completed = subprocess.run(
            [*command, "--child", variant, *common],
            capture_output=True,
            text=True,
            check=False,
            cwd=root,
            env=env,
        )
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise RuntimeError(f"{variant} run failed:\n{completed.stderr}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        if result["status"] != 200:
            raise RuntimeError(f"{variant}: first response {result['status']} {result['body']}")
        timings = {phase: float(result[phase]) for phase in PHASES}
        timings["startup"] = timings["apps_import"] + timings["build"] + timings["first_response"]
        timings["wall"] = wall
        return timings

    for variant in VARIANTS:  # warm-up: bytecode caches, OS file cache
        run(variant)
    results: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    for repeat in range(options.repeats):
        shift = repeat % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            results[variant].append(run(variant))
        print(f"repeat {repeat + 1}/{options.repeats} done", flush=True)
    print_summary(results)
    return 0


def print_summary(results: dict[str, list[dict[str, float]]]) -> None:
    columns = (*PHASES, "startup", "wall")
    medians = {
        variant: {column: statistics.median(run[column] for run in runs) for column in columns}
        for variant, runs in results.items()
    }
    print()
    print(f"medians in milliseconds over {len(results[BASELINE])} runs; ratio to {BASELINE}")
    header = f"{'variant':<16}" + "".join(f"{PHASE_LABELS[c]:>18}" for c in columns)
    print(header)
    print("-" * len(header))
    base = medians[BASELINE]
    for variant, values in medians.items():
        cells = "".join(f"{values[c] * 1000:>9.1f} ({values[c] / base[c]:4.2f}x)" for c in columns)
        print(f"{variant:<16}{cells}")
    ratio = medians["tausestack"]["startup"] / base["startup"]
    verdict = "met" if ratio <= TARGET else "MISSED"
    print()
    print(
        f"target: tausestack apps import + create_app() + first response within {TARGET}x of "
        f"bare FastAPI: {ratio:.2f}x -> {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())

"""Start-up time of the ``tausestack`` command line next to a bare Typer app and the interpreter.

What is measured: the wall time of one fresh process, from spawning it to its exit, for

  python -c pass       - the interpreter alone (the floor every command pays),
  typer --help         - a bare Typer app with one command (``typer.Typer()``, completion on,
                         Rich help), written to a temporary file: the baseline,
  typer hello          - the same app running its command (Typer converts the parameters with
                         pydantic once a command runs, which ``--help`` does not need),
  tausestack --help    - the console script next to this interpreter,
  tausestack version   - the same running a command; it prints FastAPI's version without
                         importing FastAPI, so it compares with ``typer hello``.

How: every run is a fresh process (pinned to one CPU with ``taskset`` when available) with its
output sent to a pipe, as when a shell captures it; one discarded warm-up run per variant
first, so bytecode caches and the OS file cache are warm for all; then the variants run
interleaved, their order rotated on each repeat. The summary gives the median and the fastest
run of each, the ratio of medians to the bare Typer app, and the time above the interpreter's.

The target is ``tausestack --help`` within 1.5x of the bare Typer app. Nothing is asserted;
results are printed.

Run: ``.venv/bin/python bench/cli_startup.py`` (about 20 seconds; ``--help`` for options).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BASELINE = "typer --help"
TARGET = 1.5
BARE_TYPER = textwrap.dedent(
    """
    import typer

    app = typer.Typer()


    @app.command()
    def hello(name: str = "world") -> None:
        \"\"\"Say hello.\"\"\"
        print(f"Hello {name}")


    if __name__ == "__main__":
        app()
    """
)


def main() -> int:
    options = parse_arguments()
    pin = ["taskset", "-c", str(options.cpu)] if options.pin and shutil.which("taskset") else []
    script = Path(sys.executable).parent / "tausestack"
    tausestack = [str(script)] if script.is_file() else [sys.executable, "-m", "tausestack"]
    with tempfile.TemporaryDirectory(prefix="tausestack-cli-startup-") as folder:
        bare = Path(folder) / "bare_typer.py"
        bare.write_text(BARE_TYPER, encoding="utf-8")
        variants = {
            "python -c pass": [sys.executable, "-c", "pass"],
            BASELINE: [sys.executable, str(bare), "--help"],
            "typer hello": [sys.executable, str(bare)],
            "tausestack --help": [*tausestack, "--help"],
            "tausestack version": [*tausestack, "version"],
        }
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {' '.join(tausestack)}")
        print(
            f"{options.repeats} runs per variant after 1 warm-up run each, interleaved, "
            + (f"pinned to CPU {options.cpu}" if pin else "not pinned")
        )
        results = measure(variants, pin, options.repeats, Path(folder))
    print_summary(results)
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=25, help="runs per variant (25)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the runs to (0)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not use taskset")
    return parser.parse_args()


def measure(
    variants: dict[str, list[str]], pin: list[str], repeats: int, cwd: Path
) -> dict[str, list[float]]:
    def run(name: str) -> float:
        start = time.perf_counter()
        completed = subprocess.run(
            [*pin, *variants[name]], capture_output=True, cwd=cwd, check=False
        )
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise RuntimeError(f"{name} exited with {completed.returncode}:\n{completed.stderr}")
        return wall

    names = list(variants)
    for name in names:  # warm-up: bytecode caches, OS file cache
        run(name)
    results: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(run(name))
    return results


def print_summary(results: dict[str, list[float]]) -> None:
    medians = {name: statistics.median(runs) for name, runs in results.items()}
    floor = medians["python -c pass"]
    base = medians[BASELINE]
    print()
    print(f"wall time in milliseconds; ratios of medians to `{BASELINE}`")
    header = (
        f"{'variant':<20}{'median':>9}{'fastest':>9}{'vs typer':>10}"
        f"{'above python':>14}{'vs typer':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        above = medians[name] - floor
        print(
            f"{name:<20}{medians[name] * 1000:>9.1f}{min(runs) * 1000:>9.1f}"
            f"{medians[name] / base:>9.2f}x{above * 1000:>14.1f}{above / (base - floor):>9.2f}x"
        )
    ratio = medians["tausestack --help"] / base
    verdict = "met" if ratio <= TARGET else "MISSED"
    print()
    print(
        f"target: `tausestack --help` within {TARGET}x of a bare Typer app: {ratio:.2f}x -> "
        f"{verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())

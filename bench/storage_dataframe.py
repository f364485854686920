"""DataFrame put/get on local storage versus raw ``pyarrow.parquet`` write/read, in one run.

What is measured: storing and loading a 1,000,000-row pandas DataFrame (an int, a float, a
string and a timestamp column) through ``storage.dataframe.put`` / ``get`` on the ``local``
backend, next to what code written by hand does with pyarrow:
``pq.write_table(pa.Table.from_pandas(frame), path, compression="snappy")`` and
``pq.read_table(path).to_pandas()``. Both sides use the same compression (snappy, the default),
write a new file into the same temporary folder (both files are removed after each round,
untimed) and read back what they wrote; the frames read back are
compared with the original after each round.

The storage side also validates the key, writes to a temporary file and renames it over the
target (atomic replace), so the ratio is the price of that.

How: one warm-up round, then ROUNDS rounds; in each round both sides put then get, the side
that goes first alternating between rounds. It prints, per operation, the median seconds of
each side and storage/raw as a throughput ratio (raw seconds / storage seconds; 1.0 = as fast
as raw pyarrow; the target is at least 0.95). Nothing is asserted.

Run: ``.venv/bin/python bench/storage_dataframe.py`` (about a minute; ``--rows``, ``--rounds``).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy
import pandas
import pyarrow
import pyarrow.parquet as parquet
from pandas.testing import assert_frame_equal

from tausestack.sdk.settings import StorageSettings
from tausestack.sdk.storage import LocalStorage, Storage

TARGET = 0.95


def make_frame(rows: int) -> pandas.DataFrame:
    generator = numpy.random.default_rng(7)
    return pandas.DataFrame(
        {
            "id": numpy.arange(rows, dtype="int64"),
            "amount": generator.random(rows) * 1000,
            "region": pandas.Series(generator.integers(0, 50, rows)).map(lambda n: f"region-{n}"),
            "at": pandas.Timestamp("2026-01-01")
            + pandas.to_timedelta(generator.integers(0, 10**6, rows), unit="s"),
        }
    )


def timed(action: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--rows", type=int, default=1_000_000)
    options.add_argument("--rounds", type=int, default=9)
    arguments = options.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    frame = make_frame(arguments.rows)
    with tempfile.TemporaryDirectory(prefix="tausestack-bench-") as folder:
        root = Path(folder)
        storage = Storage.over(LocalStorage(root / "storage"), StorageSettings())
        raw_path = root / "raw.parquet"

        def raw_put() -> None:
            parquet.write_table(pyarrow.Table.from_pandas(frame), raw_path, compression="snappy")

        def raw_get() -> pandas.DataFrame:
            return parquet.read_table(raw_path).to_pandas()

        def storage_put() -> None:
            storage.dataframe.put("bench/frame", frame)

        def storage_get() -> pandas.DataFrame | None:
            return storage.dataframe.get("bench/frame")

        sides = {
            "storage": {"put": storage_put, "get": storage_get},
            "raw": {"put": raw_put, "get": raw_get},
        }
        times: dict[tuple[str, str], list[float]] = {
            (side, op): [] for side in sides for op in ("put", "get")
        }
        for round_number in range(arguments.rounds + 1):
            order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
            for side in order:
                for op in ("put", "get"):
                    seconds, result = timed(sides[side][op])
                    if op == "get":
                        assert_frame_equal(result, frame)  # type: ignore[arg-type]
                    if round_number > 0:  # round 0 warms up
                        times[(side, op)].append(seconds)
            size = (root / "storage/bench/frame").stat().st_size
            # Each put creates a new file on both sides: replacing a 20 MB file (truncating it
            # in place, or renaming over it) frees its blocks, a cost of its own left out here.
            storage.dataframe.delete("bench/frame")
            raw_path.unlink()

    print(
        f"DataFrame of {arguments.rows:,} rows ({size / 1e6:.1f} MB as snappy Parquet), "
        f"{arguments.rounds} rounds, Python {sys.version.split()[0]}, pandas {pandas.__version__}, "
        f"pyarrow {pyarrow.__version__}"
    )
    print(f"{'op':<5} {'storage s':>10} {'raw s':>10} {'storage/raw':>12}")
    for op in ("put", "get"):
        mine = statistics.median(times[("storage", op)])
        raw = statistics.median(times[("raw", op)])
        ratio = raw / mine
        verdict = "ok" if ratio >= TARGET else f"below {TARGET}"
        print(f"{op:<5} {mine:>10.3f} {raw:>10.3f} {ratio:>12.3f}  {verdict}")


if __name__ == "__main__":
    main()

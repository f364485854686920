"""Repository CRUD versus the same operations written with plain SQLAlchemy sessions.

What is measured: the throughput of ``BaseRepository`` operations, sync and async, against the
same operations written by hand with SQLModel/SQLAlchemy sessions, on SQLite (a file in a
temporary folder) and, when its binaries are installed, on a real PostgreSQL server (a throwaway
cluster started by ``PostgresServer`` from ``tests/services.py``, with ``fsync=off``). Each side
has its own table with the same columns (``id`` primary key, unique ``name``, indexed ``age``)
and the same rows. By default both sides use the app's engines (``Database.engine`` and
``Database.async_engine``), so pool, driver and engine options are the same and the difference
is the repository layer; ``--plain-engine own`` gives the plain side its own engines with
SQLAlchemy's defaults instead.

Each side runs the same sequence on the same data, N operations of each kind:

  create  - insert N rows one by one (a new model instance each), the row read back,
  get     - read each row by primary key,
  list    - N queries ``age >= a`` ordered by ``age`` descending, at most 20 rows each,
  update  - set ``age`` of each row (read it, change it, flush, read it back),
  count   - N queries ``count(*) WHERE age >= a``,
  delete  - delete each row (read it, delete it),

in four modes:

  sync      one unit of work per operation, as outside a request: ``repository.create(row)``
            versus ``with Session(engine, expire_on_commit=False) as s: ...`` (writes commit),
  async     the same with ``await repository.acreate(row)`` versus ``AsyncSession``,
  sync-tx   K operations per transaction, as inside a request: ``with database.transaction():``
            around K repository calls versus ``with Session(...) as s, s.begin():`` around the
            same K operations on ``s``,
  async-tx  the same with ``async with``.

The plain side sends the same SQL statements as the repository (create is ``add``, ``flush``,
``refresh``, ``commit``), with one exception: a read outside a transaction just closes its
session (the driver rolls back), as code written by hand does, while the repository commits it.
So the ratio is the repository's own cost. The results of both sides (rows found, listed,
counted, updated, deleted) are compared after every round.

How: one process (pinned to CPU 0; the PostgreSQL server to CPU 1) runs one small warm-up round,
then rounds. Within a round the two sides are interleaved finely: every operation kind runs in
slices of K operations (one transaction in the tx modes), repository and plain side by side, the
side that goes first alternating from slice to slice. It prints, per operation and mode, the
median operations per second of each side over the rounds; repo/plain, the median over all
slices of the ratio between the two sides' back-to-back slices (the target is judged on it);
and, as a cross-check, the ratio of the two medians. Nothing is asserted.

Run: ``.venv/bin/python bench/repository_crud.py`` (about 80 seconds; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
import sqlmodel
from sqlalchemy import create_engine, func
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Field, Session, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

import tausestack
from tausestack import Repository, Settings, create_app
from tausestack.sdk.database import BaseRepository, Database

REPO_ROOT = Path(__file__).resolve().parent.parent
OPS = ("create", "get", "list", "update", "count", "delete")
WRITES = {"create", "update", "delete"}
MODES = ("sync", "async", "sync-tx", "async-tx")
SIDES = ("repository", "plain")
LIST_LIMIT = 20
NEW_AGE = 99
TARGET = 0.9


class ItemFields(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    age: int = Field(index=True)


class RepoItem(ItemFields, table=True):
    """The repository side's table."""

    __tablename__ = "bench_repository_item"


class PlainItem(ItemFields, table=True):
    """The plain side's table: the same columns, the same rows."""

    __tablename__ = "bench_plain_item"


@Repository
class ItemRepository(BaseRepository[RepoItem]):
    """The repository under test: nothing added to BaseRepository."""


@dataclass(frozen=True)
class Workload:
    """The same data for both sides: rows to create, thresholds for list and count."""

    rows: list[tuple[str, int]]
    thresholds: list[int]
    chunk: int

    @classmethod
    def make(cls, n: int, chunk: int) -> Workload:
        rows = [(f"user{i:06d}", 18 + (i * 37) % 70) for i in range(n)]
        thresholds = [18 + (i * 11) % 70 for i in range(n)]
        return cls(rows, thresholds, chunk)

    def slices(self, n: int) -> list[slice]:
        return [slice(start, start + self.chunk) for start in range(0, n, self.chunk)]


Op = Callable[[Any, Any], Any]  # (unit-of-work session or None, argument) -> result


# -- the repository side ---------------------------------------------------------------------------
# It ignores the session argument: the repository finds its session itself (the enclosing
# database.transaction(), or a short session of its own).


def repository_ops(repo: ItemRepository) -> dict[str, Op]:
    return {
        "create": lambda _s, row: repo.create(RepoItem(name=row[0], age=row[1])),
        "get": lambda _s, ident: repo.get(ident),
        "list": lambda _s, a: repo.list(age__gte=a, order_by="-age", limit=LIST_LIMIT),
        "update": lambda _s, ident: repo.update(ident, {"age": NEW_AGE}),
        "count": lambda _s, a: repo.count(age__gte=a),
        "delete": lambda _s, ident: repo.delete(ident),
    }


def repository_async_ops(repo: ItemRepository) -> dict[str, Op]:
    return {
        "create": lambda _s, row: repo.acreate(RepoItem(name=row[0], age=row[1])),
        "get": lambda _s, ident: repo.aget(ident),
        "list": lambda _s, a: repo.alist(age__gte=a, order_by="-age", limit=LIST_LIMIT),
        "update": lambda _s, ident: repo.aupdate(ident, {"age": NEW_AGE}),
        "count": lambda _s, a: repo.acount(age__gte=a),
        "delete": lambda _s, ident: repo.adelete(ident),
    }


# -- the plain side: what a careful developer writes by hand ---------------------------------------


def list_query(a: int) -> Any:
    return (
        select(PlainItem)
        .where(PlainItem.age >= a)
        .order_by(PlainItem.age.desc())  # type: ignore[attr-defined]
        .limit(LIST_LIMIT)
    )


def count_query(a: int) -> Any:
    return select(func.count()).select_from(PlainItem).where(PlainItem.age >= a)


class PlainInSession:
    """The operations on a session the caller owns."""

    @staticmethod
    def create(s: Session, row: tuple[str, int]) -> PlainItem:
        item = PlainItem(name=row[0], age=row[1])
        s.add(item)
        s.flush()
        s.refresh(item)
        return item

    @staticmethod
    def get(s: Session, ident: int) -> PlainItem | None:
        return s.get(PlainItem, ident)

    @staticmethod
    def list(s: Session, a: int) -> list[PlainItem]:
        return list(s.exec(list_query(a)).all())

    @staticmethod
    def update(s: Session, ident: int) -> PlainItem:
        item = s.get(PlainItem, ident)
        if item is None:
            raise LookupError(ident)
        item.age = NEW_AGE
        s.flush()
        s.refresh(item)
        return item

    @staticmethod
    def count(s: Session, a: int) -> int:
        return s.exec(count_query(a)).one()

    @staticmethod
    def delete(s: Session, ident: int) -> bool:
        item = s.get(PlainItem, ident)
        if item is None:
            return False
        s.delete(item)
        s.flush()
        return True


class PlainAsyncInSession:
    """The async twin of PlainInSession."""

    @staticmethod
    async def create(s: AsyncSession, row: tuple[str, int]) -> PlainItem:
        item = PlainItem(name=row[0], age=row[1])
        s.add(item)
        await s.flush()
        await s.refresh(item)
        return item

    @staticmethod
    async def get(s: AsyncSession, ident: int) -> PlainItem | None:
        return await s.get(PlainItem, ident)

    @staticmethod
    async def list(s: AsyncSession, a: int) -> list[PlainItem]:
        return list((await s.exec(list_query(a))).all())

    @staticmethod
    async def update(s: AsyncSession, ident: int) -> PlainItem:
        item = await s.get(PlainItem, ident)
        if item is None:
            raise LookupError(ident)
        item.age = NEW_AGE
        await s.flush()
        await s.refresh(item)
        return item

    @staticmethod
    async def count(s: AsyncSession, a: int) -> int:
        return (await s.exec(count_query(a))).one()

    @staticmethod
    async def delete(s: AsyncSession, ident: int) -> bool:
        item = await s.get(PlainItem, ident)
        if item is None:
            return False
        await s.delete(item)
        await s.flush()
        return True


def in_session_ops(ops: type) -> dict[str, Op]:
    return {name: getattr(ops, name) for name in OPS}


def plain_ops(engine: sqlalchemy.Engine) -> dict[str, Op]:
    """One session per operation; writes commit, reads just close the session."""

    def unit(op: Op, write: bool) -> Op:
        def run(_s: Any, argument: Any) -> Any:
            with Session(engine, expire_on_commit=False) as s:
                result = op(s, argument)
                if write:
                    s.commit()
                return result

        return run

    return {name: unit(getattr(PlainInSession, name), name in WRITES) for name in OPS}


def plain_async_ops(engine: AsyncEngine) -> dict[str, Op]:
    """The async twin of plain_ops."""

    def unit(op: Op, write: bool) -> Op:
        async def run(_s: Any, argument: Any) -> Any:
            async with AsyncSession(engine, expire_on_commit=False) as s:
                result = await op(s, argument)
                if write:
                    await s.commit()
                return result

        return run

    return {name: unit(getattr(PlainAsyncInSession, name), name in WRITES) for name in OPS}


class PlainAsyncTransaction:
    """``async with AsyncSession(engine, expire_on_commit=False) as s, s.begin():`` as one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.session = AsyncSession(engine, expire_on_commit=False)
        self.transaction: Any = None

    async def __aenter__(self) -> AsyncSession:
        await self.session.__aenter__()
        self.transaction = self.session.begin()
        await self.transaction.__aenter__()
        return self.session

    async def __aexit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            await self.transaction.__aexit__(kind, exc, tb)
        finally:
            await self.session.__aexit__(kind, exc, tb)


# -- one round: both sides, interleaved slice by slice ---------------------------------------------

Unit = Callable[[], Any] | None  # a unit-of-work factory (one per slice), or None: one per op
Sides = dict[str, tuple[dict[str, Op], Unit]]


@dataclass
class Round:
    """Seconds of every slice per operation kind, and the results, for each side."""

    slices: dict[str, dict[str, list[float]]]
    results: dict[str, dict[str, list[Any]]]

    @classmethod
    def empty(cls) -> Round:
        slices = {side: {op: [] for op in OPS} for side in SIDES}
        return cls(slices, {side: {} for side in SIDES})

    def digest(self, side: str) -> tuple[int, ...]:
        """What both sides must agree on (not ids: PostgreSQL's sequences keep going)."""
        results = self.results[side]
        return (
            len(results["create"]),
            sum(row is not None for row in results["get"]),
            sum(len(rows) for rows in results["list"]),
            sum(row.age for rows in results["list"] for row in rows),
            sum(row.age for row in results["update"]),
            sum(results["count"]),
            sum(results["delete"]),
        )


def run_sync(work: Workload, sides: Sides) -> Round:
    result = Round.empty()

    def phase(name: str, arguments: dict[str, list[Any]]) -> None:
        for side in SIDES:
            result.results[side][name] = []
        for index, part in enumerate(work.slices(len(work.rows))):
            for side in SIDES if index % 2 == 0 else SIDES[::-1]:
                ops, unit = sides[side]
                op, chunk, out = ops[name], arguments[side][part], result.results[side][name]
                start = time.perf_counter()
                if unit is None:
                    for argument in chunk:
                        out.append(op(None, argument))
                else:
                    with unit() as s:
                        for argument in chunk:
                            out.append(op(s, argument))
                result.slices[side][name].append(time.perf_counter() - start)

    phase("create", dict.fromkeys(SIDES, work.rows))
    ids = {side: [row.id for row in result.results[side]["create"]] for side in SIDES}
    phase("get", ids)
    phase("list", dict.fromkeys(SIDES, work.thresholds))
    phase("update", ids)
    phase("count", dict.fromkeys(SIDES, work.thresholds))
    phase("delete", ids)
    return result


async def run_async(work: Workload, sides: Sides) -> Round:
    """The async twin of run_sync."""
    result = Round.empty()

    async def phase(name: str, arguments: dict[str, list[Any]]) -> None:
        for side in SIDES:
            result.results[side][name] = []
        for index, part in enumerate(work.slices(len(work.rows))):
            for side in SIDES if index % 2 == 0 else SIDES[::-1]:
                ops, unit = sides[side]
                op, chunk, out = ops[name], arguments[side][part], result.results[side][name]
                start = time.perf_counter()
                if unit is None:
                    for argument in chunk:
                        out.append(await op(None, argument))
                else:
                    async with unit() as s:
                        for argument in chunk:
                            out.append(await op(s, argument))
                result.slices[side][name].append(time.perf_counter() - start)

    await phase("create", dict.fromkeys(SIDES, work.rows))
    ids = {side: [row.id for row in result.results[side]["create"]] for side in SIDES}
    await phase("get", ids)
    await phase("list", dict.fromkeys(SIDES, work.thresholds))
    await phase("update", ids)
    await phase("count", dict.fromkeys(SIDES, work.thresholds))
    await phase("delete", ids)
    return result


# -- one database ----------------------------------------------------------------------------------


class Bench:
    """The app, its repository and both sides' operations, for one database URL."""

    def __init__(self, url: str, config_dir: Path, own_engine: bool) -> None:
        settings = Settings(config_dir=config_dir, database={"url": url})
        self.app = create_app(settings, components=[ItemRepository])
        self.database = database = self.app.container.get(Database)
        repo = self.app.container.get(ItemRepository)
        tables = [RepoItem.__table__, PlainItem.__table__]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(database.engine, tables=tables)
        if own_engine:  # SQLAlchemy's defaults: no pool_pre_ping
            self.engine = create_engine(database.urls.sync)
            self.async_engine = create_async_engine(database.urls.asynchronous)
        else:
            self.engine, self.async_engine = database.engine, database.async_engine
        engine, async_engine = self.engine, self.async_engine

        @contextmanager
        def plain_transaction() -> Iterator[Session]:
            with Session(engine, expire_on_commit=False) as s, s.begin():
                yield s

        def plain_async_transaction() -> AbstractAsyncContextManager[AsyncSession]:
            return PlainAsyncTransaction(async_engine)

        self.sides: dict[str, Sides] = {
            "sync": {
                "repository": (repository_ops(repo), None),
                "plain": (plain_ops(engine), None),
            },
            "async": {
                "repository": (repository_async_ops(repo), None),
                "plain": (plain_async_ops(async_engine), None),
            },
            "sync-tx": {
                "repository": (repository_ops(repo), database.transaction),
                "plain": (in_session_ops(PlainInSession), plain_transaction),
            },
            "async-tx": {
                "repository": (repository_async_ops(repo), database.transaction),
                "plain": (in_session_ops(PlainAsyncInSession), plain_async_transaction),
            },
        }

    async def run(self, mode: str, work: Workload) -> Round:
        gc.collect()
        if mode.startswith("async"):
            return await run_async(work, self.sides[mode])
        return run_sync(work, self.sides[mode])

    async def close(self) -> None:
        await self.database.stop()
        if self.engine is not self.database.engine:
            self.engine.dispose()
            await self.async_engine.dispose()


# Per mode, one {side: {operation: slice seconds}} per round.
Timings = dict[str, list[dict[str, dict[str, list[float]]]]]


async def measure(
    bench: Bench, work: Workload, modes: list[str], rounds: int, label: str
) -> Timings:
    warm_up = Workload.make(min(len(work.rows), 4 * work.chunk), work.chunk)
    for mode in modes:  # pools, statement caches, lazy imports
        await bench.run(mode, warm_up)
    timings: Timings = {mode: [] for mode in modes}
    for number in range(rounds):
        start = time.perf_counter()
        for mode in modes:
            result = await bench.run(mode, work)
            if result.digest("repository") != result.digest("plain"):
                raise RuntimeError(
                    f"{label}, {mode}: the sides disagree: repository "
                    f"{result.digest('repository')}, plain {result.digest('plain')}"
                )
            timings[mode].append(result.slices)
        print(f"  round {number + 1}/{rounds}: {time.perf_counter() - start:.1f} s", flush=True)
    return timings


def summarize(runs: list[dict[str, dict[str, list[float]]]], op: str, n: int) -> list[float]:
    """Median repo ops/s, median plain ops/s, paired ratio, ratio of the medians."""
    ops = OPS if op == "all" else (op,)
    rates = {
        side: [n * len(ops) / sum(sum(run[side][name]) for name in ops) for run in runs]
        for side in SIDES
    }
    repo, plain = statistics.median(rates["repository"]), statistics.median(rates["plain"])
    if op == "all":  # per round: the whole sequence of each side
        pairs = [r / p for r, p in zip(rates["repository"], rates["plain"], strict=True)]
    else:  # per slice: K operations of each side, run back to back
        pairs = [
            p / r
            for run in runs
            for r, p in zip(run["repository"][op], run["plain"][op], strict=True)
        ]
    return [repo, plain, statistics.median(pairs), repo / plain]


def print_summary(label: str, timings: Timings, n: int) -> list[float]:
    """The table for one database; returns the paired ratio of every operation and mode."""
    header = (
        f"{'mode':<9} {'operation':<9} {'repo ops/s':>10} {'plain ops/s':>11} "
        f"{'repo/plain':>10} {'of medians':>10}"
    )
    print()
    print(label)
    print(header)
    print("-" * len(header))
    ratios = []
    for mode, runs in timings.items():
        for op in (*OPS, "all"):
            repo, plain, paired, of_medians = summarize(runs, op, n)
            if op != "all":
                ratios.append(paired)
            flag = f"  < {TARGET}" if paired < TARGET else ""
            print(
                f"{mode:<9} {op:<9} {repo:>10,.0f} {plain:>11,.0f} "
                f"{paired:>10.3f} {of_medians:>10.3f}{flag}"
            )
        print()
    return ratios


# -- PostgreSQL ------------------------------------------------------------------------------------


def start_postgres(cpu: int | None) -> tuple[Any, str, str] | None:
    """A started PostgresServer (tests/services.py), a label and the URL of a new database.

    None, with the reason printed, when the server binaries or the psycopg driver are missing.
    """
    sys.path.insert(0, str(REPO_ROOT))
    import pytest

    from tests.services import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        with server.connect() as connection:
            row = connection.execute("SHOW server_version").fetchone()
        url = server.url(server.create_database("bench"))
    except (pytest.skip.Exception, pytest.fail.Exception) as missing:
        server.stop()
        print(f"\nPostgreSQL skipped: {missing}")
        return None
    if cpu is not None:
        try:  # the backends it forks for new connections inherit the postmaster's affinity
            pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
            os.sched_setaffinity(pid, {cpu})
        except (OSError, ValueError, IndexError) as exc:
            print(f"(could not pin the PostgreSQL server to CPU {cpu}: {exc})")
    return server, f"PostgreSQL {str(row[0]).split()[0] if row else '?'}, psycopg 3", url


# -- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="measured rounds (8)")
    parser.add_argument("-n", "--rows", type=int, default=100, help="N: rows per round (100)")
    parser.add_argument(
        "--chunk", type=int, default=10, help="K: operations per slice / transaction (10)"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="comma-separated (sqlite,postgres)"
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated ({','.join(MODES)})"
    )
    parser.add_argument(
        "--plain-engine",
        choices=("shared", "own"),
        default="shared",
        help="the plain side uses the app's engines (shared) or its own with SQLAlchemy defaults",
    )
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin this process to (0)")
    parser.add_argument("--pg-cpu", type=int, default=1, help="CPU to pin PostgreSQL to (1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin")
    options = parser.parse_args()
    options.modes = [mode for mode in options.modes.split(",") if mode]
    if unknown := set(options.modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    if unknown := set(options.databases.split(",")) - {"sqlite", "postgres", ""}:
        parser.error(f"unknown databases: {', '.join(sorted(unknown))}")
    if options.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {options.cpu})
    print(
        f"Python {sys.version.split()[0]}, tausestack {tausestack.__version__}, SQLAlchemy "
        f"{sqlalchemy.__version__}, SQLModel {sqlmodel.__version__}"
    )
    print(
        f"{options.rounds} rounds after a warm-up; per round, mode and side: {options.rows} x "
        f"{', '.join(OPS)}; slices of {options.chunk}; plain side on {options.plain_engine} engines"
    )
    return asyncio.run(run_all(options))


async def run_all(options: argparse.Namespace) -> int:
    work = Workload.make(options.rows, options.chunk)
    databases = [name for name in options.databases.split(",") if name]
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tausestack-bench-") as folder:
        if "sqlite" in databases:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            label = "SQLite (file), pysqlite / aiosqlite"
            ratios += await measure_database(label, url, work, options, Path(folder))
        if "postgres" in databases:
            started = start_postgres(options.pg_cpu if options.pin else None)
            if started is not None:
                server, label, url = started
                try:
                    ratios += await measure_database(label, url, work, options, Path(folder))
                finally:
                    server.stop()
    if ratios:
        verdict = "met" if min(ratios) >= TARGET else "not met"
        print(f"lowest repo/plain ratio: {min(ratios):.3f} (target >= {TARGET}: {verdict})")
    print("ops/s: median over the rounds. repo/plain: median over all slices of the ratio of the")
    print("two sides' back-to-back slices of K operations ('all': the whole sequence of 6 x N")
    print("operations, median over the rounds). of medians: ratio of the two ops/s columns.")
    return 0


async def measure_database(
    label: str, url: str, work: Workload, options: argparse.Namespace, folder: Path
) -> list[float]:
    print(f"\n{label}")
    bench = Bench(url, folder, own_engine=options.plain_engine == "own")
    try:
        timings = await measure(bench, work, options.modes, options.rounds, label)
    finally:
        await bench.close()
    return print_summary(label, timings, len(work.rows))


if __name__ == "__main__":
    sys.exit(main())

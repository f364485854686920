"""Building an application with tasks, and running redis workers in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from tausestack import Settings, create_app
from tausestack.sdk.tasks import Tasks

T = TypeVar("T")


def build(tmp_path: Path, *components: Any, **tasks_settings: Any) -> Any:
    """An application with ``components`` and these ``tasks:`` settings."""
    return create_app(Settings(config_dir=tmp_path, tasks=tasks_settings), components=components)


@asynccontextmanager
async def started(app: Any) -> AsyncIterator[Tasks]:
    """The app's container started (stopped after the block); yields its ``Tasks``."""
    await app.container.start()
    try:
        yield app.container.get(Tasks)
    finally:
        await app.container.stop()


class Worker:
    """A redis worker running in this process (see :func:`worker`)."""

    def __init__(self, tasks: Tasks, concurrency: int) -> None:
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(
            tasks.backend.run_worker(tasks.runner, concurrency=concurrency, stopping=self.stopping)
        )

    async def stop(self) -> None:
        """Stop it as SIGTERM does, and wait until it has stopped."""
        self.stopping.set()
        await self.task


@asynccontextmanager
async def worker(tasks: Tasks, concurrency: int = 2) -> AsyncIterator[Worker]:
    """A redis worker running until the block ends (or its ``stop()``)."""
    running = Worker(tasks, concurrency)
    try:
        yield running
    finally:
        await running.stop()


async def with_worker(app: Any, scenario: Callable[[Tasks], Awaitable[T]]) -> T:
    """Run ``scenario`` with the app started and a redis worker running in this process."""
    async with started(app) as tasks, worker(tasks):
        return await scenario(tasks)

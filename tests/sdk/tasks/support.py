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
async def worker(tasks: Tasks, concurrency: int = 2) -> AsyncIterator[asyncio.Task[None]]:
    """A redis worker running in this process until the block ends (then stopped)."""
    stopping = asyncio.Event()
    running = asyncio.create_task(
        tasks.backend.run_worker(tasks.runner, concurrency=concurrency, stopping=stopping)
    )
    try:
        yield running
    finally:
        stopping.set()
        await running


async def with_worker(app: Any, scenario: Callable[[Tasks], Awaitable[T]]) -> T:
    """Run ``scenario`` with the app started and a redis worker running in this process."""
    await app.container.start()
    tasks = app.container.get(Tasks)
    try:
        async with worker(tasks):
            return await scenario(tasks)
    finally:
        await app.container.stop()

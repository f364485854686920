"""The tasks of one application: discovered in installed apps, or passed to ``create_app``."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from typing import Any

from ..._naming import describe_callable
from ...di._keys import split_annotation
from ._task import Task
from .errors import TaskDefinitionError

__all__ = ["TaskRegistry"]


class TaskRegistry:
    """Tasks by name; two tasks with one name are an error (jobs find their task by name)."""

    def __init__(self, tasks: Iterable[Task[..., Any]]) -> None:
        self.tasks: dict[str, Task[..., Any]] = {}
        for task in tasks:
            other = self.tasks.get(task.name)
            if other is not None and other is not task:
                raise TaskDefinitionError(
                    f"Two tasks are named {task.name!r}: {describe_callable(other.function)} "
                    f"and {describe_callable(task.function)}. Give one another name with "
                    "@task(name='...')."
                )
            self.tasks[task.name] = task

    def __iter__(self) -> Iterator[Task[..., Any]]:
        return iter(self.tasks.values())

    def __len__(self) -> int:
        return len(self.tasks)

    def wanted_types(self) -> set[Any]:
        """``Tasks`` (so the app starts and stops the backend) and every type a task's
        parameters name (so the SDK modules they use are configured)."""
        from ._tasks import Tasks

        wanted: set[Any] = {Tasks}
        for task in self:
            try:
                hints = typing.get_type_hints(task.function, include_extras=True)
            except Exception:  # reported with its cause when the task's plan is built
                continue
            for name, annotation in hints.items():
                if name != "return":
                    wanted.add(split_annotation(annotation)[0])
        return wanted

"""Cron schedules in a running backend: which tasks are due, and when the next one is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ._cron import CronSchedule

__all__ = ["CronClock"]


class CronClock:
    """The next time of every scheduled task, counted from when the backend started.

    Times missed while nothing ran (the process was down, the loop was stalled) are skipped,
    not caught up: a schedule fires at each matching time while a worker runs.
    """

    def __init__(self, schedules: Sequence[tuple[str, CronSchedule]], now: datetime) -> None:
        self.schedules = dict(schedules)
        self.upcoming = {name: schedule.next_after(now) for name, schedule in schedules}

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """The tasks whose time has come, each with that time; they move to their next time."""
        fired = []
        for name, when in self.upcoming.items():
            if when <= now:
                fired.append((name, when))
                self.upcoming[name] = self.schedules[name].next_after(now)
        return fired

    def next_time(self) -> datetime | None:
        """The earliest upcoming time, or None without schedules."""
        return min(self.upcoming.values(), default=None)

"""Cron expressions: parsed once, strictly, and asked for the next time they match (UTC).

Five fields are Unix cron (``minute hour day-of-month month day-of-week``); six put the
seconds first, as Spring's ``@Scheduled(cron=...)`` does (``*/10 * * * * *``: every ten
seconds). Fields take ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n``,
lists ``a,b``, month and day names (``JAN``, ``MON``); day-of-week 0 and 7 are Sunday. When
both day fields are restricted a day matching either runs, as in Vixie cron. The macros
``@yearly``, ``@monthly``, ``@weekly``, ``@daily`` and ``@hourly`` work too.

Written here rather than taken from a library: matching is a hundred lines, pycron accepts
malformed expressions silently and has no seconds, and croniter puts the seconds last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import TaskDefinitionError

__all__ = ["CronSchedule"]

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
#: How far ahead a match is looked for before an expression is declared impossible (Feb 30).
HORIZON = timedelta(days=5 * 366)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression; :meth:`next_after` gives its next time."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 is Sunday
    #: Both day fields are restricted: a day matching either one runs.
    either_day: bool

    @classmethod
    def parse(cls, expression: str, owner: str = "a task") -> CronSchedule:
        """Parse ``expression``; raise TaskDefinitionError naming ``owner`` when it is invalid
        or can never match."""
        text = MACROS.get(expression.strip().lower(), expression.strip())
        fields = text.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise TaskDefinitionError(
                f"{owner}: cron {expression!r} has {len(fields)} fields; write five (minute "
                "hour day month weekday, e.g. '*/5 * * * *') or six with the seconds first "
                "('*/10 * * * * *')."
            )
        try:
            parsed = [
                _field(fields[0], 0, 59),
                _field(fields[1], 0, 59),
                _field(fields[2], 0, 23),
                _field(fields[3], 1, 31),
                _field(fields[4], 1, 12, MONTHS, first=1),
                _field(fields[5], 0, 7, DAYS),
            ]
        except ValueError as exc:
            raise TaskDefinitionError(f"{owner}: cron {expression!r} is invalid: {exc}.") from None
        seconds, minutes, hours, days, months, weekdays = parsed
        weekdays = frozenset(day % 7 for day in weekdays)
        either = not fields[3].startswith("*") and not fields[5].startswith("*")
        schedule = cls(expression, seconds, minutes, hours, days, months, weekdays, either)
        start = datetime(2000, 1, 1, tzinfo=UTC)
        if schedule._search(start, start + HORIZON) is None:
            raise TaskDefinitionError(f"{owner}: cron {expression!r} never matches a date.")
        return schedule

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` that the expression matches (UTC)."""
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        found = self._search(start, start + HORIZON)
        if found is None:  # pragma: no cover - parse() rejects expressions that never match
            raise TaskDefinitionError(f"cron {self.expression!r} never matches a date.")
        return found

    def _day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        return (in_month or in_week) if self.either_day else (in_month and in_week)

    def _search(self, moment: datetime, limit: datetime) -> datetime | None:
        # Each step jumps to the start of the next month, day, hour, minute or second that
        # could match, so a year is crossed in a few thousand steps at most.
        while moment < limit:
            if moment.month not in self.months:
                year, month = divmod(moment.year * 12 + moment.month, 12)
                moment = moment.replace(year=year, month=month + 1, day=1, hour=0, minute=0)
                moment = moment.replace(second=0)
            elif not self._day_matches(moment):
                moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif moment.hour not in self.hours:
                moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
            elif moment.minute not in self.minutes:
                moment = moment.replace(second=0) + timedelta(minutes=1)
            elif moment.second not in self.seconds:
                moment += timedelta(seconds=1)
            else:
                return moment
        return None


def _field(
    text: str, low: int, high: int, names: list[str] | None = None, first: int = 0
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values.update(_part(part, low, high, names, first))
    return frozenset(values)


def _part(text: str, low: int, high: int, names: list[str] | None, first: int) -> range:
    span, _, step_text = text.partition("/")
    step = _number(step_text, 1, high, None, 0) if step_text else 1
    if span == "*":
        start, end = low, high
    elif "-" in span:
        start_text, _, end_text = span.partition("-")
        start = _number(start_text, low, high, names, first)
        end = _number(end_text, low, high, names, first)
        if end < start:
            raise ValueError(f"the range {span!r} ends before it starts")
    else:
        start = _number(span, low, high, names, first)
        end = high if step_text else start
    return range(start, end + 1, step)


def _number(text: str, low: int, high: int, names: list[str] | None, first: int) -> int:
    if names is not None and text.upper() in names:
        return names.index(text.upper()) + first
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range ({low}-{high})")
    return value

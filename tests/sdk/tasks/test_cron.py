"""Cron expressions: five Unix fields or six with the seconds first, checked when declared."""

from datetime import UTC, datetime

import pytest

from tausestack.sdk.tasks import CronSchedule, TaskDefinitionError, task

START = datetime(2026, 3, 14, 10, 7, 30, tzinfo=UTC)  # a Saturday


def nexts(expression: str, count: int = 3, start: datetime = START) -> list[str]:
    schedule = CronSchedule.parse(expression)
    times, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        times.append(moment.strftime("%a %Y-%m-%d %H:%M:%S"))
    return times


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "*/5 * * * *",
            ["Sat 2026-03-14 10:10:00", "Sat 2026-03-14 10:15:00", "Sat 2026-03-14 10:20:00"],
        ),
        (
            "0 3 * * *",
            ["Sun 2026-03-15 03:00:00", "Mon 2026-03-16 03:00:00", "Tue 2026-03-17 03:00:00"],
        ),
        (
            "*/20 * * * * *",
            ["Sat 2026-03-14 10:07:40", "Sat 2026-03-14 10:08:00", "Sat 2026-03-14 10:08:20"],
        ),
        (
            "30 9 * * MON-FRI",
            ["Mon 2026-03-16 09:30:00", "Tue 2026-03-17 09:30:00", "Wed 2026-03-18 09:30:00"],
        ),
        (
            "0 0 1 JAN,jul *",
            ["Wed 2026-07-01 00:00:00", "Fri 2027-01-01 00:00:00", "Thu 2027-07-01 00:00:00"],
        ),
        (
            "@hourly",
            ["Sat 2026-03-14 11:00:00", "Sat 2026-03-14 12:00:00", "Sat 2026-03-14 13:00:00"],
        ),
        (
            "0 12 13 * 5",
            ["Fri 2026-03-20 12:00:00", "Fri 2026-03-27 12:00:00", "Fri 2026-04-03 12:00:00"],
        ),
        (
            "0 0 29 2 *",
            ["Tue 2028-02-29 00:00:00", "Sun 2032-02-29 00:00:00", "Fri 2036-02-29 00:00:00"],
        ),
        (
            "15-45/15 10 * * 7",
            ["Sun 2026-03-15 10:15:00", "Sun 2026-03-15 10:30:00", "Sun 2026-03-15 10:45:00"],
        ),
    ],
)
def test_next_times(expression: str, expected: list[str]) -> None:
    assert nexts(expression) == expected


def test_the_next_time_is_strictly_after_and_naive_times_are_utc() -> None:
    schedule = CronSchedule.parse("* * * * * *")
    exact = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert schedule.next_after(exact) == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert schedule.next_after(exact.replace(tzinfo=None)) == schedule.next_after(exact)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields; write five"),
        ("61 * * * *", "61 is out of range"),
        ("* * * * MOO", "'MOO' is not a number"),
        ("10-5 * * * *", "the range '10-5' ends before it starts"),
        ("*/0 * * * *", "0 is out of range"),
        ("0 0 30 2 *", "never matches a date"),
    ],
)
def test_invalid_expressions_fail_when_the_task_is_declared(expression: str, message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=rf"task 'nightly': cron .*{message}"):

        @task(name="nightly", cron=expression)
        def nightly() -> None: ...

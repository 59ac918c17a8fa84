"""Working days (工作日) for statutory time limits: Chinese public holidays and 调休 make-up
workdays from the `chinese-calendar` library, overridden by the days an administrator entered
(the State Council publishes each year's schedule late in the year before; libraries lag).

A year neither source covers is counted on weekends only, and any deadline computed through
such a year is flagged provisional (暂按周末推算).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar

LIBRARY_YEARS = range(min(chinese_calendar.holidays).year,
                      max(chinese_calendar.holidays).year + 1)


@dataclass(frozen=True)
class Calendar:
    """`overrides`: date → True (a workday, e.g. a 调休 Saturday) or False (a holiday);
    `published_years`: years whose whole schedule an administrator entered."""

    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    published_years: frozenset[int] = frozenset()

    def known(self, year: int) -> bool:
        return year in self.published_years or year in LIBRARY_YEARS

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.published_years or day.year not in LIBRARY_YEARS:
            return day.weekday() < 5
        return chinese_calendar.is_workday(day)


@dataclass(frozen=True)
class Deadline:
    day: dt.date
    provisional: bool  # some year on the way has no published schedule


def add_workdays(start: dt.date, n: int, calendar: Calendar | None = None) -> Deadline:
    """The n-th working day after `start` (start itself not counted: a step received on a
    Friday with 1 working day is due the next working day)."""
    calendar = calendar or Calendar()
    day, counted, provisional = start, 0, not calendar.known(start.year)
    while counted < n:
        day += dt.timedelta(days=1)
        provisional = provisional or not calendar.known(day.year)
        if calendar.is_workday(day):
            counted += 1
    return Deadline(day, provisional)


def workdays_between(start: dt.date, end: dt.date, calendar: Calendar | None = None) -> int:
    """Working days after `start` up to and including `end` (0 when end ≤ start)."""
    calendar = calendar or Calendar()
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += calendar.is_workday(day)
    return count


def time_left(due: dt.date, today: dt.date, calendar: Calendar | None = None) -> str:
    """How a deadline stands today, in working days: 剩余 N 个工作日 (counting the due day,
    not today), 今日到期, or 已逾期 N 个工作日 (the working days since the due day). Every page
    that shows a deadline says it this way (the `time_left` template tag)."""
    if due == today:
        return "今日到期"
    if due > today:
        return f"剩余 {workdays_between(today, due, calendar)} 个工作日"
    late = workdays_between(due, today, calendar)
    return f"已逾期 {late} 个工作日" if late else "已逾期（其后尚无工作日）"

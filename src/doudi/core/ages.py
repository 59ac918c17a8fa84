"""Ages and anniversaries on a given day (pure)."""

from __future__ import annotations

import datetime as dt


def age_on(born: dt.date, day: dt.date) -> int:
    """Completed years on `day` (周岁)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)

"""月结: a month's statistics frozen once it closes, and the month under way counted at most
once per stated staleness.

A month closes when its monthly report is due (社会救助工作月报表, the 10th of the following
month: `CLOSE_DAY`): by then the bank's results are settled and the backdated records of the
month entered. From the day after, every page and report reads the month's snapshot
(`MonthSnapshot`), never a recount, so a month's figures never change after it closes — not
even when a record of the month is backdated later (that correction shows in the month it is
made, as 新增 / 退出 do).

The close counts the whole registry once, per village (`statistics.counted` at 12 digits), and
rolls the villages up into every town's, district's, city's and province's table: a city's
figures are the sum of its districts' by construction, and each area's page reads one row.
`doudi reports close-month` runs it (a scheduled job on the 11th); a page asking for a closed
month nobody closed yet closes it first.

The month under way (and a past month not yet closed) is counted from the records, kept per
area for `settings.DOUDI_STATISTICS_CACHE_SECONDS` (5 minutes by default): the page says when
it was counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from doudi.core import clock
from doudi.reports import statistics
from doudi.reports.models import MonthClose, MonthSnapshot

CLOSE_DAY = 10  # report_templates.yaml: the monthly reports are due on the 10th (due_day)
T = TypeVar("T")
LEVELS = (0, 2, 4, 6, 9, 12)  # the prefixes of every area above a village, and the village


def close_day(month: dt.date) -> dt.date:
    """The last day a month's records may still change its figures: its report's due day."""
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt.replace(day=CLOSE_DAY)


def is_closed(month: dt.date, today: dt.date | None = None) -> bool:
    return (today or clock.today()) > close_day(month.replace(day=1))


def month_table(area: str, month: dt.date, *, fresh: bool = False) -> statistics.Table:
    """`statistics.month_table`: the snapshot of a closed month, else a recent count (a count
    made now if `fresh`)."""
    first = month.replace(day=1)
    if is_closed(first):
        return frozen(area, first)
    if fresh:
        return _counted_now(area, first)
    return recent(f"{area or '-'}:{first:%Y-%m}", lambda: _counted_now(area, first))


def recent(key: str, count: Callable[[], T]) -> T:
    """What `count` returns, counted at most once per `DOUDI_STATISTICS_CACHE_SECONDS` for
    the same `key` (which must name everything the count depends on) and the same day."""
    seconds = settings.DOUDI_STATISTICS_CACHE_SECONDS
    if seconds <= 0:
        return count()
    # today is in the key: what stands now is counted on today
    key = f"doudi:statistics:{key}:{clock.today():%Y%m%d}"
    value = cache.get(key)
    if value is None:
        value = count()
        cache.set(key, value, seconds)
    return value


def _counted_now(area: str, first: dt.date) -> statistics.Table:
    table = statistics.recount(area, first)
    table.counted_at = timezone.now()
    return table


def frozen(area: str, first: dt.date) -> statistics.Table:
    """A closed month's table of `area`, closing the month first if nobody has."""
    snapshot = MonthSnapshot.objects.filter(month=first, area_code=area).first()
    if snapshot is None:
        closing = MonthClose.objects.filter(month=first).first() or close(first)
        snapshot = MonthSnapshot.objects.filter(month=first, area_code=area).first()
        if snapshot is None:  # nothing recorded under `area` in that month
            table = statistics.assemble(area, first, statistics.child_width(area),
                                        statistics.Counted(
                                            {k: {} for k in statistics.COUNTED}, {}))
            table.counted_at, table.closed = closing.closed_at, True
            return table
    table = statistics.Table(area, first, statistics.child_width(area),
                             rows=dict(sorted(snapshot.rows.items())), total=snapshot.total,
                             closed=True)
    table.counted_at = MonthClose.objects.filter(month=first).values_list(
        "closed_at", flat=True).first()
    return table


def totals(area: str, months: list[dt.date]) -> dict[dt.date, dict]:
    """The totals of `area` in closed months (first days), closing those nobody has: one
    query for all of them (the dashboard's twelve-month trend)."""
    closed = set(MonthClose.objects.filter(month__in=months).values_list("month", flat=True))
    for month in sorted(set(months) - closed):
        close(month)
    found = dict(MonthSnapshot.objects.filter(month__in=months, area_code=area)
                 .values_list("month", "total"))
    return {month: found.get(month, {}) for month in months}


def close(month: dt.date) -> MonthClose:
    """Freeze a month: count it once per village and store every area's table. A month
    already closed stays as it was (two closes at once: the second finds the first's)."""
    first = month.replace(day=1)
    existing = MonthClose.objects.filter(month=first).first()
    if existing is not None:
        return existing
    tables = roll_up(first, statistics.counted("", first, 12))
    try:
        with transaction.atomic():
            closing = MonthClose.objects.create(month=first, areas=len(tables))
            MonthSnapshot.objects.bulk_create(
                [MonthSnapshot(month=first, area_code=area, rows=t.rows, total=t.total)
                 for area, t in tables.items()], batch_size=2_000)
    except IntegrityError:
        return MonthClose.objects.get(month=first)
    return closing


def roll_up(month: dt.date, villages: statistics.Counted) -> dict[str, statistics.Table]:
    """Every area's table from the figures counted per village: an area's row for a child is
    the sum of the child's villages (the figures are counts and sums, and a record belongs
    to one village), as `statistics.recount` would count it."""
    per_area: dict[str, statistics.Counted] = {}
    places: dict[str, list[tuple[str, str]]] = {}

    def under(code: str) -> list[tuple[str, str]]:
        """(area, its child holding `code`) for every area `code` lies in."""
        if code not in places:
            places[code] = [(code[:n], code[:statistics.child_width(code[:n])])
                            for n in LEVELS if len(code) >= n]
        return places[code]

    def counted_for(area: str) -> statistics.Counted:
        if area not in per_area:
            per_area[area] = statistics.Counted({f: {} for f in villages.per}, {})
        return per_area[area]

    for figure, values in villages.per.items():
        for code, value in values.items():
            for area, child in under(code):
                into = counted_for(area).per[figure]
                into[child] = into.get(child, 0) + value
    for code, (summed, decided) in villages.days.items():
        for area, child in under(code):
            days = counted_for(area).days
            before = days.get(child, (0, 0))
            days[child] = (before[0] + summed, before[1] + decided)
    return {area: statistics.assemble(area, month, statistics.child_width(area), figures)
            for area, figures in per_area.items()}

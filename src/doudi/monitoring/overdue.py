"""逾期预警: the one definition every page, figure and list of overdue warnings uses.

A warning is overdue on a day when it was raised by the end of that day, was not closed by
then, and its due date (the last day to verify it) is before that day. For a past month the
day is the month's last; for the month under way it is today — a warning due later this month
is not overdue yet, so the statistics' month figure and the monitoring dashboard's count of
today agree."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from doudi.core import clock
from doudi.monitoring import workflow


def overdue_on(day: dt.date) -> Q:
    """The warnings overdue on `day` (a filter on `monitoring.Warning`). Today (or a day the
    demo's clock has not reached) is what the records say now — not closed, past due; a past
    day is read from when each warning was raised and closed."""
    if day >= clock.today():
        return Q(due_on__lt=day) & ~Q(status=workflow.CLOSED)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return Q(created_at__lt=end, due_on__lt=day) & (Q(closed_at__isnull=True)
                                                    | Q(closed_at__gte=end))


def as_of(last: dt.date, today: dt.date | None = None) -> dt.date:
    """The day a period ending on `last` is judged on: its last day, or today if sooner."""
    return min(last, today or clock.today())


def is_overdue(warning) -> bool:  # noqa: ANN001
    """`overdue_on(today)` for one warning already loaded."""
    return warning.status != workflow.CLOSED and warning.due_on < clock.today()

"""逾期预警: the one definition every page, figure and list of overdue warnings uses.

A warning is overdue on a day when it was raised by the end of that day, was not closed by
then, and its due date (the last day to verify it) is before that day. For a past month the
day is the month's last; for the month under way it is today — a warning due later this month
is not overdue yet, so the statistics' month figure and the monitoring dashboard's count of
today agree.

The share of overdue warnings (逾期率) divides `overdue_on(day)` by `pending_on(day)`: both read
the same records on the same basis — the status for today, the timestamps for a past day. (They
once did not: the month under way counted overdue ones by status and pending ones by when they
were raised: a warning stored at a wall-clock time after the demo's today was overdue without
being pending, and a town's 逾期率 read 100 % — or nothing — where the dashboard counted
otherwise.)"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from doudi.core import clock
from doudi.monitoring import workflow


def pending_on(day: dt.date) -> Q:
    """The warnings standing open (未办结) on `day` (a filter on `monitoring.Warning`): the one
    definition of the denominator every overdue share divides by. Today (or a day the demo's
    clock has not reached) is what the records say now — not closed; a past day is read from
    when each warning was raised and closed. Both halves use the same basis as `overdue_on`,
    so no warning is ever overdue without being pending."""
    if day >= clock.today():
        return ~Q(status=workflow.CLOSED)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return Q(created_at__lt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=end))


def overdue_on(day: dt.date) -> Q:
    """The warnings overdue on `day`: pending on that day (`pending_on`, the same basis) and
    due before it."""
    return pending_on(day) & Q(due_on__lt=day)


def as_of(last: dt.date, today: dt.date | None = None) -> dt.date:
    """The day a period ending on `last` is judged on: its last day, or today if sooner."""
    return min(last, today or clock.today())


def is_overdue(warning) -> bool:  # noqa: ANN001
    """`overdue_on(today)` for one warning already loaded."""
    return warning.status != workflow.CLOSED and warning.due_on < clock.today()

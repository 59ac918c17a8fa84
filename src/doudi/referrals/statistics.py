"""转介统计: the one count of referrals every page uses — for an area and a month, the
referrals sent that month by kind and by the areas one level below, each split by where they
stand (待答复 / 已受理 / 已给予 / 不予救助), how many are overdue, and the amounts granted."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr

from doudi.core import clock
from doudi.referrals import kinds, workflow
from doudi.referrals.models import Referral

COLUMNS = {"referred": "转介", **workflow.STATES, "overdue": "逾期未答复",
           "granted_fen": "给予金额（元）"}


def _child_width(area: str) -> int:
    return {0: 2, 2: 4, 4: 6, 6: 9}.get(len(area), 12)


def month_counts(area: str, month: dt.date) -> dict:
    """{"rows": one per kind (with "label"), "areas": code → the same counts, "total"}.
    Overdue: still unanswered and past due on the month's last day (today for this month)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    judged = min(last, clock.today())
    qs = Referral.objects.filter(area_code__startswith=area, sent_on__gte=first,
                                 sent_on__lte=last).order_by()
    counted = {"referred": Count("id"),
               **{s: Count("id", filter=Q(status=s)) for s in workflow.STATES},
               "overdue": Count("id", filter=Q(status__in=workflow.OPEN, due_on__lt=judged)),
               "granted_fen": Sum("amount_fen", filter=Q(status=workflow.GRANTED))}
    empty = dict.fromkeys(counted, 0)
    by_kind = {r["kind"]: r for r in qs.values("kind").annotate(**counted)}
    rows = []
    for kind in kinds.shipped().values():
        found = by_kind.get(kind.code, empty)
        rows.append({"kind": kind.code, "label": kind.label, "department": kind.department,
                     **{k: found[k] or 0 for k in counted}})
    width = _child_width(area)
    areas: dict[str, dict] = defaultdict(lambda: dict(empty))
    for r in qs.annotate(_child=Substr("area_code", 1, width)).values("_child").annotate(
            **counted):
        areas[r["_child"]] = {k: r[k] or 0 for k in counted}
    total = {k: sum(r[k] for r in rows) for k in counted}
    return {"rows": rows, "areas": dict(areas), "total": total, "first": first, "last": last}

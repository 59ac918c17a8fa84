"""Statistics (统计) computed from the records, never typed in, for any area and any past month:
who was covered at the month's end, who came in and went out, what was paid, the edge
families, the warnings, the visits and the applications — each rolled up by the areas one
level below (the towns of a district, the villages of a town) and in total.

Every figure has the records behind it (`records`), which the dashboard lists when a figure is
clicked. Dates decide, not today's status: a month long past gives the same figures as on the
day it closed, unless a record was backdated since.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from doudi.benefits.models import Enrollment, PaymentLine
from doudi.care.models import Visit, VisitTask
from doudi.casework.models import Application
from doudi.monitoring.models import Warning
from doudi.registry.models import CategoryAssignment, Membership

FIGURES: dict[str, str] = {
    "covered_households": "在保户数",
    "covered_persons": "在保人数",
    "dibao_households": "低保户数",
    "tekun_persons": "特困人数",
    "new_enrollments": "新增保障对象",
    "exited_enrollments": "退出保障对象",
    "paid_fen": "当月发放金额（元）",
    "paid_lines": "当月发放人次",
    "average_fen": "人均发放（元）",
    "edge_households": "低保边缘家庭户数",
    "warnings_raised": "新增预警",
    "warnings_closed": "办结预警",
    "warnings_overdue": "月末逾期预警",
    "visits_done": "探访次数",
    "visit_tasks_due": "应探访任务",
    "visit_tasks_done": "按期完成探访",
    "applications_submitted": "受理申请",
    "applications_decided": "审批办结申请",
    "processing_days": "平均办理天数",
}
MONEY = {"paid_fen", "average_fen"}
# figures that are averages or otherwise have no list of records behind them
DERIVED = {"average_fen", "processing_days", "covered_persons", "paid_lines"}
HOUSEHOLD_PROGRAMMES = {"dibao", "edge", "hardship"}
# figures that count the records of a model whose date falls in the month
DATED = {
    "new_enrollments": (Enrollment, "start_date"),
    "exited_enrollments": (Enrollment, "end_date"),
    "visits_done": (Visit, "visited_on"),
    "visit_tasks_due": (VisitTask, "due_on"),
    "applications_submitted": (Application, "submitted_on"),
    "applications_decided": (Application, "decided_on"),
}


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def child_width(area: str) -> int:
    """How many digits name the areas one level below `area` (a prefix)."""
    return {0: 2, 2: 4, 4: 6, 6: 9}.get(len(area), 12)


def _in_force(first: dt.date, last: dt.date) -> Q:
    return Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=last))


def records(figure: str, area: str, month: dt.date) -> QuerySet:
    """The records a figure counts (for the drill-down list)."""
    first, last = month_bounds(month)
    if figure in ("covered_households", "dibao_households", "tekun_persons"):
        rows = Enrollment.objects.filter(_in_force(first, last), area_code__startswith=area)
        if figure == "dibao_households":
            rows = rows.filter(programme__in=("dibao", "single_person"))
        elif figure == "tekun_persons":
            rows = rows.filter(programme="tekun")
        return rows
    if figure in DATED:
        model, field = DATED[figure]
        return model.objects.filter(area_code__startswith=area, **{f"{field}__range":
                                                                   (first, last)})
    if figure == "paid_fen":
        return PaymentLine.objects.filter(area_code__startswith=area, month=first,
                                          status=PaymentLine.PAID)
    if figure == "edge_households":
        return CategoryAssignment.objects.filter(
            _in_force(first, last), area_code__startswith=area, category="edge",
            household__isnull=False)
    # the bureau's days (settings.TIME_ZONE), not UTC's
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    if figure == "warnings_raised":
        return Warning.objects.filter(area_code__startswith=area, created_at__gte=start,
                                      created_at__lt=end)
    if figure == "warnings_closed":
        return Warning.objects.filter(area_code__startswith=area, closed_at__gte=start,
                                      closed_at__lt=end)
    if figure == "warnings_overdue":
        return Warning.objects.filter(area_code__startswith=area, created_at__lt=end,
                                      due_on__lt=last).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=end))
    if figure == "visit_tasks_done":
        return VisitTask.objects.filter(area_code__startswith=area, due_on__range=(first, last),
                                        visit__visited_on__lte=F("due_on"))
    raise KeyError(figure)


@dataclass
class Table:
    area: str
    month: dt.date
    width: int
    rows: dict[str, dict[str, int | None]] = field(default_factory=dict)  # child → figures
    total: dict[str, int | None] = field(default_factory=dict)


def _count(qs: QuerySet, width: int, distinct: str | None = None) -> dict[str, int]:
    out: dict[str, set | int] = defaultdict(int if distinct is None else set)
    columns = ["area_code", distinct] if distinct else ["area_code"]
    for row in qs.values_list(*columns):
        key = row[0][:width]
        if distinct is None:
            out[key] += 1
        else:
            out[key].add(row[1])
    return {k: (v if isinstance(v, int) else len(v)) for k, v in out.items()}


def month_table(area: str, month: dt.date) -> Table:
    """Every figure for the areas one level below `area` and in total."""
    first, last = month_bounds(month)
    width = child_width(area)
    table = Table(area, first, width)
    per: dict[str, dict[str, int]] = {}
    per["covered_households"] = _count(records("covered_households", area, month), width,
                                       "household_id")
    per["dibao_households"] = _count(records("dibao_households", area, month), width,
                                     "household_id")
    per["tekun_persons"] = _count(records("tekun_persons", area, month), width, "person_id")
    per["covered_persons"] = _covered_persons(area, first, last, width)
    for key in ("new_enrollments", "exited_enrollments", "edge_households", "warnings_raised",
                "warnings_closed", "warnings_overdue", "visits_done", "visit_tasks_due",
                "visit_tasks_done", "applications_submitted", "applications_decided"):
        per[key] = _count(records(key, area, month), width)
    paid: dict[str, int] = defaultdict(int)
    lines: dict[str, int] = defaultdict(int)
    for code, total in records("paid_fen", area, month).values_list("area_code", "total_fen"):
        paid[code[:width]] += total
        lines[code[:width]] += 1
    per["paid_fen"], per["paid_lines"] = dict(paid), dict(lines)
    days: dict[str, list[int]] = defaultdict(list)
    for code, start, end in records("applications_decided", area, month).values_list(
            "area_code", "submitted_on", "decided_on"):
        days[code[:width]].append((end - start).days)
    children = sorted({c for figure in per.values() for c in figure})
    for child in children:
        row = {key: per[key].get(child, 0) for key in per}
        row["average_fen"] = row["paid_fen"] // row["paid_lines"] if row["paid_lines"] else None
        row["processing_days"] = (round(sum(days[child]) / len(days[child]))
                                  if days[child] else None)
        table.rows[child] = row
    total = {key: sum(per[key].values()) for key in per}
    total["average_fen"] = total["paid_fen"] // total["paid_lines"] if total["paid_lines"] \
        else None
    every = [d for v in days.values() for d in v]
    total["processing_days"] = round(sum(every) / len(every)) if every else None
    table.total = total
    return table


def _covered_persons(area: str, first: dt.date, last: dt.date, width: int) -> dict[str, int]:
    """Members of covered households (on the month's last day) and persons covered alone."""
    rows = Enrollment.objects.filter(_in_force(first, last), area_code__startswith=area) \
        .values_list("area_code", "household_id", "person_id", "programme")
    households: dict[str, set[int]] = defaultdict(set)
    persons: dict[str, set[int]] = defaultdict(set)
    for code, household, person, programme in rows:
        if person is None or programme in HOUSEHOLD_PROGRAMMES:
            households[code[:width]].add(household)
        else:
            persons[code[:width]].add(person)
    every = {h for s in households.values() for h in s}
    members: dict[int, set[int]] = defaultdict(set)
    ids = sorted(every)
    for start in range(0, len(ids), 5000):
        for household, person in Membership.objects.filter(
                _in_force(first, last), household_id__in=ids[start:start + 5000],
                co_resident=True).values_list("household_id", "person_id"):
            members[household].add(person)
    out = {}
    for child in set(households) | set(persons):
        covered = set(persons.get(child, set()))
        for household in households.get(child, set()):
            covered |= members[household]
        out[child] = len(covered)
    return out


def trend(area: str, months: list[dt.date]) -> list[tuple[dt.date, int, int]]:
    """(month, covered households, paid fen) for each month: the dashboard's trend line."""
    out = []
    for month in months:
        households = records("covered_households", area, month).values("household_id") \
            .distinct().count()
        paid = sum(records("paid_fen", area, month).values_list("total_fen", flat=True))
        out.append((month, households, paid))
    return out

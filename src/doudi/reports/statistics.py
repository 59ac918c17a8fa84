"""Statistics (统计) computed from the records, never typed in, for any area and any past month:
who was covered at the month's end, who came in and went out, what was paid, the edge
families, the warnings, the visits and the applications — each rolled up by the areas one
level below (the towns of a district, the villages of a town) and in total.

Every figure has the records behind it (`records`), which the dashboard lists when a figure is
clicked. Dates decide, not today's status: a month long past gives the same figures as on the
day it closed, unless a record was backdated since.

What stands at the month's end (在保, the warnings pending, overdue and 应保未保) is counted on
the month's last day — and, for the month under way, today (`monitoring.overdue.as_of`), the
day the home page and the monitoring dashboard count on: they call the same functions
(`coverage`, `counts`), so the month under way and today agree. The towns' performance
(`reports.performance`) divides figures of this module by each other.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from doudi.benefits import coverage
from doudi.benefits.models import Enrollment, PaymentLine
from doudi.care.models import Visit, VisitTask
from doudi.casework.models import Application
from doudi.community.models import Donation
from doudi.monitoring.models import Warning
from doudi.monitoring.overdue import as_of, overdue_on, pending_on
from doudi.programmes import catalogue
from doudi.registry import rural_watch
from doudi.registry.models import CategoryAssignment
from doudi.reports.models import CampaignFinding, CampaignSample

APPROVAL_WORKDAYS = 30  # 民发〔2021〕57号: 低保 审核确认 within 30 working days

FIGURES: dict[str, str] = {
    **coverage.FIGURES,
    "new_enrollments": "新增保障对象",
    "exited_enrollments": "退出保障对象",
    "paid_fen": "当月发放金额（元）",
    "paid_lines": "当月发放人次",
    "average_fen": "人均发放（元）",
    "edge_households": "低保边缘家庭户数",
    "warnings_raised": "新增预警",
    "warnings_closed": "办结预警",
    "warnings_pending": "未办结预警（月末；本月截至今日）",
    "warnings_overdue": "逾期未办结预警（月末；本月截至今日）",
    "uncovered_pending": "应保未保待处置预警（月末；本月截至今日）",
    "visits_done": "探访次数",
    "visit_tasks_due": "应探访任务",
    "visit_tasks_done": "按期完成探访",
    "applications_submitted": "受理申请",
    "applications_decided": "审批办结申请",
    "applications_on_time": "其中受理后30个工作日内办结",
    "processing_days": "平均办理天数",
    "findings_due": "整改期限在本月的检查问题",
    "findings_corrected": "其中按期整改",
    # who found the problems: households checked in the period with a finding of 互查 / 第三方评估
    "findings_peer_households": "互查发现问题的户数",
    "findings_evaluator_households": "第三方评估发现问题的户数",
    # 慈善资金/物资 (community.Donation): counted and summed by `donation_figures`
    "donations_received": "接收慈善捐赠（笔）",
    "donations_received_fen": "接收慈善资金（元）",
    "donations_given": "发放慈善捐赠（笔）",
    "donations_given_fen": "发放慈善资金（元）",
    # 乡村振兴's households (registry.rural_watch), for the report owed to both lines
    "relapse_watch_households": "防返贫监测户数",
    "relapse_watch_covered": "防返贫监测户中纳入低保或特困的户数",
    "lifted_households": "脱贫户数",
    "lifted_covered": "脱贫户中纳入低保或特困的户数",
    "rural_warnings_raised": "涉及防返贫监测户、脱贫户的新增预警",
    "rural_warnings_closed": "其中月末前已办结",
}
# figure → (categories, covered only): households carrying a 乡村振兴 category at the month's end
RURAL = {
    "relapse_watch_households": (("relapse_watch",), False),
    "relapse_watch_covered": (("relapse_watch",), True),
    "lifted_households": (("lifted_from_poverty",), False),
    "lifted_covered": (("lifted_from_poverty",), True),
}
MONEY = {"paid_fen", "average_fen", "donations_received_fen", "donations_given_fen"}
# figure → (direction, funds only): the donations a figure counts (funds: their fen summed)
DONATIONS = {
    "donations_received": ("received", False),
    "donations_received_fen": ("received", True),
    "donations_given": ("given", False),
    "donations_given_fen": ("given", True),
}
# the figures counted (and summed up areas); the other two are derived from them
COUNTED = [f for f in FIGURES if f not in ("average_fen", "processing_days")]
# figures that are averages or otherwise have no list of records behind them
DERIVED = {"average_fen", "processing_days", "covered_persons", "paid_lines"}
UNCOVERED = "uncovered_eligible"  # the warnings' kind for 应保未保
# figures that count the records of a model whose date falls in the month
DATED = {
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
    """Registry categories in force at the month's end (as enrollments are: `coverage`)."""
    return Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=last))


def standing_day(last: dt.date) -> dt.date:
    """The day what stands at the end of a period ending on `last` is counted on: that day,
    or today in a period under way (`monitoring.overdue.as_of`)."""
    return as_of(last)


def records(figure: str, area: str, month: dt.date) -> QuerySet:
    """The records a figure counts (for the drill-down list)."""
    return period_records(figure, area, *month_bounds(month))


def period_records(figure: str, area: str, first: dt.date, last: dt.date) -> QuerySet:
    """The records a figure counts over the days `first`…`last` (a month, a year, or the days
    of a period gone by so far); what stands is counted on `standing_day(last)`."""
    day = standing_day(last)
    if figure in coverage.FIGURES:  # 在保: on that day, as every page counts it
        return coverage.records(figure, area, day)
    if figure == "new_enrollments":  # beneficiaries, not enrollments (两项补贴 has two)
        return coverage.entered(area, first, last)
    if figure == "exited_enrollments":
        return coverage.left(area, first, last)
    if figure in DATED:
        model, field = DATED[figure]
        return model.objects.filter(area_code__startswith=area, **{f"{field}__range":
                                                                   (first, last)})
    if figure == "applications_on_time":
        return _decided_on_time(area, first, last)
    if figure in DONATIONS:
        direction, funds = DONATIONS[figure]
        given = Donation.objects.filter(area_code__startswith=area, direction=direction,
                                        donated_on__range=(first, last))
        return given.filter(kind=Donation.FUNDS) if funds else given
    if figure == "paid_fen":
        return PaymentLine.objects.filter(area_code__startswith=area,
                                          month__range=(first.replace(day=1), last),
                                          status=PaymentLine.PAID)
    if figure in RURAL:  # the category rows, one per household
        codes, only_covered = RURAL[figure]
        held = rural_watch.categories(area, last, codes)
        if only_covered:
            held = held.filter(household__in=rural_watch.covered(area, last, codes))
        return held
    if figure == "edge_households":
        return CategoryAssignment.objects.filter(
            _in_force(first, last), area_code__startswith=area,
            category=catalogue.category_of(catalogue.EDGE), household__isnull=False)
    # the bureau's days (settings.TIME_ZONE), not UTC's
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    if figure == "warnings_raised":
        return Warning.objects.filter(area_code__startswith=area, created_at__gte=start,
                                      created_at__lt=end)
    if figure == "warnings_closed":
        return Warning.objects.filter(area_code__startswith=area, closed_at__gte=start,
                                      closed_at__lt=end)
    if figure in ("rural_warnings_raised", "rural_warnings_closed"):
        raised = Warning.objects.filter(
            area_code__startswith=area, created_at__gte=start, created_at__lt=end,
            household__in=rural_watch.watched(area, last))
        return raised.filter(closed_at__lt=end) if figure == "rural_warnings_closed" else raised
    # pending and overdue on the standing day: the one definition (monitoring.overdue) that
    # the monitoring dashboard counts today with
    if figure == "warnings_pending":
        return Warning.objects.filter(pending_on(day), area_code__startswith=area)
    if figure == "warnings_overdue":
        return Warning.objects.filter(overdue_on(day), area_code__startswith=area)
    if figure == "uncovered_pending":
        return Warning.objects.filter(pending_on(day), area_code__startswith=area,
                                      kind=UNCOVERED)
    if figure == "visit_tasks_done":
        return VisitTask.objects.filter(area_code__startswith=area, due_on__range=(first, last),
                                        visit__visited_on__lte=F("due_on"))
    if figure == "findings_due":
        return CampaignFinding.objects.filter(area_code__startswith=area,
                                              due_on__range=(first, last))
    if figure in ("findings_peer_households", "findings_evaluator_households"):
        source = "peer" if figure == "findings_peer_households" else "evaluator"
        return CampaignSample.objects.filter(
            area_code__startswith=area, checked_on__range=(first, last),
            pk__in=CampaignFinding.objects.filter(source=source).values("sample_id"))
    if figure == "findings_corrected":
        return CampaignFinding.objects.filter(area_code__startswith=area,
                                              due_on__range=(first, last),
                                              corrected_on__lte=F("due_on"))
    raise KeyError(figure)


def _decided_on_time(area: str, first: dt.date, last: dt.date) -> QuerySet:
    """Applications decided in the days given within `APPROVAL_WORKDAYS` working days of
    their submission (the bureau's working-day calendar)."""
    from doudi.casework.services import calendar
    from doudi.core.workdays import add_workdays

    cal = calendar()
    decided = Application.objects.filter(area_code__startswith=area,
                                         decided_on__range=(first, last))
    on_time = [pk for pk, submitted, done in decided.values_list("pk", "submitted_on",
                                                                 "decided_on")
               if done <= add_workdays(submitted, APPROVAL_WORKDAYS, cal).day]
    return decided.filter(pk__in=on_time)


def counts(figure: str, area: str, first: dt.date, last: dt.date, width: int) -> dict[str, int]:
    """A counted figure over `first`…`last` per area one level below (the first `width`
    digits): what 统计分析, the towns' performance and the monitoring dashboard all read."""
    if figure in coverage.FIGURES:
        return dict(coverage.by_child(area, standing_day(last), width)[figure])
    if figure in DONATIONS:
        return donation_figures(area, first, last, width)[figure]
    return _count(period_records(figure, area, first, last), width)


def donation_figures(area: str, first: dt.date, last: dt.date,
                     width: int) -> dict[str, dict[str, int]]:
    """慈善捐赠 over the days: per area one level below, the donations received and given
    (count) and the funds among them (fen, summed exactly) — every figure of `DONATIONS`, by
    one grouped query over the records `period_records` lists."""
    out: dict[str, dict[str, int]] = {figure: {} for figure in DONATIONS}
    rows = Donation.objects.filter(area_code__startswith=area,
                                   donated_on__range=(first, last)).order_by().annotate(
        _child=Substr("area_code", 1, width)).values("_child", "direction").annotate(
        n=Count("*"), fen=Sum("amount_fen", filter=Q(kind=Donation.FUNDS)))
    for r in rows:
        out[f"donations_{r['direction']}"][r["_child"]] = r["n"]
        out[f"donations_{r['direction']}_fen"][r["_child"]] = r["fen"] or 0
    return out


@dataclass
class Table:
    area: str
    month: dt.date
    width: int
    rows: dict[str, dict[str, int | None]] = field(default_factory=dict)  # child → figures
    total: dict[str, int | None] = field(default_factory=dict)
    # when the figures were counted: a closed month's close, or the count a page is reading
    counted_at: dt.datetime | None = None
    closed: bool = False  # a closed month's frozen snapshot (月结)


def _by_child(qs: QuerySet, width: int) -> QuerySet:
    """`qs` grouped by the areas one level below (the first `width` digits of area_code)."""
    return qs.order_by().annotate(_child=Substr("area_code", 1, width)).values("_child")


def _count(qs: QuerySet, width: int, distinct: str | None = None) -> dict[str, int]:
    """Rows (or distinct values of `distinct`) per child area, counted by the database: a
    district's figures would otherwise bring every enrollment and line into Python."""
    counted = Count(distinct, distinct=True) if distinct else Count("*")
    return {r["_child"]: r["n"] for r in _by_child(qs, width).annotate(n=counted)}


@dataclass
class Counted:
    """A month's figures per area (the first `width` digits of area_code) before the derived
    ones: what a table is assembled from, and what a month's close rolls up from villages."""

    per: dict[str, dict[str, int]]
    days: dict[str, tuple[int, int]]  # area → (processing days summed, decided applications)


def counted(area: str, month: dt.date, width: int) -> Counted:
    """Every counted figure of `month` for the areas (`width` digits) under `area`."""
    first, last = month_bounds(month)
    per: dict[str, dict[str, int]] = dict(coverage.by_child(area, standing_day(last), width))
    for key in ("new_enrollments", "exited_enrollments", "edge_households", "warnings_raised",
                "warnings_closed", "warnings_pending", "warnings_overdue", "uncovered_pending",
                "visits_done", "visit_tasks_due", "visit_tasks_done", "applications_submitted",
                "applications_decided", "applications_on_time", "findings_due",
                "findings_corrected", "findings_peer_households",
                "findings_evaluator_households", *RURAL, "rural_warnings_raised",
                "rural_warnings_closed"):
        per[key] = counts(key, area, first, last, width)
    per.update(donation_figures(area, first, last, width))
    paid = _by_child(records("paid_fen", area, month), width).annotate(
        fen=Sum("total_fen"), n=Count("*"))
    per["paid_fen"] = {r["_child"]: r["fen"] or 0 for r in paid}
    per["paid_lines"] = {r["_child"]: r["n"] for r in paid}
    days: dict[str, tuple[int, int]] = {}
    for code, start, end in records("applications_decided", area, month).values_list(
            "area_code", "submitted_on", "decided_on"):
        summed, n = days.get(code[:width], (0, 0))
        days[code[:width]] = (summed + (end - start).days, n + 1)
    return Counted(per, days)


def _derived(row: dict, days: tuple[int, int]) -> dict:
    row["average_fen"] = row["paid_fen"] // row["paid_lines"] if row["paid_lines"] else None
    row["processing_days"] = round(days[0] / days[1]) if days[1] else None
    return row


def assemble(area: str, month: dt.date, width: int, figures: Counted) -> Table:
    """The table of `area`: a row per area one level below (`width` digits) and the total."""
    table = Table(area, month_bounds(month)[0], width)
    per = figures.per
    children = sorted({c for figure in per.values() for c in figure} | set(figures.days))
    for child in children:
        table.rows[child] = _derived({key: per[key].get(child, 0) for key in per},
                                     figures.days.get(child, (0, 0)))
    every = (sum(s for s, _ in figures.days.values()), sum(n for _, n in figures.days.values()))
    table.total = _derived({key: sum(per[key].values()) for key in per}, every)
    return table


def recount(area: str, month: dt.date) -> Table:
    """Every figure for the areas one level below `area` and in total, counted now from the
    records (what a month's close freezes, and what the month under way shows)."""
    width = child_width(area)
    return assemble(area, month, width, counted(area, month, width))


def month_table(area: str, month: dt.date, *, fresh: bool = False) -> Table:
    """Every figure for the areas one level below `area` and in total: a closed month's frozen
    snapshot, or the month under way counted (kept for the stated staleness unless `fresh`)."""
    from doudi.reports import snapshots

    return snapshots.month_table(area, month, fresh=fresh)


def trend(area: str, months: list[dt.date]) -> list[tuple[dt.date, int, int]]:
    """(month, covered households, paid fen) for each month: the dashboard's trend line. A
    closed month's two figures are its snapshot's totals, as its table shows them."""
    from doudi.reports import snapshots

    firsts = [month_bounds(m)[0] for m in months]
    frozen = snapshots.totals(area, [m for m in firsts if snapshots.is_closed(m)])
    known = {first: (total.get("covered_households", 0), total.get("paid_fen", 0))
             for first, total in frozen.items()}
    counted_now = _trend_counted(area, [m for m in firsts if m not in known])
    return [(month, *known.get(first, counted_now.get(first, (0, 0))))
            for month, first in zip(months, firsts, strict=True)]


def _trend_counted(area: str, months: list[dt.date]) -> dict[dt.date, tuple[int, int]]:
    """The trend's two figures counted from the records for months not closed."""
    # one scan of the enrollments and one of the lines for all the months (the same records
    # as `coverage.records("covered_households")` and `records("paid_fen")`), not two queries
    # per month
    if not months:
        return {}
    bounds = [month_bounds(m) for m in months]
    covered = Enrollment.objects.filter(area_code__startswith=area).aggregate(**{
        f"m{i}": Count("household_id", distinct=True,
                       filter=coverage.in_force(standing_day(last)))
        for i, (first, last) in enumerate(bounds)})
    paid = dict(PaymentLine.objects.filter(
        area_code__startswith=area, month__in=[first for first, _ in bounds],
        status=PaymentLine.PAID).order_by().values("month").annotate(fen=Sum("total_fen"))
        .values_list("month", "fen"))
    return {first: (covered[f"m{i}"], paid.get(first, 0) or 0)
            for i, (first, _) in enumerate(bounds)}

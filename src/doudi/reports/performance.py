"""绩效评价: the towns of an area side by side for a period — approvals decided within the
legal time limit, warnings overdue, visits done on time, and the share of checked households
where a campaign found a problem — whoever found it: the campaign's own checkers, another
town's officers (互查) or an outside assessor (第三方评估), each also counted apart. Computed
from the records like every statistic."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from doudi.care.models import VisitTask
from doudi.casework.models import Application
from doudi.core.excel import one_sheet
from doudi.core.shares import percent, ratio_bp
from doudi.core.workdays import add_workdays
from doudi.monitoring.models import Warning
from doudi.monitoring.overdue import as_of, overdue_on
from doudi.reports.models import CampaignFinding, CampaignSample

APPROVAL_WORKDAYS = 30  # 民发〔2021〕57号: 低保 审核确认 within 30 working days


@dataclass
class TownPerformance:
    town: str
    decided: int = 0
    decided_on_time: int = 0
    warnings_open: int = 0
    warnings_overdue: int = 0
    visits_due: int = 0
    visits_on_time: int = 0
    checked: int = 0
    with_problems: int = 0
    # of those, households where 互查 / 第三方评估 found a problem (CampaignFinding.source)
    peer_problems: int = 0
    evaluator_problems: int = 0
    extra: dict = field(default_factory=dict)

    @staticmethod
    def _bp(part: int, whole: int) -> int | None:
        return ratio_bp(part, whole)

    @property
    def on_time_bp(self) -> int | None:
        return self._bp(self.decided_on_time, self.decided)

    @property
    def overdue_bp(self) -> int | None:
        return self._bp(self.warnings_overdue, self.warnings_open)

    @property
    def visits_bp(self) -> int | None:
        return self._bp(self.visits_on_time, self.visits_due)

    @property
    def error_bp(self) -> int | None:
        return self._bp(self.with_problems, self.checked)


def towns(area: str, first: dt.date, last: dt.date) -> list[TownPerformance]:
    from doudi.casework.services import calendar

    cal = calendar()
    rows: dict[str, TownPerformance] = {}

    def row(code: str) -> TownPerformance:
        return rows.setdefault(code[:9], TownPerformance(code[:9]))

    for code, submitted, decided in Application.objects.filter(
            area_code__startswith=area, decided_on__range=(first, last)).values_list(
            "area_code", "submitted_on", "decided_on"):
        r = row(code)
        r.decided += 1
        if decided <= add_workdays(submitted, APPROVAL_WORKDAYS, cal).day:
            r.decided_on_time += 1
    # open and overdue on the period's last day, or today in a period under way: the one
    # definition of overdue (monitoring.overdue) every page counts with
    day = as_of(last)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    warnings = Warning.objects.filter(area_code__startswith=area)
    for code in warnings.filter(created_at__lt=end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=end)).values_list("area_code",
                                                                          flat=True):
        row(code).warnings_open += 1
    for code in warnings.filter(overdue_on(day)).values_list("area_code", flat=True):
        row(code).warnings_overdue += 1
    for code, due, visited in VisitTask.objects.filter(
            area_code__startswith=area, due_on__range=(first, last)).values_list(
            "area_code", "due_on", "visit__visited_on"):
        r = row(code)
        r.visits_due += 1
        if visited is not None and visited <= due:
            r.visits_on_time += 1
    checked: dict[str, set[int]] = defaultdict(set)
    for code, household in CampaignSample.objects.filter(
            area_code__startswith=area, checked_on__range=(first, last)).values_list(
            "area_code", "household_id"):
        checked[code[:9]].add(household)
    bad: dict[str, set[int]] = defaultdict(set)
    by_source: dict[tuple[str, str], set[int]] = defaultdict(set)
    for code, household, source in CampaignFinding.objects.filter(
            area_code__startswith=area, sample__checked_on__range=(first, last)).values_list(
            "area_code", "sample__household_id", "source"):
        bad[code[:9]].add(household)
        by_source[code[:9], source].add(household)
    for code, households in checked.items():
        r = row(code)
        r.checked, r.with_problems = len(households), len(bad[code] & households)
        r.peer_problems = len(by_source[code, "peer"] & households)
        r.evaluator_problems = len(by_source[code, "evaluator"] & households)
    return [rows[k] for k in sorted(rows)]


def xlsx(rows: list[TownPerformance], names: dict[str, str], title: str) -> bytes:
    return one_sheet("绩效评价", ["镇街", "审批办结", "按时办结", "按时率", "未办结预警",
                                 "逾期预警", "逾期率", "应探访", "按期探访", "探访完成率",
                                 "抽查户数", "问题户数", "问题率", "其中互查发现",
                                 "其中第三方评估发现"],
                     ([names.get(r.town, r.town), r.decided, r.decided_on_time,
                       percent(r.on_time_bp), r.warnings_open, r.warnings_overdue,
                       percent(r.overdue_bp), r.visits_due, r.visits_on_time, percent(r.visits_bp),
                       r.checked, r.with_problems, percent(r.error_bp), r.peer_problems,
                       r.evaluator_problems] for r in rows), title=title)

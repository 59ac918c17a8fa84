"""绩效评价 that agrees with itself: on a synthetic district, each town's five indicators
(审核时限, 预警处置, 探访到位, 问题整改, 应保尽保) equal counts made here by plain walks over the
records — for a month gone by and for the month under way — and for the month under way the
performance page, the monitoring dashboard and 统计分析 show the same pending, overdue, 在保
and 应保未保 figures for every town."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from doudi.audit import context
from doudi.benefits.models import Enrollment
from doudi.care.models import Visit, VisitTask
from doudi.casework.models import Application
from doudi.casework.services import calendar
from doudi.core import clock
from doudi.core.shares import ratio_bp
from doudi.monitoring.models import Warning
from doudi.registry.models import Household
from doudi.reports import performance, statistics
from doudi.reports.models import Campaign, CampaignFinding, CampaignSample
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2026, 11, 18)  # November is under way, October is gone by
PAST, CURRENT = (D(2026, 10, 1), D(2026, 10, 31)), (D(2026, 11, 1), D(2026, 11, 30))


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


@pytest.fixture
def district(users, shipped_parameters, tmp_path, monkeypatch):
    call_command("synth", "--area", "341002", "--households", "300", "--seed", "21",
                 "--into-db", "--out", str(tmp_path), "--today", "2026-09-15",
                 stdout=StringIO())
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    rng = random.Random(11)
    households = list(Household.objects.order_by("id"))
    assert len({h.area_code[:9] for h in households}) > 3
    with context.job("test performance records"):
        # applications: decided some within 30 working days, some later, some not yet
        for i, h in enumerate(households[:150]):
            submitted = _day(rng, D(2026, 8, 20), D(2026, 11, 15))
            decided = submitted + dt.timedelta(days=rng.choice([5, 20, 38, 41, 45, 60, 90]))
            Application.objects.create(
                number=f"PERF{i:05d}", programme="dibao", channel="village",
                state="approved" if decided <= TODAY else "town_review", household=h,
                reason="测试", submitted_on=submitted, step_started_on=submitted,
                decided_on=decided if decided <= TODAY else None, area_code=h.area_code)
        # warnings: raised and closed at known times, some 应保未保; some stored at a wall-clock
        # time after the demo's today (a run whose created_at is the server's now)
        for i, h in enumerate(households[::2]):
            raised = _day(rng, D(2026, 9, 1), D(2026, 11, 17))
            closed = rng.random() < 0.4
            closed_on = min(TODAY, raised + dt.timedelta(days=rng.randrange(1, 40)))
            w = Warning.objects.create(
                indicator="uncovered_eligible" if i % 3 == 0 else "medical_costs",
                kind="uncovered_eligible" if i % 3 == 0 else "risk_event", level=2,
                channel="monitoring", household=h, programme="dibao", area_code=h.area_code,
                due_on=raised + dt.timedelta(days=rng.randrange(3, 30)),
                handler_level="village", owner_code=h.area_code, summary=f"绩效{i}",
                status="closed" if closed else rng.choice(["open", "verified"]),
                open_key=None if closed else f"perf-{i}")
            Warning.objects.filter(pk=w.pk).update(
                created_at=timezone.now() if i % 17 == 0 else _at(raised),
                closed_at=_at(closed_on, 15) if closed else None)
        # visit tasks, due in both months, visited in time, late or not at all
        for h in households[:200]:
            head = h.head()
            if head is None:
                continue
            due = _day(rng, D(2026, 10, 1), D(2026, 11, 30))
            task = VisitTask.objects.create(
                person=head, household=h, group="dispersed_tekun", period_start=due.replace(
                    day=1), due_on=due, handler_level="village", owner_code=h.area_code,
                area_code=h.area_code)
            visited = due + dt.timedelta(days=rng.choice([-9, -2, 0, 3, 12]))
            if rng.random() < 0.7 and visited <= TODAY:
                visit = Visit.objects.create(person=head, household=h, visited_on=visited,
                                             seen="本人", living="正常", carer="na",
                                             area_code=h.area_code)
                VisitTask.objects.filter(pk=task.pk).update(visit=visit, status="done")
        # campaign findings with correction deadlines in both months
        campaign = Campaign.objects.create(
            name="回头看", kind="look_back", programmes=["dibao"], rate_bp=1000, seed=1,
            starts_on=D(2026, 9, 1), due_on=D(2026, 11, 30), area_code="341002")
        for i, h in enumerate(households[1:120:3]):
            sample = CampaignSample.objects.create(
                campaign=campaign, household=h, town=h.area_code[:9], programme="dibao",
                checked_on=_day(rng, D(2026, 9, 20), TODAY), area_code=h.area_code)
            for item in ("income", "file")[: 1 + i % 2]:
                due = _day(rng, D(2026, 10, 1), D(2026, 11, 30))
                corrected = due + dt.timedelta(days=rng.choice([-10, 0, 5]))
                CampaignFinding.objects.create(  # found by the district, 互查 or 第三方评估
                    sample=sample, item=item, note="问题", due_on=due,
                    source=rng.choice(["own", "peer", "evaluator"]),
                    corrected_on=corrected if rng.random() < 0.7 and corrected <= TODAY
                    else None, area_code=h.area_code)
    return users


def _on_time(submitted: dt.date, decided: dt.date) -> bool:
    """Decided within 30 working days: counted day by day, not by adding working days."""
    cal = calendar()
    workdays = sum(cal.is_workday(submitted + dt.timedelta(days=n))
                   for n in range(1, (decided - submitted).days + 1))
    return workdays <= 30


def _independent(first: dt.date, last: dt.date) -> dict[str, dict[str, int]]:
    """town → figure → count, by plain walks over every record."""
    until = min(last, TODAY)
    under_way = until >= TODAY
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in Application.objects.all():
        if a.decided_on and first <= a.decided_on <= until:
            out[a.area_code[:9]]["applications_decided"] += 1
            out[a.area_code[:9]]["applications_on_time"] += _on_time(a.submitted_on,
                                                                     a.decided_on)
    for w in Warning.objects.all():
        if under_way:  # today: what the records say now
            standing = w.status != "closed"
        else:  # a past day: from when it was raised and closed (the bureau's days)
            standing = (timezone.localtime(w.created_at).date() <= until and (
                w.closed_at is None or timezone.localtime(w.closed_at).date() > until))
        if standing:
            town = out[w.area_code[:9]]
            town["warnings_pending"] += 1
            town["warnings_overdue"] += w.due_on < until
            town["uncovered_pending"] += w.kind == "uncovered_eligible"
    for t in VisitTask.objects.select_related("visit"):
        if first <= t.due_on <= until:
            out[t.area_code[:9]]["visit_tasks_due"] += 1
            out[t.area_code[:9]]["visit_tasks_done"] += bool(
                t.visit and t.visit.visited_on <= t.due_on)
    for f in CampaignFinding.objects.all():
        if first <= f.due_on <= until:
            out[f.area_code[:9]]["findings_due"] += 1
            out[f.area_code[:9]]["findings_corrected"] += bool(
                f.corrected_on and f.corrected_on <= f.due_on)
    for source in ("peer", "evaluator"):
        found = {(f.sample.area_code[:9], f.sample.household_id) for f in
                 CampaignFinding.objects.select_related("sample").filter(source=source)
                 if first <= f.sample.checked_on <= until}
        for town, _ in found:
            out[town][f"findings_{source}_households"] += 1
    covered: dict[str, set[int]] = defaultdict(set)
    for e in Enrollment.objects.all():
        if e.start_date <= until and (e.end_date is None or e.end_date > until):
            covered[e.area_code[:9]].add(e.household_id)
    for town, ids in covered.items():
        out[town]["covered_households"] = len(ids)
    return out


@pytest.mark.parametrize("period", [PAST, CURRENT], ids=["past-month", "month-under-way"])
def test_each_indicator_equals_an_independent_count(district, period) -> None:
    truth = _independent(*period)
    rows = {r.town: r for r in performance.towns("341002", *period)}
    assert set(rows) == {t for t, f in truth.items() if any(f.values())}
    for figure in performance.FIGURES:
        assert sum(truth[t][figure] for t in truth) > 0, figure  # the test proves something
        for town, row in rows.items():
            assert row.figures.get(figure, 0) == truth[town][figure], (figure, town)
    for indicator in performance.INDICATORS:
        for town, row in rows.items():
            whole = sum(truth[town][f] for f in indicator.denominator)
            assert row.rate_bp(indicator) == ratio_bp(truth[town][indicator.numerator], whole)


def test_the_month_under_way_is_judged_today(district) -> None:
    """Not 100 % overdue nor a visit late before its day: a visit due after today is not
    counted yet, a warning raised by a run stored after the demo's today is pending today."""
    rows = performance.towns("341002", *CURRENT)
    due = sum(r.figures.get("visit_tasks_due", 0) for r in rows)
    whole_month = VisitTask.objects.filter(due_on__range=CURRENT).count()
    assert due == VisitTask.objects.filter(due_on__range=(CURRENT[0], TODAY)).count()
    assert due < whole_month
    for r in rows:
        assert r.figures.get("warnings_overdue", 0) <= r.figures.get("warnings_pending", 0)


def _cells(html: str, row_attr: str) -> dict[str, dict[str, str]]:
    out = {}
    for code, body in re.findall(rf'<tr {row_attr}="(\w+)">(.*?)</tr>', html, re.S):
        out[code] = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in re.findall(
            r'data-figure="([\w-]+)">(.*?)</td>', body, re.S)}
    return out


def test_the_dashboard_statistics_and_performance_page_agree(district, client) -> None:
    client.login(username="district_approver", password=PASSWORD)
    dashboard = _cells(client.get("/monitoring/").content.decode(), "data-code")
    page = _cells(client.get("/reports/performance/?month=2026-11").content.decode(),
                  "data-town")
    table = statistics.month_table("341002", CURRENT[0])
    rows = {r.town: r for r in performance.towns("341002", *CURRENT)}
    assert dashboard and set(rows) <= set(dashboard) | {""}
    for town, row in rows.items():
        shown, dash = page[town], dashboard[town]
        for key, figure in (("open", "warnings_pending"), ("overdue", "warnings_overdue"),
                            ("covered", "covered_households"),
                            ("uncovered", "uncovered_pending")):
            assert int(dash[key]) == row.figures.get(figure, 0) == \
                table.rows.get(town, {}).get(figure, 0), (town, key)
        assert int(shown["warnings-part"]) == row.figures.get("warnings_overdue", 0)
        assert int(shown["warnings-whole"]) == row.figures.get("warnings_pending", 0)
        assert shown["coverage-rate"] == dash["rate"], town
        assert int(shown["coverage-part"]) == int(dash["covered"])
    past = _cells(client.get("/reports/performance/?month=2026-10").content.decode(),
                  "data-town")
    truth = _independent(*PAST)
    for town, cells in past.items():
        if town != "total":
            assert int(cells["approval-whole"]) == truth[town]["applications_decided"]
            assert int(cells["corrections-part"]) == truth[town]["findings_corrected"]
    xlsx = client.get("/reports/performance/?month=2026-11&format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")

"""Every dashboard figure equals an independent count over the records, at district and town
level, for two months; and the dashboard's figures link down to the households."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from doudi.audit import context
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment, PaymentLine
from doudi.care.models import Visit, VisitTask
from doudi.casework.models import Application
from doudi.monitoring.models import Warning
from doudi.registry.models import CategoryAssignment, Membership
from doudi.reports import statistics
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
D = dt.date
MONTHS = (D(2026, 10, 1), D(2026, 11, 1))


def _naive(area: str, month: dt.date, width: int) -> tuple[dict, dict]:
    """The figures by a plain walk over every record (no grouping in the database)."""
    first, last = statistics.month_bounds(month)
    rows: dict[str, dict[str, set | int]] = defaultdict(lambda: defaultdict(set))

    def add(key: str, code: str, item: object) -> None:
        if code.startswith(area):
            rows[code[:width]][key].add(item)
            rows["*"][key].add(item)

    def in_force(start, end) -> bool:
        return start <= last and (end is None or end > last)

    everything = list(Enrollment.objects.all())
    owners: dict[tuple, list[Enrollment]] = defaultdict(list)
    for e in everything:
        owners[e.household_id, e.person_id, e.programme].append(e)

    def first_of_owner(e: Enrollment, day: dt.date, entering: bool) -> bool:
        """No other enrollment of the owner's programme covers the day before it starts (or
        the day it ends), and no sibling starting (ending) the same day comes before it."""
        for f in owners[e.household_id, e.person_id, e.programme]:
            if f.pk == e.pk:
                continue
            if (f.start_date if entering else f.end_date) == day and f.pk < e.pk:
                return False
            covers = (f.start_date < day and (f.end_date is None or f.end_date >= day)) \
                if entering else (f.start_date <= day and (f.end_date is None
                                                           or f.end_date > day))
            if covers:
                return False
        return True

    for e in everything:
        if in_force(e.start_date, e.end_date):
            add("covered_households", e.area_code, e.household_id)
            if e.programme in ("dibao", "single_person"):
                add("dibao_households", e.area_code, e.household_id)
            if e.programme == "tekun":
                add("tekun_persons", e.area_code, e.person_id)
        if first <= e.start_date <= last and first_of_owner(e, e.start_date, True):
            add("new_enrollments", e.area_code, e.pk)
        if e.end_date and first <= e.end_date <= last and first_of_owner(e, e.end_date, False):
            add("exited_enrollments", e.area_code, e.pk)
    for line in PaymentLine.objects.all():
        if line.month == first and line.status == "paid":
            add("paid_lines", line.area_code, line.pk)
            add("_paid", line.area_code, (line.pk, line.total_fen))
    for c in CategoryAssignment.objects.filter(category="edge", household__isnull=False):
        if in_force(c.start_date, c.end_date):
            add("edge_households", c.area_code, c.pk)
    for w in Warning.objects.all():
        made = w.created_at.astimezone().date()
        if first <= made <= last:
            add("warnings_raised", w.area_code, w.pk)
    for v in Visit.objects.all():
        if first <= v.visited_on <= last:
            add("visits_done", v.area_code, v.pk)
    for t in VisitTask.objects.all():
        if first <= t.due_on <= last:
            add("visit_tasks_due", t.area_code, t.pk)
    for a in Application.objects.all():
        if first <= a.submitted_on <= last:
            add("applications_submitted", a.area_code, a.pk)
    totals = {}
    out = {}
    for code, figures in rows.items():
        counted = {k: len(v) for k, v in figures.items() if not k.startswith("_")}
        counted["paid_fen"] = sum(fen for _, fen in figures.get("_paid", set()))
        if code == "*":
            totals = counted
        else:
            out[code] = counted
    return out, totals


@pytest.mark.parametrize("month", MONTHS, ids=["2026-10", "2026-11"])
@pytest.mark.parametrize("area", ["341002", "341002102"], ids=["district", "town"])
def test_every_figure_equals_an_independent_count(district, area, month) -> None:
    table = statistics.month_table(area, month)
    rows, totals = _naive(area, month, table.width)
    checked = ("covered_households", "dibao_households", "tekun_persons", "new_enrollments",
               "exited_enrollments", "paid_lines", "paid_fen", "edge_households",
               "warnings_raised", "visits_done", "visit_tasks_due", "applications_submitted")
    assert totals.get("covered_households", 0) > 0
    for key in checked:
        assert table.total[key] == totals.get(key, 0), key
        for code, figures in table.rows.items():
            assert figures[key] == rows.get(code, {}).get(key, 0), (key, code)
        for code, figures in rows.items():
            assert table.rows[code][key] == figures.get(key, 0), (key, code)


def test_past_months_do_not_change_with_today(district) -> None:
    before = statistics.month_table("341002", MONTHS[0]).total
    Enrollment.objects.filter(end_date__isnull=True).update(end_date=D(2026, 11, 20))
    after = statistics.month_table("341002", MONTHS[0]).total
    assert before["covered_households"] == after["covered_households"]
    assert statistics.month_table("341002", MONTHS[1]).total["covered_households"] == 0


def test_covered_persons_count_the_members_of_covered_households(district) -> None:
    last = statistics.month_bounds(MONTHS[1])[1]
    households = {e.household_id for e in Enrollment.objects.all()
                  if e.start_date <= last and (e.end_date is None or e.end_date > last)
                  and (e.person_id is None or e.programme == "dibao")}
    persons = {e.person_id for e in Enrollment.objects.all()
               if e.start_date <= last and (e.end_date is None or e.end_date > last)
               and e.person_id is not None and e.programme != "dibao"}
    members = {m.person_id for m in Membership.objects.filter(household_id__in=households,
                                                              co_resident=True)
               if m.start_date <= last and (m.end_date is None or m.end_date > last)}
    assert statistics.month_table("341002", MONTHS[1]).total["covered_persons"] == len(
        members | persons)


def test_the_dashboard_drills_down_to_households(client, district) -> None:
    client.login(username="district_officer", password=PASSWORD)
    page = client.get("/reports/?month=2026-10").content.decode()
    assert "在保户数" in page and "<svg" in page and "<script" not in page.split("<svg")[1]
    assert "/reports/?area=341002102&amp;month=2026-10" in page  # the town's bar and column
    listing = client.get("/reports/list/?figure=covered_households&area=341002102"
                         "&month=2026-10")
    text = listing.content.decode()
    some = Enrollment.objects.filter(area_code__startswith="341002102").first()
    assert f"/households/{some.household_id}/" in text
    assert client.get("/reports/list/?figure=no_such_figure").status_code == 404
    outside = client.get("/reports/list/?figure=covered_households&area=440103&month=2026-10")
    assert "440103" not in outside.content.decode().split("<h1>")[1]  # the user's own area


def test_new_and_exited_beneficiaries_count_owners_not_enrollments(users, new_id) -> None:
    """两项补贴 pays a person two enrollments, and an old one may be split into its parts:
    neither makes a second new beneficiary nor an exit."""
    from doudi.programmes import catalogue
    from tests.conftest import VILLAGE, make_household

    living, care = (u.code for u in catalogue.parts(catalogue.get("disability").code))
    by = users.district_approver
    with context.job("test beneficiaries"):
        split_hh, added_hh, both_hh, dibao_hh = (make_household(by, VILLAGE, new_id)
                                                 for _ in range(4))

        def enrol(hh, start, part="", programme="disability", person=True):
            return benefits.enroll(by=by, household=hh, programme=programme, part=part,
                                   amount_fen=10_000, start_date=start,
                                   person=hh.head() if person else None,
                                   part_unknown="" if part or programme != "disability"
                                   else "测试")

        def stop(e, day):
            benefits.change(by=by, enrollment=e, kind="stop", effective_date=day, reason="测试")

        old = enrol(split_hh, D(2026, 1, 5))  # whole, split into its parts on 1 October
        stop(old, D(2026, 10, 1))
        enrol(split_hh, D(2026, 10, 1), living)
        enrol(split_hh, D(2026, 10, 1), care)
        enrol(added_hh, D(2026, 3, 1), living)  # care added in October: no new beneficiary
        added_care = enrol(added_hh, D(2026, 10, 20), care)
        stop(added_care, D(2026, 11, 3))  # and stopped in November: no exit, living goes on
        pair = [enrol(both_hh, D(2026, 10, 8), part) for part in (living, care)]  # one new
        for e in pair:  # both stopped the same day in November: one exit
            stop(e, D(2026, 11, 20))
        stop(enrol(dibao_hh, D(2026, 10, 2), programme="dibao", person=False), D(2026, 11, 9))
    october, november = (statistics.month_table("341002", m) for m in MONTHS)
    assert october.total["new_enrollments"] == 2  # both_hh's person and dibao_hh
    assert october.total["exited_enrollments"] == 0
    assert november.total["new_enrollments"] == 0
    assert november.total["exited_enrollments"] == 2  # both_hh's person and dibao_hh
    listed = set(statistics.records("new_enrollments", "341002", MONTHS[0]).values_list(
        "household_id", flat=True))
    assert listed == {both_hh.pk, dibao_hh.pk}

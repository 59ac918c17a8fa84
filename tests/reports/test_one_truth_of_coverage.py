"""在保户数 / 在保人数 / 低保户数 / 特困人数 are one figure wherever they are shown: the home page,
the monitoring dashboard's 应保尽保, 统计分析, the report owed upward and the department
outcomes API all equal a count made here from the enrollments and memberships themselves, on a
synthetic district (any seed: `DOUDI_TEST_SEED`), with enrollments that ended, start later or
cover only one member, and programme categories left behind that no enrollment backs. And an
approved case closes the 应保未保 warning it answers."""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.benefits import coverage, services
from doudi.benefits.models import Enrollment
from doudi.casework import services as casework
from doudi.exchange.department_api import issue_department_token
from doudi.exchange.imports import import_bytes
from doudi.exchange.models import FeedType
from doudi.monitoring.models import Warning
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.reports import statistics
from tests.casework.flow import approve, to_decision
from tests.conftest import DISTRICT, PASSWORD

pytestmark = pytest.mark.django_db
SEED = int(os.environ.get("DOUDI_TEST_SEED", "23"))
WHOLE_HOUSEHOLD = {"dibao", "edge", "hardship"}  # written out: an independent count


def _independent_sets(day: dt.date) -> dict[str, set[int]]:
    live = [e for e in Enrollment.objects.all()
            if e.start_date <= day and (e.end_date is None or e.end_date > day)]
    persons: set[int] = set()
    for e in live:
        if e.person_id is None or e.programme in WHOLE_HOUSEHOLD:
            persons |= {m.person_id for m in Membership.objects.filter(
                household_id=e.household_id, co_resident=True, start_date__lte=day)
                if m.end_date is None or m.end_date > day}
        else:
            persons.add(e.person_id)
    return {
        "covered_households": {e.household_id for e in live},
        "covered_persons": persons,
        "dibao_households": {e.household_id for e in live
                             if e.programme in ("dibao", "single_person")},
        "tekun_persons": {e.person_id for e in live if e.programme == "tekun"},
    }


def _independent(day: dt.date) -> dict[str, int]:
    return {figure: len(ids) for figure, ids in _independent_sets(day).items()}


@pytest.fixture
def district(users, tmp_path, shipped_parameters):
    call_command("synth", "--area", "341002", "--households", "300", "--seed", str(SEED),
                 "--out", str(tmp_path / "synth"), "--into-db", stdout=StringIO())
    today = timezone.localdate()
    rows = list(Enrollment.objects.order_by("id"))
    # household programmes and programmes of one member, or the count proves little
    assert any(e.person_id is None for e in rows) and any(e.person_id for e in rows)
    # some ended last month, some start next month: the day counted matters
    for e in rows[::7]:
        e.end_date = today.replace(day=1) - dt.timedelta(days=3)
        e.save(update_fields=["end_date"])
    for e in rows[3::11]:
        e.start_date = today + dt.timedelta(days=40)
        e.save(update_fields=["start_date"])
    # 低保 and 特困 categories no enrollment backs (typed before the one door): no page counts them
    bare = (Household.objects.exclude(enrollments__isnull=False)
            .exclude(categories__end_date__isnull=True, categories__isnull=False)
            .exclude(memberships__person__categories__isnull=False).order_by("id")[:5])
    CategoryAssignment.objects.bulk_create(
        [CategoryAssignment(household=h, category="dibao", start_date=today.replace(day=1)
                            - dt.timedelta(days=90), area_code=h.area_code) for h in bare]
        + [CategoryAssignment(person=m.person, category="tekun",
                              start_date=today.replace(day=1) - dt.timedelta(days=90),
                              area_code=m.person.area_code)
           for m in Membership.objects.filter(household__in=list(bare), end_date__isnull=True)
           .select_related("person")[:3]])
    assert CategoryAssignment.objects.filter(household__in=list(bare)).count() == len(bare) > 0
    assert CategoryAssignment.objects.filter(person__memberships__household__in=list(bare),
                                             category="tekun").exists()
    # and 特困 enrolled for one member of another household, whatever the seed drew
    alone = Household.objects.exclude(enrollments__isnull=False).exclude(
        pk__in=[h.pk for h in bare]).order_by("-id").first()
    assert alone is not None and alone.head() is not None
    services.enroll(by=users.district_approver, household=alone, programme="tekun",
                    amount_fen=80_000, start_date=today.replace(day=1) - dt.timedelta(days=60),
                    person=alone.head())
    return users


def _number(html: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}"[^>]*>(?:<b>)?(\d+)<', html)
    assert found, f"#{element_id} not on the page"
    return int(found.group(1))


def test_every_page_shows_the_same_coverage(district) -> None:
    today = timezone.localdate()
    truth = _independent(today)
    assert truth["covered_households"] > 10 and truth["covered_persons"] > \
        truth["covered_households"]
    assert coverage.totals("341002", today) == truth
    client = Client()
    client.login(username="district_approver", password=PASSWORD)
    home = client.get("/").content.decode()
    for figure, n in truth.items():
        assert _number(home, f"home-{figure}") == n, figure
    dashboard = client.get("/monitoring/").content.decode()
    assert _number(dashboard, "covered-households") == truth["covered_households"]
    # 统计分析 (and the reports owed upward, which fill from it): at a past month's end
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    table = statistics.month_table("341002", month)
    past = _independent(last)
    assert {k: table.total[k] for k in past} == past
    assert sum(row["covered_households"] for row in table.rows.values()) == \
        past["covered_households"]
    page = client.get(f"/reports/?month={month:%Y-%m}").content.decode()
    assert f">{past['covered_persons']}<" in page
    # a town officer sees the same definition over the town only
    town = Client()
    town.login(username="town_officer", password=PASSWORD)
    scope = district.town_officer.scope_prefix
    assert _number(town.get("/").content.decode(), "home-covered_households") == \
        coverage.totals(scope, today)["covered_households"]


def test_the_department_api_counts_as_the_pages(district, client, shipped_feed_types,
                                                fresh_rate_limit) -> None:
    """The outcomes API says who is covered by the same rule: a department that sent every
    person of the district (防返贫 list) gets back exactly the persons counted in 在保人数 and
    特困人数, today and at a past month's end."""
    today = timezone.localdate()
    persons = list(Person.objects.filter(area_code__startswith="341002"))
    csv_text = ("户主姓名,户主证件号码,所在村,家庭人口数,监测对象类别,主要风险类型,识别纳入时间,"
                "风险是否消除\n")
    csv_text += "".join(f"{p.name},{p.id_number},某村,1,脱贫不稳定户,因病,2024-05-01,否\n"
                        for p in persons)
    with context.job("test relapse list"):
        done = import_bytes(FeedType.objects.get(key="relapse_watch"), csv_text.encode(),
                            "防返贫.csv", user=district.district_officer, channel="cli")
        assert done.counts["good"] == len(persons), done.message
        user = create_user(username="xiangcun", password=PASSWORD, area_code=DISTRICT,
                           roles=["department"])
        user.department = "乡村振兴"
        user.save()
    token = {"HTTP_AUTHORIZATION": f"Bearer {issue_department_token('xiangcun')}"}
    ids = {p.id_number: p.pk for p in persons}
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    for day in (today, month_end):
        got = client.get(f"/api/feeds/outcomes?day={day}", **token)
        assert got.status_code == 200, got.content
        answers = got.json()
        assert len(answers) == len(persons)

        def holding(programmes: set[str] | None, answers: list = answers) -> set[int]:
            return {ids[o["id_number"]] for o in answers
                    if any(a["programme"] and (programmes is None or a["programme"] in
                                               programmes) for a in o["assistance"])}

        truth = _independent_sets(day)
        assert truth["covered_persons"] and truth["tekun_persons"]
        assert holding(None) == truth["covered_persons"], day
        assert holding({"tekun"}) == truth["tekun_persons"], day
        assert len(holding(None)) == coverage.totals("341002", day)["covered_persons"]


def test_an_approved_case_closes_its_uncovered_warning(world, shipped_parameters) -> None:
    u, hh, day = world.users, world.village_hh, dt.date(2026, 11, 2)
    Observation.objects.filter(household=hh).delete()
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    warning = Warning.objects.create(
        indicator="uncovered_eligible", kind="uncovered_eligible", level=2, channel="monitoring",
        household=hh, programme="dibao", area_code=hh.area_code, due_on=day,
        handler_level="village", summary="应保未保：最低生活保障", open_key="test")
    other = Warning.objects.create(  # another programme's warning stays open
        indicator="uncovered_eligible", kind="uncovered_eligible", level=2, channel="monitoring",
        household=hh, programme="edge", area_code=hh.area_code, due_on=day,
        handler_level="village", summary="应保未保：低保边缘", open_key="test-edge")
    app = casework.create_application(by=u.village_assistant, household=hh, programme="dibao",
                                      channel="village", reason="无收入", submitted_on=day)
    app = approve(u, to_decision(u, app, day))
    warning.refresh_from_db()
    assert warning.status == "open"  # the decision takes effect with its notice
    casework.act(by=u.town_officer, application=app, action="issue_notice", day=app.decided_on)
    warning.refresh_from_db()
    other.refresh_from_db()
    assert (warning.status, warning.disposition, warning.application_id) == \
        ("closed", "case_dibao", app.pk)
    assert app.number in warning.disposition_note and warning.open_key is None
    assert warning.events.filter(action="dispose").count() == 1
    assert other.status == "open"

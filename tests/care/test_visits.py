"""Visit plans on a synthetic district: every dispersed 特困 person gets a monthly task, the
intervals follow the parameters, a visit closes the task, a missed one turns overdue on the
right day and escalates; a finding raises a warning or starts an application; the nursing-bed
ratio equals the institutions' figures."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from doudi.audit import context
from doudi.care import plans, services
from doudi.care.models import Institution, Visit, VisitTask
from doudi.monitoring.models import Warning
from doudi.registry.models import CategoryAssignment, Membership
from doudi.registry.services import assign_category
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
D = dt.date


def test_periods_follow_the_calendar() -> None:
    assert plans.period(D(2026, 11, 1), 1) == (D(2026, 11, 1), D(2026, 11, 30))
    assert plans.period(D(2026, 11, 1), 3) == (D(2026, 10, 1), D(2026, 12, 31))
    assert plans.period(D(2026, 2, 1), 2) == (D(2026, 1, 1), D(2026, 2, 28))
    with pytest.raises(ValueError):
        plans.period(D(2026, 2, 1), 5)


def test_every_dispersed_tekun_person_gets_a_monthly_task(areas, shipped_parameters,
                                                          tmp_path) -> None:
    call_command("synth", "--area", "341002", "--households", "2000", "--seed", "4",
                 "--into-db", "--out", str(tmp_path), "--today", "2026-11-01",
                 stdout=StringIO())
    tekun = set(CategoryAssignment.objects.filter(category="tekun", end_date__isnull=True)
                .values_list("person_id", flat=True))
    assert tekun, "the synthetic district has 特困 persons"
    out = StringIO()
    call_command("care", "tasks", "--month", "2026-11", stdout=out)
    tasks = VisitTask.objects.filter(group="dispersed_tekun")
    assert set(tasks.values_list("person_id", flat=True)) == tekun
    assert set(tasks.values_list("period_start", "due_on")) == {(D(2026, 11, 1),
                                                                D(2026, 11, 30))}
    assert set(tasks.values_list("owner_code", flat=True)) == set(
        Membership.objects.filter(person_id__in=tekun, end_date__isnull=True)
        .values_list("area_code", flat=True))
    again = services.generate_tasks(D(2026, 11, 15))
    assert again.created == 0 and VisitTask.objects.filter(group="dispersed_tekun").count() \
        == len(tekun)
    december = services.generate_tasks(D(2026, 12, 1))
    assert december.by_group["dispersed_tekun"] == len(tekun)
    assert VisitTask.objects.filter(group="dispersed_tekun").count() == 2 * len(tekun)


@pytest.fixture
def tekun_person(world):
    Membership.objects.update(start_date=D(2020, 1, 1))  # the families lived there before
    head = world.village_hh.head()
    with context.job("test tekun"):
        assign_category(by=world.users.district_approver, category="tekun",
                        start_date=D(2026, 1, 1), person=head, decided_by="测试数据")
    return head


def _visit(world, person, **kw) -> Visit:
    data = services.VisitInput(visited_on=kw.pop("visited_on", D(2026, 11, 20)),
                               seen="本人", living="独居，屋内整洁", **kw)
    return services.record_visit(by=world.users.village_assistant, person=person, data=data)


def test_a_visit_closes_the_task_and_a_missed_one_escalates(world, tekun_person) -> None:
    services.generate_tasks(D(2026, 10, 1))
    task = VisitTask.objects.get(person=tekun_person)
    assert (task.due_on, task.handler_level, task.owner_code) == (D(2026, 10, 31), "village",
                                                                  world.village_hh.area_code)
    assert services.escalate_overdue(D(2026, 10, 31)) == 0  # due that day: not late yet
    assert services.escalate_overdue(D(2026, 11, 1)) == 1
    task.refresh_from_db()
    assert (task.handler_level, task.owner_code, task.escalations) == ("town", "341002102", 1)
    visit = _visit(world, tekun_person, visited_on=D(2026, 11, 2))  # late, but it counts
    task.refresh_from_db()
    assert task.status == VisitTask.DONE and task.visit_id == visit.pk


def test_a_finding_raises_a_warning_or_an_application(world, tekun_person,
                                                      shipped_parameters) -> None:
    v = _visit(world, tekun_person, health="近期摔伤，行动不便", carer="no",
               follow_up="warning")
    w = Warning.objects.get(pk=v.warning_id)
    assert (w.channel, w.household_id, w.person_id) == ("discovery", world.village_hh.pk,
                                                        tekun_person.pk)
    assert "摔伤" in w.summary and w.owner_code == "341002102"
    v2 = _visit(world, tekun_person, needs="需要临时救助", follow_up="application",
                programme="linshi", visited_on=D(2026, 11, 21))
    assert v2.application.programme == "linshi" and v2.application.applicant == tekun_person


def test_visits_are_refused_out_of_area_or_without_facts(world, tekun_person) -> None:
    with pytest.raises(PermissionDenied):
        services.record_visit(by=world.gd_user, person=tekun_person, data=services.VisitInput(
            visited_on=D(2026, 11, 2), seen="本人", living="x"))
    with pytest.raises(services.CareError, match="见到的人"):
        services.record_visit(by=world.users.village_assistant, person=tekun_person,
                              data=services.VisitInput(visited_on=D(2026, 11, 2), seen=" ",
                                                       living="x"))
    assert not Visit.objects.exists()


def test_risk_levels_set_the_interval_of_left_behind_elderly(world) -> None:
    Membership.objects.update(start_date=D(2020, 1, 1))
    head = world.village_hh.head()
    with context.job("test"):
        assign_category(by=world.users.district_approver, category="left_behind_elderly",
                        start_date=D(2026, 1, 1), person=head)
    services.save_profile(by=world.users.village_assistant, person=head, risk_level="low")
    services.generate_tasks(D(2026, 11, 1))
    task = VisitTask.objects.get(person=head)
    assert (task.period_start, task.due_on) == (D(2026, 10, 1), D(2026, 12, 31))  # quarterly


def test_the_nursing_bed_ratio_is_the_institutions_figure(client, world) -> None:
    officer = world.users.district_officer
    for name, beds, nursing, operator in (("黎阳敬老院", 120, 60, "public"),
                                          ("屯光敬老院", 80, 30, "public"),
                                          ("康乐养老院", 200, 90, "private")):
        services.save_institution(by=officer, institution=Institution(), name=name,
                                  kind="nursing_home", operator=operator, beds=beds,
                                  nursing_beds=nursing, staff=10, nursing_staff=5,
                                  area_code="341002102000")
    ratio = services.nursing_bed_ratio("341002")
    assert (ratio.beds, ratio.nursing_beds, ratio.ratio_bp) == (400, 180, 4500)
    assert services.nursing_bed_ratio("341002", public_only=True).ratio_bp == 4500
    with pytest.raises(services.CareError, match="护理型床位不能多于总床位"):
        services.save_institution(by=officer, institution=Institution(), name="x",
                                  kind="nursing_home", beds=10, nursing_beds=11,
                                  area_code="341002102000")
    client.login(username="district_officer", password=PASSWORD)
    page = client.get("/care/institutions/").content.decode()
    assert "45.00%" in page and "55.00%" in page and "未达标" in page

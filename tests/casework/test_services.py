"""A 低保 application through every step, each by the role and area the table allows; refusals
for the wrong role, the wrong area, and a 公示 not yet over."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.casework import services
from doudi.casework.models import Application, ApplicationEvent, HomeVisit
from doudi.registry.models import CategoryAssignment, Membership, Observation

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture
def application(world, shipped_parameters) -> Application:
    hh = world.village_hh
    Observation.objects.filter(household=hh).delete()  # no income: 低保 eligible
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    return services.create_application(by=world.users.village_assistant, household=hh,
                                       programme="dibao", channel="village",
                                       reason="无收入来源", submitted_on=DAY)


def _run_to_decision(world, app: Application) -> Application:
    u = world.users
    app = services.act(by=u.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主、配偶", "living_conditions": "租住平房"},
                       day=DAY)
    app = services.act(by=u.town_officer, application=app, action="complete_verification",
                       day=DAY)
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="家庭无收入，符合条件", data={"recommendation": "eligible"}, day=DAY)
    assert app.state == "publicity" and app.publicity_ends_on == DAY + dt.timedelta(days=7)
    return services.act(by=u.town_officer, application=app, action="close_publicity",
                        day=app.publicity_ends_on)


def test_a_dibao_application_runs_to_enrolment(world, application) -> None:
    assert application.state == "accepted" and application.number.startswith("SQ2026341002102")
    assert application.step_due == dt.date(2026, 11, 9)  # 5 working days
    app = _run_to_decision(world, application)
    assert app.state == "decision"
    app = services.act(by=world.users.town_approver, application=app, action="approve",
                       opinion="同意纳入低保", day=app.publicity_ends_on)
    assert app.state == "notice" and app.amount_fen and app.amount_fen > 0
    app = services.act(by=world.users.town_officer, application=app, action="issue_notice",
                       day=app.publicity_ends_on)
    assert app.state == "approved"
    assert CategoryAssignment.objects.filter(household=world.village_hh, category="dibao",
                                             end_date__isnull=True).exists()
    enrollment = app.enrollments.get()  # handed to benefits with the rules' reasoning
    assert enrollment.amount_fen == app.amount_fen and enrollment.programme == "dibao"
    lines = enrollment.explanation["rules"]["lines"]
    assert lines and any("低保标准" in ln["detail"] or "标准" in ln["label"] for ln in lines)
    assert HomeVisit.objects.filter(application=app).count() == 1
    steps = list(ApplicationEvent.objects.filter(application=app).values_list(
        "action", "actor_name"))
    assert steps == [("create", "village_assistant"), ("record_visit", "village_assistant"),
                     ("complete_verification", "town_officer"),
                     ("town_opinion", "town_officer"), ("close_publicity", "town_officer"),
                     ("approve", "town_approver"), ("issue_notice", "town_officer")]


def test_roles_and_areas_are_enforced(world, application) -> None:
    u = world.users
    with pytest.raises(PermissionDenied):  # a village assistant cannot do the town's review
        services.act(by=u.village_assistant, application=application,
                     action="complete_verification")
    other_town = services.create_application(
        by=u.district_approver, household=world.other_town_hh, programme="dibao",
        channel="town_window", reason="因病致贫", submitted_on=DAY)
    with pytest.raises(PermissionDenied):  # 黎阳镇's officer, 屯光镇's application
        services.act(by=u.town_officer, application=other_town, action="record_visit",
                     data={"members_present": "户主", "living_conditions": "一般"})
    app = _run_to_decision(world, application)
    with pytest.raises(PermissionDenied):  # approval is delegated to the town
        services.act(by=u.district_approver, application=app, action="approve", opinion="同意")
    with pytest.raises(PermissionDenied):
        services.act(by=u.town_officer, application=app, action="approve", opinion="同意")
    assert Application.objects.get(pk=app.pk).state == "decision"


def test_publicity_cannot_close_early_and_an_objection_returns_it(world, application) -> None:
    u = world.users
    app = services.act(by=u.village_assistant, application=application, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "一般"}, day=DAY)
    app = services.act(by=u.town_officer, application=app, action="complete_verification",
                       day=DAY)
    app = services.act(by=u.town_officer, application=app, action="town_opinion", opinion="符合",
                       data={"recommendation": "eligible"}, day=DAY)
    with pytest.raises(services.CaseworkError, match="公示期"):
        services.act(by=u.town_officer, application=app, action="close_publicity",
                     day=DAY + dt.timedelta(days=3))
    app = services.act(by=u.town_officer, application=app, action="record_objection",
                       opinion="群众反映家中有车", day=DAY + dt.timedelta(days=3))
    assert app.state == "town_review"


def test_one_open_application_per_programme_and_reasons_required(world, application) -> None:
    with pytest.raises(services.CaseworkError, match="办理中"):
        services.create_application(by=world.users.town_officer, household=world.village_hh,
                                    programme="dibao", channel="town_window", reason="再次申请")
    with pytest.raises(services.CaseworkError, match="意见"):
        services.act(by=world.users.village_assistant, application=application,
                     action="withdraw", opinion="")
    app = services.act(by=world.users.village_assistant, application=application,
                       action="withdraw", opinion="申请人外出务工，主动撤回")
    assert app.state == "withdrawn" and app.step_due is None

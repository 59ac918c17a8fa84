"""探访人员 (儿童主任、驻村干部、网格员、志愿者): a visitor's account sees only the persons assigned
to it, while the assignment runs, and records visits for them only (care.assignments through
areas.scoping)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from doudi.accounts import roles
from doudi.audit import context
from doudi.care import assignments, services
from doudi.care.models import Visit, VisitorAssignment, VisitTask
from doudi.core import clock
from doudi.registry.models import Household, Person

pytestmark = pytest.mark.django_db


def _visit(day: dt.date, follow_up: str = "none") -> services.VisitInput:
    return services.VisitInput(visited_on=day, seen="本人", living="独居，生活基本能自理",
                               needs="冬季取暖", follow_up=follow_up)


@pytest.fixture
def assigned(world):
    """The visitor (an account of 隆阜（3）社区) is given a person of 龙山社区, same town."""
    person = world.same_town_hh.head()
    with context.job("test assign visitor"):
        row = assignments.assign(by=world.users.town_officer, visitor=world.users.visitor,
                                 person=person, visitor_kind="grid_worker",
                                 valid_from=clock.today() - dt.timedelta(days=3))
    return person, row


def test_a_visitor_sees_only_the_persons_assigned(world, assigned):
    person, _ = assigned
    visitor = world.users.visitor
    assert not visitor.can(roles.VIEW_REGISTRY) and not visitor.can(roles.VIEW_FULL_PII)
    assert list(Person.objects.visible_to(visitor, assigned=True)) == [person]
    # not the person's household, nor anyone of the visitor's own village
    assert not Person.objects.visible_to(visitor).exists()
    assert not Household.objects.visible_to(visitor, assigned=True).exists()
    assert not Person.objects.visible_to(visitor, roles.RECORD_VISIT, assigned=True).exists()
    client = Client()
    client.force_login(visitor)
    page = client.get(reverse("visitors"))
    assert page.status_code == 200 and person.masked_name in page.content.decode()
    assert person.name not in page.content.decode()
    form = client.get(reverse("visit_new", kwargs={"person_id": person.pk}))
    assert form.status_code == 200 and 'value="warning"' not in form.content.decode()
    village_head = world.village_hh.head()
    assert client.get(reverse("visit_new", kwargs={"person_id": village_head.pk})) \
        .status_code == 404
    for name, kwargs in (("household_list", {}), ("care_home", {}),
                         ("care_profile", {"person_id": person.pk})):
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_a_visitor_records_visits_for_the_assigned_only(world, assigned):
    person, _ = assigned
    visitor, today = world.users.visitor, clock.today()
    VisitTask.objects.create(person=person, household=world.same_town_hh,
                             group="left_behind_elderly", period_start=today.replace(day=1),
                             due_on=today + dt.timedelta(days=20),
                             owner_code=world.same_town_hh.area_code,
                             area_code=world.same_town_hh.area_code)
    with context.job("test visit"):
        visit = services.record_visit(by=visitor, person=person, data=_visit(today))
    assert visit.visitor == visitor and visit.area_code == world.same_town_hh.area_code
    assert VisitTask.objects.get(person=person).status == VisitTask.DONE
    with pytest.raises(PermissionDenied):
        services.record_visit(by=visitor, person=world.village_hh.head(), data=_visit(today))
    with pytest.raises(services.CareError):  # follow-ups on the household are the town's
        services.record_visit(by=visitor, person=person, data=_visit(today, "warning"))
    client = Client()
    client.force_login(visitor)
    response = client.post(reverse("visit_new", kwargs={"person_id": person.pk}), {
        "visited_on": today.isoformat(), "seen": "本人", "living": "屋顶漏雨"})
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and "屋顶漏雨" in detail.content.decode()
    assert Visit.objects.filter(person=person, visitor=visitor).count() == 2


def test_after_the_assignment_ends_nothing_is_visible(world, assigned, monkeypatch):
    person, row = assigned
    visitor = world.users.visitor
    with context.job("test end"):
        assignments.end(by=world.users.town_officer, assignment=row)
    assert not Person.objects.visible_to(visitor, assigned=True).exists()
    with pytest.raises(PermissionDenied):
        services.record_visit(by=visitor, person=person, data=_visit(clock.today()))
    # a dated assignment ends by itself
    with context.job("test assign again"):
        dated = assignments.assign(by=world.users.town_officer, visitor=visitor, person=person,
                                   visitor_kind="volunteer", valid_from=clock.today(),
                                   valid_to=clock.today() + dt.timedelta(days=5))
    assert Person.objects.visible_to(visitor, assigned=True).exists()
    later = dated.valid_to + dt.timedelta(days=1)
    monkeypatch.setattr(clock, "today", lambda: later)
    assert not Person.objects.visible_to(visitor, assigned=True).exists()


def test_who_may_assign_visitors(world):
    u, person = world.users, world.other_town_hh.head()
    start = clock.today()
    with pytest.raises(PermissionDenied):  # 屯光镇's person is outside 黎阳镇
        assignments.assign(by=u.town_officer, visitor=u.visitor, person=person,
                           visitor_kind="volunteer", valid_from=start)
    with pytest.raises(PermissionDenied):  # a village assistant does not assign
        assignments.assign(by=u.village_assistant, visitor=u.visitor,
                           person=world.village_hh.head(), visitor_kind="volunteer",
                           valid_from=start)
    with pytest.raises(services.CareError):  # an officer's account is no visitor's
        assignments.assign(by=u.district_officer, visitor=u.village_assistant,
                           person=person, visitor_kind="volunteer", valid_from=start)
    assert not VisitorAssignment.objects.exists()

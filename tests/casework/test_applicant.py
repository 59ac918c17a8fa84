"""An application for a programme applied for member by member (特困, 两项补贴, 孤儿/事实无人抚养:
`catalogue.MEMBER`) names the member it is for — among those the programme's rules declare it
relevant to — and the case pages, the notice, the 审批表 and the enrollment are that member's,
not the household head's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from doudi.benefits.models import Enrollment
from doudi.casework import services as casework
from doudi.casework.models import Application
from doudi.programmes import catalogue
from doudi.registry.models import Membership, Observation, Person
from doudi.rules.parameters import ParameterError
from tests.casework.flow import approve_through
from tests.conftest import VILLAGE, make_household

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 2)  # a Monday
DISABILITY = next(p for p in catalogue.programmes() if len(p.parts) == 2)
PER_PERSON = {p.code for p in catalogue.programmes() if p.level == catalogue.MEMBER}


@pytest.fixture
def family(world, new_id):
    """Three members since 2020, no income; the second carries a grade-1 disability."""
    hh = make_household(world.users.district_approver, VILLAGE, new_id, members=3)
    Observation.objects.filter(household=hh).delete()
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    head, disabled, other = [m.person for m in hh.memberships.order_by("id")]
    Person.objects.filter(pk=disabled.pk).update(disability_category="physical",
                                                 disability_grade=1)
    disabled.refresh_from_db()
    return hh, head, disabled, other


def test_the_catalogue_declares_which_programmes_are_per_person() -> None:
    assert PER_PERSON >= {catalogue.TEKUN, catalogue.CHILD, DISABILITY.code}
    assert catalogue.DIBAO not in PER_PERSON


def test_the_form_offers_the_members_the_programme_is_for(world, family, shipped_parameters):
    hh, _head, disabled, _other = family
    choices = casework.applicant_choices(hh, DAY)
    assert set(choices) == PER_PERSON
    assert choices[DISABILITY.code] == [disabled]  # 持证残疾人 only
    assert choices[catalogue.CHILD] == []  # nobody is an orphan or de facto unsupported


def test_without_policy_parameters_every_member_is_offered(world, family, monkeypatch):
    hh, head, disabled, other = family

    def missing():
        raise ParameterError("该区划未设置政策参数")

    monkeypatch.setattr(casework, "parameter_set", missing)
    assert casework.applicant_choices(hh, DAY)[DISABILITY.code] == [head, disabled, other]


def test_a_per_person_application_names_its_member(world, family, shipped_parameters):
    hh, head, disabled, other = family
    u = world.users

    def apply(programme: str, applicant: Person | None = None) -> Application:
        return casework.create_application(
            by=u.village_assistant, household=hh, programme=programme, channel="village",
            reason="申请", applicant=applicant, submitted_on=DAY)

    with pytest.raises(casework.CaseworkError, match="请选择申请对象"):
        apply(DISABILITY.code)
    with pytest.raises(casework.CaseworkError, match="现有成员"):
        apply(DISABILITY.code, world.same_town_hh.head())
    first = apply(DISABILITY.code, disabled)
    assert first.applicant == disabled
    # another member may apply for the same programme at the same time, the same one not
    assert apply(DISABILITY.code, other).applicant == other
    with pytest.raises(casework.CaseworkError, match="已有办理中"):
        apply(DISABILITY.code, disabled)
    assert apply(catalogue.DIBAO).applicant == head  # a household programme: the head
    with pytest.raises(casework.CaseworkError, match="已有办理中"):
        apply(catalogue.DIBAO, other)


def test_the_household_page_applies_for_the_member_and_the_pages_name_them(
        client, world, family, shipped_parameters):
    hh, head, disabled, _other = family
    client.force_login(world.users.village_assistant)
    page = client.get(reverse("household_detail", args=[hh.pk])).content.decode()
    offered = page.split(f'name="applicant_{DISABILITY.code}"', 1)[1].split("</select>", 1)[0]
    assert f'value="{disabled.pk}"' in offered and f'value="{head.pk}"' not in offered
    url = reverse("application_new", args=[hh.pk])
    post = {"programme": DISABILITY.code, "channel": "village", "reason": "持证残疾人申请补贴"}
    refused = client.post(url, {**post, f"applicant_{DISABILITY.code}": head.pk})
    assert refused.status_code == 200 and "申请对象" in refused.content.decode()
    assert not Application.objects.exists()
    done = client.post(url, {**post, f"applicant_{DISABILITY.code}": disabled.pk})
    assert done.status_code == 302
    app = Application.objects.get()
    assert app.applicant == disabled
    detail = client.get(reverse("application_detail", args=[app.pk])).content.decode()
    assert f"<dd>{disabled.masked_name}</dd>" in detail
    printed = client.get(reverse("application_print", args=[app.pk])).content.decode()
    assert f"<th>申请人</th><td>{disabled.name}</td>" in printed  # for the file: in full, audited
    listed = client.get(reverse("household_detail", args=[hh.pk])).content.decode()
    row = listed.split(app.number, 1)[1].split("</tr>", 1)[0]
    assert disabled.masked_name in row


def test_the_enrollment_and_the_notice_are_the_members(client, world, family,
                                                       shipped_parameters):
    hh, head, disabled, _other = family
    u = world.users
    applicant = casework.chosen_applicant(hh, DISABILITY.code, str(disabled.pk), DAY)
    app = casework.create_application(
        by=u.village_assistant, household=hh, programme=DISABILITY.code, channel="village",
        reason="持证残疾人申请补贴", applicant=applicant, submitted_on=DAY)
    app = approve_through(u, app, DAY)
    assert app.state == "approved"
    enrolled = Enrollment.objects.filter(application=app)
    assert enrolled.exists() and {e.person_id for e in enrolled} == {disabled.pk}
    client.force_login(u.town_officer)
    notice = client.get(reverse("application_notice", args=[app.pk])).content.decode()
    # the notice addresses its addressee by full name (a role that may see it: audited)
    assert disabled.name in notice and head.name not in notice


def test_a_warning_names_the_member_its_per_person_case_is_for(client, world, family,
                                                               shipped_parameters):
    from doudi.monitoring import services as monitoring

    hh, head, disabled, _other = family
    u = world.users
    w = monitoring.report(by=u.town_officer, channel="hotline", summary="残疾人无人照料",
                          area_code=VILLAGE, name="求助人", phone="13900001111",
                          ticket_no="GD20261101002", as_of=DAY)
    monitoring.verify(by=u.town_officer, warning=w, finding="已入户", confirmed=True)
    client.force_login(u.town_officer)
    act = reverse("warning_act", args=[w.pk])
    assert client.post(act, {"action": "link", "household_number": hh.number}).status_code == 302
    page = client.get(reverse("warning_detail", args=[w.pk])).content.decode()
    offered = page.split('name="person_id"', 1)[1].split("</select>", 1)[0]
    assert f'value="{disabled.pk}"' in offered and f'value="{head.pk}"' in offered
    stranger = client.post(act, {"action": "link", "household_number": hh.number,
                                 "person_id": world.same_town_hh.head().pk})
    assert "现有成员" in stranger.content.decode()
    client.post(act, {"action": "link", "household_number": hh.number,
                      "person_id": disabled.pk})
    w.refresh_from_db()
    assert w.person == disabled
    client.post(act, {"action": "dispose", "disposition": "case_tekun"})
    w.refresh_from_db()
    assert w.application.applicant == disabled and w.application.programme == catalogue.TEKUN

"""A person's 法定义务人 (has_supporter) and 生活自理能力 (adl_failed): entered through the
registration form and the API, kept by the database, read by the rules input, and set by the
synthetic loader — the facts the 特困 rules need."""

import datetime as dt

import polars as pl
import pytest
from django.db import IntegrityError, transaction

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment
from doudi.registry import services
from doudi.registry.models import Household, Person
from doudi.registry.rules_input import build_frames
from doudi.registry.services import MemberInput, RegistryError
from tests.conftest import VILLAGE, make_household
from tests.test_api import auth, token
from tests.test_web import _form

pytestmark = pytest.mark.django_db

DAY = dt.date.today()  # memberships start on the day the household was registered


# --- the registration form ----------------------------------------------------------------

def test_form_saves_supporter_and_adl(client, users, new_id):
    client.force_login(users.village_assistant)
    page = client.get("/households/new/").content.decode()
    assert 'name="m-0-has_supporter"' in page and 'name="m-0-adl_failed"' in page
    head, spouse = new_id(), new_id(sex="F")
    response = client.post("/households/new/", _form(users.village_assistant.area.code, [
        {"name": "王大山", "id_number": head, "relation": "head",
         "has_supporter": "no", "adl_failed": "3"},
        {"name": "李小梅", "id_number": spouse, "relation": "spouse"},
    ]))
    assert response.status_code == 302, response.content.decode()
    saved = Person.objects.get(id_number=head)
    assert saved.has_supporter is False and saved.adl_failed == 3
    other = Person.objects.get(id_number=spouse)  # fields left out keep the defaults
    assert other.has_supporter is True and other.adl_failed == 0
    created = AuditEvent.objects.get(action=AuditEvent.CREATE, object_type="registry.person",
                                     object_id=str(saved.pk))
    assert created.changes["has_supporter"] == [None, False]
    assert created.changes["adl_failed"] == [None, 3]
    detail = client.get(response["Location"]).content.decode()
    assert "无或无履行能力" in detail and "3项" in detail


@pytest.mark.parametrize("adl", ["7", "-1", "三", "²"])
def test_form_rejects_adl_outside_0_to_6_and_writes_nothing(client, users, new_id, adl):
    client.force_login(users.village_assistant)
    head = new_id()
    response = client.post("/households/new/", _form(users.village_assistant.area.code, [
        {"name": "王大山", "id_number": head, "relation": "head", "adl_failed": adl},
    ]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "第1名成员 生活不能自理项数：生活不能自理项数应为0–6项" in html
    assert f'value="{head}"' in html  # nothing typed is lost
    assert Household.objects.count() == 0 and Person.objects.count() == 0


def test_form_rejects_unknown_supporter_value(client, users, new_id):
    client.force_login(users.village_assistant)
    response = client.post("/households/new/", _form(users.village_assistant.area.code, [
        {"name": "王大山", "id_number": new_id(), "relation": "head", "has_supporter": "maybe"},
    ]))
    assert response.status_code == 200
    assert "第1名成员 法定义务人：应为“有”或“无或无履行能力”" in response.content.decode()
    assert Person.objects.count() == 0


# --- the service, the database and the API ---------------------------------------------------

def test_service_rejects_adl_7(users, new_id):
    with pytest.raises(RegistryError) as err:
        services.create_household(
            by=users.village_assistant, area_code=VILLAGE, hukou_type="urban",
            members=[MemberInput(id_number=new_id(), name="王大山", relation="head",
                                 adl_failed=7)])
    assert [e.field for e in err.value.errors] == ["members[0].adl_failed"]
    assert Person.objects.count() == 0


def test_database_refuses_adl_7(users, new_id):
    person = make_household(users.village_assistant, VILLAGE, new_id).head()
    person.adl_failed = 7
    with pytest.raises(IntegrityError), transaction.atomic(), context.job("test adl 7"):
        person.save()
    person.refresh_from_db()
    assert person.adl_failed == 0


def test_api_takes_and_returns_both_facts(client, users, new_id):
    tok = token(client, "village_assistant")
    member = {"id_number": new_id(), "name": "赵四", "relation": "head",
              "has_supporter": False, "adl_failed": 5}
    payload = {"area_code": VILLAGE, "hukou_type": "urban", "members": [member]}
    made = client.post("/api/households", payload, content_type="application/json", **auth(tok))
    assert made.status_code == 201, made.content
    out = made.json()["members"][0]
    assert out["has_supporter"] is False and out["adl_failed"] == 5
    bad = {**payload, "members": [{**member, "id_number": new_id(), "adl_failed": 7}]}
    refused = client.post("/api/households", bad, content_type="application/json", **auth(tok))
    assert refused.status_code == 422 and "adl_failed" in refused.content.decode()
    assert Person.objects.count() == 1


# --- the rules input -------------------------------------------------------------------------

def _member_rows(household: Household) -> dict[int, dict]:
    _, members = build_frames(Household.objects.filter(pk=household.pk), DAY)
    return {int(r["member_id"]): r for r in members.to_dicts()}


def test_rules_input_passes_supporter_and_adl_through(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    head = hh.head()
    spouse = hh.current_memberships().get(relation="spouse").person
    with context.job("test person facts"):
        head.has_supporter = False
        head.adl_failed = 3
        head.save()
    rows = _member_rows(hh)
    assert rows[head.pk]["has_supporter"] is False and rows[head.pk]["adl_failed"] == 3
    assert rows[spouse.pk]["has_supporter"] is True and rows[spouse.pk]["adl_failed"] == 0


def test_tekun_in_force_counts_as_no_supporter(users, new_id):
    """The recognition established it: a person enrolled in 特困 on the day has no supporter,
    whatever the fact says; a 特困 category alone (typed, no enrollment) is no recognition."""
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    head = hh.head()
    spouse = hh.current_memberships().get(relation="spouse").person
    assert head.has_supporter is True and spouse.has_supporter is True
    services.assign_category(by=users.district_approver, category="tekun", person=spouse,
                             start_date=DAY - dt.timedelta(days=1), decided_by="测试数据")
    assert _member_rows(hh)[spouse.pk]["has_supporter"] is True
    enrolled = benefits.enroll(by=users.district_approver, household=hh, programme="tekun",
                               amount_fen=80_000, start_date=DAY - dt.timedelta(days=1),
                               person=head)
    rows = _member_rows(hh)
    assert rows[head.pk]["has_supporter"] is False and rows[spouse.pk]["has_supporter"] is True
    Enrollment.objects.filter(pk=enrolled.pk).update(end_date=DAY, status="ended")
    assert _member_rows(hh)[head.pk]["has_supporter"] is True


def test_dibao_enrolled_is_read_from_the_enrollment(users, new_id):
    """渐退 asks whether the household is in 低保: an enrollment in force says so, a 低保
    category alone does not."""
    typed, paid = (make_household(users.village_assistant, VILLAGE, new_id) for _ in range(2))
    services.assign_category(by=users.district_approver, category="dibao", household=typed,
                             start_date=DAY - dt.timedelta(days=30), decided_by="测试数据")
    benefits.enroll(by=users.district_approver, household=paid, programme="dibao",
                    amount_fen=50_000, start_date=DAY - dt.timedelta(days=30))
    h, _ = build_frames(Household.objects.filter(pk__in=[typed.pk, paid.pk]), DAY)
    enrolled = dict(zip(h["household_id"].to_list(), h["dibao_enrolled"].to_list(),
                        strict=True))
    assert enrolled == {typed.pk: False, paid.pk: True}
    before, _ = build_frames(Household.objects.filter(pk=paid.pk), DAY - dt.timedelta(days=31))
    assert before["dibao_enrolled"].to_list() == [False]


# --- the synthetic loader --------------------------------------------------------------------

def test_loader_maps_supporter_and_adl_from_synthetic_persons(areas):
    from doudi.synth import loader, population

    today = dt.date(2026, 11, 1)
    pop = population.generate("341002", 300, seed=7, today=today)
    flags = pl.col("childless") | pl.col("orphan") | pl.col("de_facto_unsupported")
    childless = pop.persons.filter(pl.col("childless"))
    assert childless.height > 0, "the seed must give at least one childless person"
    supported = pop.persons.filter(~flags.any().over("household_id"))
    disabled = pop.persons.filter(pl.col("adl_failed") > 0)
    assert disabled.height > 0, "the seed must give at least one person needing care"
    wanted = pl.concat([childless.get_column("household_id").unique(maintain_order=True).head(3),
                        supported.get_column("household_id").head(1),
                        disabled.get_column("household_id").head(1)])
    persons = pop.persons.filter(pl.col("household_id").is_in(wanted.implode()))
    households = pop.households.filter(pl.col("household_id").is_in(wanted.implode()))
    loader.load(households, persons, today)
    saved = {p.id_number: p for p in Person.objects.all()}
    assert len(saved) == persons.height
    for row in persons.to_dicts():
        person = saved[row["id_number"]]
        unsupported = row["childless"] or row["orphan"] or row["de_facto_unsupported"]
        assert person.has_supporter is (not unsupported), row
        assert person.adl_failed == row["adl_failed"], row
    assert saved[childless.row(0, named=True)["id_number"]].has_supporter is False
    assert saved[supported.row(0, named=True)["id_number"]].has_supporter is True
    needing_care = disabled.row(0, named=True)
    assert saved[needing_care["id_number"]].adl_failed == needing_care["adl_failed"] > 0


def test_a_resident_of_an_institution_is_institutional_while_there(users, new_id):
    """集中供养: the care register's residency (admitted, not yet left) tells the rules a person
    lives in an institution, so 集中供养 care rates apply; before admission and after leaving
    the person is dispersed."""
    from doudi.care.models import Institution, InstitutionResident

    hh = make_household(users.village_assistant, VILLAGE, new_id)
    head = hh.head()
    spouse = hh.current_memberships().get(relation="spouse").person
    with context.job("test residency"):
        home = Institution.objects.create(name="测试敬老院", kind="nursing_home", beds=10,
                                          nursing_beds=5, area_code=hh.area_code)
        stay = InstitutionResident.objects.create(
            institution=home, person=head, care_level="severe", concentrated_tekun=True,
            admitted_on=DAY, area_code=hh.area_code)
    rows = _member_rows(hh)
    assert rows[head.pk]["institutional"] is True and rows[spouse.pk]["institutional"] is False
    _, before = build_frames(Household.objects.filter(pk=hh.pk), DAY - dt.timedelta(days=1))
    assert not any(before["institutional"].to_list())
    with context.job("test residency"):
        stay.left_on = DAY
        stay.save()
    assert _member_rows(hh)[head.pk]["institutional"] is False

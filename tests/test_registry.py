import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit.models import AuditEvent
from doudi.registry import services
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.registry.services import MemberInput, RegistryError
from tests.conftest import OTHER_TOWN_VILLAGE, VILLAGE, make_household

pytestmark = pytest.mark.django_db


def test_create_household_derives_birth_and_sex(users, new_id):
    idn = new_id(sex="F", born=dt.date(1950, 1, 1))
    hh = services.create_household(
        by=users.village_assistant, area_code=VILLAGE, hukou_type="urban",
        members=[MemberInput(id_number=idn, name="王秀英", relation="head")],
    )
    person = Person.objects.get(id_number=idn)
    assert person.sex == "F" and person.birth_date.year == 1950
    assert person.name_initials == "wxy"
    assert person.area_code == VILLAGE == hh.area_code
    assert hh.number.startswith(VILLAGE)
    assert hh.head() == person


def test_invalid_id_writes_nothing_and_names_field(users, new_id):
    good = new_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(RegistryError) as err:
        services.create_household(
            by=users.village_assistant, area_code=VILLAGE, hukou_type="urban",
            members=[MemberInput(id_number=good, name="甲", relation="head"),
                     MemberInput(id_number=bad, name="乙", relation="spouse")],
        )
    assert err.value.errors[0].field == "members[1].id_number"
    assert "校验码" in err.value.errors[0].message
    assert Household.objects.count() == 0 and Person.objects.count() == 0


def test_duplicate_id_is_refused_naming_existing(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    existing = hh.head()
    with pytest.raises(RegistryError) as err:
        services.create_household(
            by=users.district_officer, area_code=OTHER_TOWN_VILLAGE, hukou_type="rural",
            members=[MemberInput(id_number=existing.id_number, name="张三丰", relation="head")],
        )
    message = err.value.errors[0].message
    assert "已登记" in message and hh.number in message and existing.masked_name in message
    assert existing.id_number not in message  # the message itself stays masked
    assert Household.objects.count() == 1


def test_exactly_one_head(users, new_id):
    with pytest.raises(RegistryError, match="户主"):
        services.create_household(
            by=users.village_assistant, area_code=VILLAGE, hukou_type="urban",
            members=[MemberInput(id_number=new_id(), name="甲", relation="spouse")],
        )


def test_out_of_area_write_is_refused(users, new_id):
    with pytest.raises(PermissionDenied):
        make_household(users.village_assistant, OTHER_TOWN_VILLAGE, new_id)
    with pytest.raises(PermissionDenied):  # read-only supervisor writes nothing
        make_household(users.supervisor, VILLAGE, new_id)
    assert Household.objects.count() == 0


def test_move_person_keeps_history(users, new_id):
    a = make_household(users.district_officer, VILLAGE, new_id, members=3)
    b = make_household(users.district_officer, OTHER_TOWN_VILLAGE, new_id)
    child = a.current_memberships().get(relation="child").person
    start = a.current_memberships().first().start_date
    with pytest.raises(RegistryError, match="起始日期"):
        services.move_person(by=users.district_officer, person=child, to_household=b,
                             relation="other", on=start - dt.timedelta(days=1))
    services.move_person(by=users.district_officer, person=child, to_household=b,
                         relation="other", on=start)
    history = list(Membership.objects.filter(person=child).order_by("id"))
    assert [m.household for m in history] == [a, b]
    assert history[0].end_date == start and history[1].end_date is None
    child.refresh_from_db()
    assert child.area_code == OTHER_TOWN_VILLAGE
    assert a.current_memberships().count() == 2 and b.current_memberships().count() == 3


def test_head_cannot_leave_without_new_head(users, new_id):
    a = make_household(users.district_officer, VILLAGE, new_id)
    b = make_household(users.district_officer, VILLAGE, new_id)
    with pytest.raises(RegistryError, match="户主"):
        services.move_person(by=users.district_officer, person=a.head(), to_household=b,
                             relation="other")


def test_observations_are_dated_not_overwritten(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    for month, amount in ((dt.date(2026, 1, 1), 120_000), (dt.date(2026, 6, 1), 95_050)):
        services.record_observation(by=users.village_assistant, household=hh, kind="income",
                                    item="wage", amount_fen=amount, observed_on=month)
    rows = list(Observation.objects.filter(household=hh).order_by("observed_on")
                .values_list("amount_fen", flat=True))
    assert rows == [120_000, 95_050]
    with pytest.raises(RegistryError, match="整数"):
        services.record_observation(by=users.village_assistant, household=hh, kind="income",
                                    item="wage", amount_fen=12.5, observed_on=dt.date(2026, 7, 1))


def test_categories_with_dates(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    person = hh.head()
    row = services.assign_category(by=users.town_officer, category="dibao", household=hh,
                                   start_date=dt.date(2025, 1, 1), decided_by="申请 SQ1")
    with pytest.raises(RegistryError, match="未终止"):
        services.assign_category(by=users.town_officer, category="dibao", household=hh,
                                 start_date=dt.date(2025, 2, 1), decided_by="申请 SQ2")
    with pytest.raises(RegistryError, match="人员"):
        services.assign_category(by=users.town_officer, category="tekun", household=hh,
                                 start_date=dt.date(2025, 1, 1), decided_by="申请 SQ3")
    services.assign_category(by=users.town_officer, category="left_behind_elderly",
                             person=person, start_date=dt.date(2025, 1, 1))
    services.end_category(by=users.town_officer, assignment=row, end_date=dt.date(2026, 1, 31),
                          decided_by="停发 2026-01")
    assert CategoryAssignment.objects.filter(end_date__isnull=True).count() == 1


@pytest.mark.parametrize("category", ["dibao", "edge", "hardship", "tekun"])
def test_a_programme_status_needs_a_decision(users, new_id, category):
    """低保, 特困, 边缘, 支出型 are set and ended only by casework, whoever asks the registry."""
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    owner = {"person": hh.head()} if category == "tekun" else {"household": hh}
    for user in (users.village_assistant, users.district_approver):
        with pytest.raises(RegistryError, match="只能经申请审批"):
            services.assign_category(by=user, category=category,
                                     start_date=dt.date(2025, 1, 1), **owner)
    assert not CategoryAssignment.objects.exists()
    row = services.assign_category(by=users.town_officer, category=category,
                                   start_date=dt.date(2025, 1, 1), decided_by="申请 SQ9",
                                   **owner)
    with pytest.raises(RegistryError, match="只能经申请审批"):
        services.end_category(by=users.village_assistant, assignment=row,
                              end_date=dt.date(2026, 1, 31))
    row.refresh_from_db()
    assert row.end_date is None


def test_reveal_is_audited_and_needs_capability(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    person = hh.head()
    full = services.reveal_person(by=users.town_approver, person=person)
    assert full["id_number"] == person.id_number
    event = AuditEvent.objects.get(action=AuditEvent.VIEW_FULL)
    assert event.actor_id is None or event.object_id == str(person.pk)
    with pytest.raises(PermissionDenied):
        services.reveal_person(by=users.supervisor, person=person)


def test_accounts_respect_role_levels_and_password_rules(areas):
    from doudi.accounts.services import AccountError, create_user

    with pytest.raises(AccountError, match="不能设在"):
        create_user(username="a", password="long-enough-1", area_code="341002",
                    roles=["village_assistant"])
    with pytest.raises(AccountError):
        create_user(username="b", password="123", area_code="341002102002",
                    roles=["village_assistant"])
    with pytest.raises(AccountError, match="未知角色"):
        create_user(username="c", password="long-enough-1", area_code="341002",
                    roles=["superuser"])


def test_moving_person_takes_open_categories_along(users, new_id):
    a = make_household(users.district_officer, VILLAGE, new_id, members=3)
    b = make_household(users.district_officer, OTHER_TOWN_VILLAGE, new_id)
    child = a.current_memberships().get(relation="child").person
    row = services.assign_category(by=users.district_officer, category="serious_illness",
                                   person=child, start_date=dt.date(2025, 1, 1))
    services.move_person(by=users.district_officer, person=child, to_household=b,
                         relation="other")
    row.refresh_from_db()
    assert row.area_code == OTHER_TOWN_VILLAGE
    assert not CategoryAssignment.objects.visible_to(users.town_officer).filter(pk=row.pk)
    with pytest.raises(PermissionDenied):  # the old town can no longer end it
        services.end_category(by=users.town_officer, assignment=row,
                              end_date=dt.date(2026, 1, 1))

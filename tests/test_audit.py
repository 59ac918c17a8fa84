import pytest
from django.db import DatabaseError, connection, transaction

from doudi.audit import context
from doudi.audit.models import AuditEvent, AuditImmutable
from doudi.registry.models import Person
from tests.conftest import VILLAGE, make_household

pytestmark = pytest.mark.django_db


def test_every_registry_write_is_audited_with_actor_and_masked_values(users, new_id):
    with context.job("unit", user=users.village_assistant):
        hh = make_household(users.village_assistant, VILLAGE, new_id)
    person = hh.head()
    created = AuditEvent.objects.filter(action="create", object_type="registry.person",
                                        object_id=str(person.pk)).get()
    assert created.actor_name == "village_assistant" and created.job == "unit"
    assert created.area_code == VILLAGE
    assert created.changes["id_number"][1] == person.masked_id  # logs carry no full ID
    assert person.id_number not in str(created.changes)

    with context.job("edit", user=users.village_assistant):
        person.phone = "13900000000"
        person.save()
    update = AuditEvent.objects.filter(action="update", object_id=str(person.pk)).get()
    assert update.changes == {"phone": ["138****5678", "139****0000"]}


def test_no_change_writes_no_update_row(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    person = Person.objects.get(pk=hh.head().pk)
    before = AuditEvent.objects.count()
    person.save()
    assert AuditEvent.objects.count() == before


def test_audit_rows_cannot_be_changed_or_deleted(users):
    event = AuditEvent.objects.first()
    assert event is not None  # creating the users was audited
    event.actor_name = "someone else"
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().update(actor_name="x")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditevent SET actor_name = 'x'",
    "DELETE FROM audit_auditevent",
])
def test_database_refuses_raw_changes(users, sql):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert not AuditEvent.objects.filter(actor_name="x").exists()
    assert AuditEvent.objects.exists()


def test_auditor_sees_only_own_area(users, client):
    from doudi.accounts.services import create_user

    with context.job("t"):
        create_user(username="gd", password="x-pass-2026", area_code="440103",
                    roles=["district_officer"])
    visible = AuditEvent.objects.visible_to(users.audit_admin)
    assert visible.exists()
    assert not visible.filter(area_code__startswith="44").exists()
    assert AuditEvent.objects.visible_to(users.district_approver).count() == 0
    client.force_login(users.audit_admin)
    page = client.get("/audit/?action=create")
    assert page.status_code == 200 and "审计日志" in page.content.decode()


def test_changes_hidden_by_masking_are_still_recorded(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    person = Person.objects.get(pk=hh.head().pk)
    person.name = "张大丰"  # 张三丰 → 张大丰: both mask to 张*丰
    person.save()
    event = AuditEvent.objects.filter(action="update", object_id=str(person.pk)).get()
    assert event.changes["name"] == ["张*丰", "张*丰"]
    assert "zdf" not in str(event.changes) and "张大丰" not in str(event.changes)
    created = AuditEvent.objects.get(action="create", object_id=str(person.pk),
                                     object_type="registry.person")
    assert created.changes["birth_date"][1].endswith("-**-**")  # the date is the ID's core
    user = users.town_officer
    user.set_password("another-pass-2026")
    user.save()
    change = AuditEvent.objects.filter(action="update", object_type="accounts.user",
                                       object_id=str(user.pk)).get()
    assert change.changes["password"] == ["******", "******"]


def test_duplicate_refusal_is_audited(users, new_id):
    from doudi.registry.services import MemberInput, RegistryError, create_household

    hh = make_household(users.village_assistant, VILLAGE, new_id)
    with pytest.raises(RegistryError):
        create_household(by=users.district_officer, area_code=VILLAGE, hukou_type="urban",
                         members=[MemberInput(id_number=hh.head().id_number, name="某",
                                              relation="head")])
    event = AuditEvent.objects.get(action=AuditEvent.REFUSED)
    assert event.object_id == str(hh.head().pk) and hh.head().id_number not in str(event)


def test_change_rows_speak_chinese(users, new_id):
    hh = make_household(users.village_assistant, VILLAGE, new_id)
    event = AuditEvent.objects.get(action="create", object_type="registry.person",
                                   object_id=str(hh.head().pk))
    rows = {label: new for label, _old, new in event.change_rows()}
    assert rows["户籍类型"] == "城镇" and rows["身份证号"] == hh.head().masked_id

"""Encryption at rest: the database holds only ciphertext for IDs, phones and accounts, the
code keeps seeing plaintext, lookups and uniqueness still work, and keys rotate."""

from __future__ import annotations

import datetime as dt
import io
import os
import types

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits import services as benefits
from doudi.core import crypto
from doudi.core.masking import mask_id_number
from doudi.registry import encryption
from doudi.registry.fields import STORE
from doudi.registry.models import Household, Membership, Person
from doudi.registry.queries import search_households
from tests.conftest import VILLAGE, make_household
from tests.payees import AGENT_ID, card, give_payee

ACCOUNT = card("621700001111222233")

PHONE = "13812345678"  # make_household gives the head this phone


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def households(users, new_id):
    with context.job("test encryption"):
        return [make_household(users.district_approver, VILLAGE, new_id) for _ in range(3)]


def keys(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def test_the_encrypted_columns():
    assert {(c.table, c.column) for c in encryption.columns()} == {
        ("registry_person", "id_number"), ("registry_person", "id_tail"),
        ("registry_person", "phone"), ("casework_onlinerequest", "id_number"),
        ("casework_onlinerequest", "phone"), ("care_careprofile", "carer_phone"),
        ("care_careprofile", "guardian_phone"), ("care_crossprovincecase", "child_id_number"),
        ("community_organisation", "phone"), ("monitoring_warning", "reported_phone"),
        ("benefits_enrollment", "payee_account"), ("benefits_paymentline", "payee_account"),
        ("benefits_enrollment", "payee_agent_id_number"),
        ("benefits_payeechange", "account"), ("benefits_payeechange", "old_account"),
        ("benefits_payeechange", "agent_id_number"),
        ("benefits_payeechange", "old_agent_id_number"),
        ("benefits_oneoffpayment", "payee_account")}


def test_database_holds_no_plaintext(households):
    people = Person.objects.all()
    ids = [p.id_number for p in people]
    rows = raw("SELECT id_number, phone, id_tail FROM registry_person")
    assert len(rows) == len(ids) == 6
    stored = " ".join(v for row in rows for v in row)
    for plain in ids:
        assert plain not in stored and plain[-4:] not in stored.replace("k1:", "")
    assert PHONE not in stored
    assert all(row[0].startswith("k1:") and row[2].startswith("k1:") for row in rows)
    assert {row[1] for row in rows} - {""} and all(r[1].startswith("k1:") for r in rows if r[1])


def test_orm_reads_plaintext(households):
    head = households[0].head()
    fresh = Person.objects.get(pk=head.pk)
    assert fresh.phone == PHONE and len(fresh.id_number) == 18
    assert fresh.masked_id == f"{fresh.id_number[:4]}{'*' * 10}{fresh.id_number[-4:]}"
    assert dict(Person.objects.values_list("pk", "id_number"))[head.pk] == fresh.id_number
    assert (Membership.objects.filter(person=head).values_list("person__id_number", flat=True)
            .get() == fresh.id_number)


def test_equality_lookups_and_search(households, users):
    a, b = (h.head() for h in households[:2])
    assert Person.objects.get(id_number=a.id_number) == a
    assert set(Person.objects.filter(id_number__in=[a.id_number, b.id_number, "x"])) == {a, b}
    assert Membership.objects.filter(person__id_number=b.id_number).get().household == households[1]
    assert not Person.objects.filter(id_number="34100219800517001X").exists()
    found = search_households(Household.objects.all(), q=a.id_number[-4:],
                              user=users.district_approver)
    assert households[0] in found
    assert list(search_households(Household.objects.all(), q=a.id_number,
                                     user=users.district_approver)) == [households[0]]


def test_uniqueness_still_holds(households):
    head = households[0].head()
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(id_number=head.id_number, name="重复", sex="M",
                              birth_date=dt.date(1980, 1, 1), hukou_type="urban",
                              area_code=head.area_code)


@pytest.mark.parametrize("lookup", ["id_number__startswith", "id_number__contains",
                                    "id_number__icontains", "id_number__iexact",
                                    "phone__endswith", "id_number__gt"])
def test_lookups_inside_the_value_are_refused(db, lookup):
    with pytest.raises(FieldError, match="加密字段"):
        Person.objects.filter(**{lookup: "3410"}).exists()


def test_audit_log_masks_plaintext(households):
    head = households[0].head()
    event = AuditEvent.objects.filter(object_type="registry.person", object_id=str(head.pk),
                                      action=AuditEvent.CREATE).get()
    assert event.changes["id_number"][1] == head.masked_id
    assert event.changes["phone"][1] == "138****5678"
    assert "id_tail" not in event.changes


def test_other_columns_are_encrypted(households, users):
    with context.job("test"):
        enrollment = benefits.enroll(by=users.district_approver, household=households[0],
                                     programme="dibao", amount_fen=50_000,
                                     start_date=dt.date(2026, 1, 1))
        give_payee(users, enrollment, ACCOUNT, agent="张三丰")
    stored = raw("SELECT payee_account FROM benefits_enrollment WHERE id = %s",
                 [enrollment.pk])[0][0]
    assert stored.startswith("k1:") and "6217" not in stored
    enrollment.refresh_from_db()
    assert enrollment.payee_account == ACCOUNT
    assert enrollment.masked_account == f"6217***********{ACCOUNT[-4:]}"
    update = AuditEvent.objects.filter(object_type="benefits.enrollment",
                                       action=AuditEvent.UPDATE).latest("id")
    assert update.changes["payee_account"][1] == f"6217****{ACCOUNT[-4:]}"
    assert update.changes["payee_agent_id_number"][1] == mask_id_number(AGENT_ID)
    # the change request keeps the account and the agent's ID encrypted too
    stored = raw("SELECT account, agent_id_number FROM benefits_payeechange")[0]
    assert all(v.startswith("k1:") for v in stored)
    assert ACCOUNT not in "".join(stored) and AGENT_ID not in "".join(stored)


def test_status_and_rotation(households, own_keys):
    before = {p.pk: (p.id_number, p.phone) for p in Person.objects.all()}
    assert "registry_person.id_number：k1 6" in keys("status")
    out = keys("rotate", "--batch", "4")
    assert "已生成新密钥 k2" in out and "轮换完成" in out and "k1 已无数据使用" in out
    for table_column in ("registry_person.id_number", "registry_person.id_tail"):
        assert f"{table_column}：已重新加密 6 行" in out
    assert all(v.startswith("k2:") for row in raw(
        "SELECT id_number, id_tail FROM registry_person") for v in row)
    assert {p.pk: (p.id_number, p.phone) for p in Person.objects.all()} == before
    head = households[0].head()
    assert Person.objects.get(id_number=head.id_number) == head
    assert crypto.read_key_file(own_keys).current == "k2"
    assert AuditEvent.objects.filter(object_label__startswith="密钥轮换").exists()
    # nothing left under k1: it can go, and rows still read without it
    assert "密钥 k1 已从密钥文件删除" in keys("retire", "k1")
    assert set(crypto.read_key_file(own_keys).keys) == {"k2"}
    assert {p.pk: (p.id_number, p.phone) for p in Person.objects.all()} == before


def test_interrupted_rotation_reads_finds_and_finishes(households, own_keys):
    """A rotation stopped after its first batch (the process killed): every row still reads
    and is found by its ID, under either key; running rotate again finishes the same one."""
    before = {p.pk: p.id_number for p in Person.objects.all()}
    ring = STORE.ring().with_new_key()
    STORE.save(ring)
    person = next(c for c in encryption.columns() if c.column == "id_number"
                  and c.table == "registry_person")
    batches = []

    def killed(n):
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encryption.reencrypt(connection, person, ring, batch=2, after_batch=killed)
    kinds = [v[:3] for (v,) in raw("SELECT id_number FROM registry_person ORDER BY id")]
    assert kinds == ["k2:"] * 2 + ["k1:"] * 4
    assert {p.pk: p.id_number for p in Person.objects.all()} == before
    for pk, id_number in before.items():
        assert Person.objects.get(id_number=id_number).pk == pk
        assert Person.objects.filter(id_number__in=[id_number]).get().pk == pk
    out = keys("rotate")
    assert "上次轮换未完成" in out and "k3" not in out and "轮换完成" in out
    assert {v[:3] for row in raw("SELECT id_number, phone FROM registry_person")
            for v in row if v} == {"k2:"}
    assert "轮换完成" in keys("rotate") and "k3" in crypto.read_key_file(own_keys).keys


def test_a_missing_key_file_is_not_replaced_over_encrypted_data(households, own_keys):
    own_keys.unlink()
    STORE.reset()
    with pytest.raises(crypto.KeyFileError, match=r"密钥文件 .* 不存在，但数据库中已有加密数据"):
        list(Person.objects.all())
    assert not own_keys.exists()


def test_an_unknown_key_id_is_named(households):
    head = households[0].head()
    token = crypto.KeyRing.generate().with_new_key().with_new_key().encrypt(head.id_number)
    raw("UPDATE registry_person SET phone = %s WHERE id = %s", [token, head.pk])
    with pytest.raises(crypto.UnknownKey, match="k3"):
        Person.objects.get(pk=head.pk)


def test_migration_functions_encrypt_and_decrypt_back(households):
    editor = types.SimpleNamespace(connection=connection)
    forward, backward = encryption.migration(
        [("registry_person", "id_tail"), ("registry_person", "id_number"),
         ("registry_person", "phone")],
        derived={("registry_person", "id_tail"): ("id_number", lambda v: v[-4:])})
    ids = {p.pk: p.id_number for p in Person.objects.all()}
    backward(None, editor)
    rows = raw("SELECT id, id_number, id_tail, phone FROM registry_person")
    assert {pk: i for pk, i, _, _ in rows} == ids
    assert all(t == i[-4:] for _, i, t, _ in rows) and PHONE in {p for *_, p in rows}
    raw("UPDATE registry_person SET id_tail = ''")
    forward(None, editor)
    forward(None, editor)  # a rerun leaves encrypted rows alone
    assert {p.pk: p.id_number for p in Person.objects.all()} == ids
    assert all(p.id_tail == p.id_number[-4:] for p in Person.objects.all())
    assert all(v.startswith("k1:") for row in raw(
        "SELECT id_number, id_tail FROM registry_person") for v in row)


def test_a_killed_rotation_process_is_finished_by_the_next(tmp_path):
    """`doudi keys rotate` SIGKILLed after its first batch, on an embedded database of its own:
    rows are under one key or the other, all readable; the rerun finishes that rotation."""
    import sqlite3
    import subprocess
    import sys

    from tests.conftest import kill_when

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DOUDI_SQLITE")}
    env.update(DOUDI_HOME=str(home), DJANGO_SETTINGS_MODULE="doudi.settings",
               DOUDI_SQLITE=str(home / "db.sqlite3"), DOUDI_KEY_FILE=str(home / "k" / "doudi.keys"))

    def doudi(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-u", "-m", "doudi.cli", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    out, _ = (proc := doudi("migrate", "-v", "0")).communicate(timeout=600)
    assert proc.returncode == 0, out
    ring = crypto.read_key_file(home / "k" / "doudi.keys")
    plain = [f"34100219800517{n:03d}{n % 10}" for n in range(300)]
    with sqlite3.connect(home / "db.sqlite3") as db:
        db.executemany(
            "INSERT INTO registry_person (id_number, id_tail, name, name_initials, sex, "
            "birth_date, hukou_type, phone, disability_category, serious_illness, "
            "labour_capacity, student_status, has_supporter, adl_failed, area_code, "
            "created_at, updated_at) VALUES (?, ?, '张三', '', 'M', '1980-05-17', 'urban', ?, "
            "'', '', 'full', '', 1, 0, '341002102002', '2026-01-01', '2026-01-01')",
            [(ring.encrypt(v), ring.encrypt(v[-4:]), ring.encrypt(PHONE)) for v in plain])
    # the line is printed inside its batch's transaction: the first batch is committed by the second
    printed = kill_when(doudi("keys", "rotate", "--batch", "50"), "已重新加密 100 行")
    with sqlite3.connect(home / "db.sqlite3") as db:
        ids = [v for (v,) in db.execute("SELECT id_number FROM registry_person ORDER BY id")]
    keys_now = crypto.read_key_file(home / "k" / "doudi.keys")
    assert {v[:3] for v in ids} == {"k1:", "k2:"}, printed
    assert [keys_now.decrypt(v) for v in ids] == plain
    out, _ = (proc := doudi("keys", "rotate", "--batch", "50")).communicate(timeout=600)
    assert proc.returncode == 0 and "上次轮换未完成" in out and "轮换完成" in out, out
    with sqlite3.connect(home / "db.sqlite3") as db:
        rows = db.execute("SELECT id_number, id_tail, phone FROM registry_person ORDER BY id")
        rows = rows.fetchall()
    assert {v[:3] for row in rows for v in row} == {"k2:"}
    assert [keys_now.decrypt(i) for i, _, _ in rows] == plain
    assert set(crypto.read_key_file(home / "k" / "doudi.keys").keys) == {"k1", "k2"}

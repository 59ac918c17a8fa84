"""个人信息查阅: a person's own record and everyone who read or changed it, nobody else's."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from doudi.audit import context, personal_access
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment, PaymentLine, PaymentRun
from doudi.registry import services as registry
from doudi.registry.models import Person
from tests.conftest import VILLAGE, make_household

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(users, new_id):
    """A household of two; each member edited and looked at by someone."""
    with context.job("family", user=users.village_assistant):
        hh = make_household(users.village_assistant, VILLAGE, new_id)
        me = Person.objects.get(pk=hh.head().pk)
        spouse = Person.objects.get(memberships__household=hh, memberships__relation="spouse")
        me.phone = "13900000001"
        me.save()
        spouse.phone = "13900000002"
        spouse.save()
    with context.job("look", user=users.town_officer):
        registry.reveal_person(by=users.town_officer, person=me)
        registry.reveal_person(by=users.town_officer, person=spouse)
    return hh, me, spouse


def test_report_has_own_events_and_no_one_elses(family, users):
    hh, me, spouse = family
    rep = personal_access.report(me, by=users.village_assistant)
    ids = [e.event_id for e in rep.events]
    events = AuditEvent.objects.filter(pk__in=ids)
    mine = events.filter(object_type="registry.person")
    assert set(mine.values_list("object_id", flat=True)) == {str(me.pk)}
    assert not events.filter(object_type="registry.person", object_id=str(spouse.pk)).exists()
    # the household's own events and the person's membership are in; the spouse's are not
    assert events.filter(object_type="registry.household", object_id=str(hh.pk)).exists()
    memberships = set(events.filter(object_type="registry.membership")
                      .values_list("object_id", flat=True))
    assert memberships == {str(m.pk) for m in me.memberships.all()}
    # who looked, when, what: the town officer's full view, the phone change
    looked = [e for e in rep.events if e.action == "查看完整信息" and e.actor == "town_officer"]
    assert len(looked) == 1
    assert any("13900000001"[-4:] in e.changes and e.action == "修改" for e in rep.events)
    # the report itself was audited, as a full view of the person, and is in the report
    made = AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL, object_id=str(me.pk),
                                     actor_name="village_assistant").get()
    assert made.pk in ids and made.changes == {"purpose": "个人信息查阅"}


def test_own_data_full_others_masked(family, users):
    _hh, me, spouse = family
    rep = personal_access.report(me, by=users.town_officer)
    fields = dict(rep.fields)
    assert fields["身份证号"] == me.id_number and fields["姓名"] == me.name
    assert fields["联系电话"] == "13900000001"
    (membership,) = rep.memberships
    assert spouse.masked_name in membership["现有其他成员"]
    assert spouse.name not in str(rep.memberships)
    text = str(rep.events)
    assert spouse.id_number not in text and spouse.name not in text and me.id_number not in text


def test_refused_without_full_view_in_the_area(family, users, world):
    _hh, me, _spouse = family
    for who in (users.supervisor, users.audit_admin, world.gd_user, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            personal_access.report(me, by=who)
    # a village assistant elsewhere in the town does not see this village's people
    other = world.same_town_hh.head()
    with pytest.raises(PermissionDenied):
        personal_access.report(other, by=users.village_assistant)
    assert not AuditEvent.objects.filter(changes__purpose="个人信息查阅").exists()


def test_household_events_only_while_a_member(users, new_id):
    with context.job("t", user=users.village_assistant):
        old = make_household(users.village_assistant, VILLAGE, new_id)
        new = make_household(users.village_assistant, VILLAGE, new_id)
    mover = Person.objects.get(memberships__household=old, memberships__relation="spouse")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    mover.memberships.update(start_date=yesterday - dt.timedelta(days=30))
    registry.move_person(by=users.village_assistant, person=mover, to_household=new,
                         relation="spouse", on=yesterday)
    # today, after the move: the old household changes; that is no longer about them
    old.address = "新地址路9号"
    old.save()
    later = AuditEvent.objects.filter(object_type="registry.household", object_id=str(old.pk),
                                      action="update").get()
    rep = personal_access.report(mover, by=users.village_assistant)
    ids = {e.event_id for e in rep.events}
    assert later.pk not in ids
    assert AuditEvent.objects.filter(pk__in=ids, object_type="registry.household",
                                     object_id=str(new.pk)).exists()
    assert [m["家庭编号"] for m in rep.memberships] == [old.number, new.number]


def test_enrollments_and_payments_summary(family, users):
    hh, me, _spouse = family
    with context.job("t"):
        enrollment = Enrollment.objects.create(
            household=hh, programme="dibao", amount_fen=123456, start_date=dt.date(2026, 1, 1),
            area_code=hh.area_code)
        run = PaymentRun.objects.create(area_code=hh.area_code, month=dt.date(2026, 1, 1))
        PaymentLine.objects.create(run=run, enrollment=enrollment, month=dt.date(2026, 1, 1),
                                   regular_fen=123456, arrears_fen=0, recovery_fen=0,
                                   total_fen=123456, status=PaymentLine.PAID,
                                   area_code=hh.area_code)
        from doudi.audit import services

        services.record(AuditEvent.EXPORT, object_type="benefits.paymentrun", object_id=run.pk,
                        object_label="银行代发文件", area_code=hh.area_code)
    rep = personal_access.report(me, by=users.village_assistant)
    (row,) = rep.enrollments
    assert row["现月保障金（元）"] == "1234.56" and row["已发放合计（元）"] == "1234.56"
    assert row["已发放月数"] == "1" and row["最近发放月份"] == "2026-01"
    assert any(e.action == "导出" and e.object_label == "银行代发文件" for e in rep.events)


def test_household_application_and_its_attachments_are_in(family, users):
    """An application made by the spouse is for the whole household; a view of one of its
    attachments is a look at that household's file, so both are in the head's report."""
    from doudi.audit import services
    from doudi.casework.models import Application, Attachment

    hh, me, spouse = family
    today = dt.date.today()
    with context.job("t", user=users.town_officer):
        application = Application.objects.create(
            number="SQ-TEST-1", programme="dibao", channel="town_window", household=hh,
            applicant=spouse, reason="收入低", submitted_on=today, step_started_on=today,
            area_code=hh.area_code)
        attachment = Attachment.objects.create(
            application=application, kind="document", file_name="证明.pdf",
            content_type="application/pdf", size=1, sha256="0" * 64, area_code=hh.area_code)
        services.record(AuditEvent.VIEW, object_type="casework.attachment",
                        object_id=attachment.pk, object_label="查看附件",
                        area_code=hh.area_code)
    rep = personal_access.report(me, by=users.town_officer)
    kinds = {(e.object_type, e.action) for e in rep.events}
    assert (str(Application._meta.verbose_name), "新增") in kinds
    assert (str(Attachment._meta.verbose_name), "查阅") in kinds


def test_command_writes_excel_and_is_audited(family, tmp_path):
    _hh, me, spouse = family
    out = tmp_path / "查阅.xlsx"
    text = io.StringIO()
    call_command("audit", "person", me.id_number, "--out", str(out), stdout=text)
    assert "已写入" in text.getvalue()
    with zipfile.ZipFile(out) as book:
        names = book.namelist()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert sum(n.startswith("xl/worksheets/sheet") for n in names) == 4
    assert me.id_number in strings and "查看完整信息" in strings
    assert spouse.id_number not in strings and spouse.name not in strings
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT, object_id=str(me.pk)).get()
    assert event.actor_name == "system" and event.job == "audit person"
    assert event.object_type == "registry.person"


def test_command_refuses_bad_or_unknown_ids(db):
    with pytest.raises(CommandError, match="身份证号无效"):
        call_command("audit", "person", "123")
    from tests.conftest import valid_id

    with pytest.raises(CommandError, match="未找到"):
        call_command("audit", "person", valid_id(seq=99))


def test_the_page_answers_on_screen_and_in_excel_and_is_audited(client, users, family, world):
    from django.urls import reverse

    _, me, spouse = family
    url = reverse("personal_access", kwargs={"person_id": me.pk})
    client.force_login(users.village_assistant)
    views = AuditEvent.objects.filter(object_type="registry.person", object_id=str(me.pk),
                                      changes__purpose="个人信息查阅")
    form = client.get(url).content.decode()
    assert me.masked_name in form and me.id_number not in form and views.count() == 0
    page = client.post(url, {"format": "html"}).content.decode()
    assert me.id_number in page and "town_officer" in page  # who looked at it
    assert spouse.id_number not in page
    assert views.filter(action=AuditEvent.VIEW_FULL).count() == 1
    xlsx = client.post(url, {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as z:
        assert "village_assistant" in z.read("xl/worksheets/sheet1.xml").decode()  # watermark
    assert views.filter(action=AuditEvent.EXPORT).count() == 1
    # a role without full-data access is refused; a person outside the area is not found
    client.force_login(users.supervisor)
    assert client.post(url, {"format": "html"}).status_code == 403
    far = world.guangdong_hh.head()
    client.force_login(users.village_assistant)
    assert client.get(reverse("personal_access",
                              kwargs={"person_id": far.pk})).status_code == 404

"""Referrals (转介): kinds as data, the state table, sending from a warning / a case / a
household, the department's answer, area and department scoping, escalation, statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.monitoring import services as monitoring
from doudi.monitoring import workflow as monitoring_workflow
from doudi.referrals import kinds, services, statistics, workflow
from doudi.referrals.models import Referral
from tests.referrals.conftest import department_account

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture(autouse=True)
def _job():
    with context.job("referral tests"):
        yield


def _refer(world, kind: str = "medical", household=None, **kw) -> Referral:
    return services.refer(by=world.users.town_officer, household=household or world.village_hh,
                          kind=kind, asked="住院自付费用较高，请核定医疗救助", day=DAY, **kw)


def test_every_refer_disposition_of_a_warning_is_a_kind() -> None:
    refer = [d for d in monitoring_workflow.dispositions() if d.startswith("refer_")]
    assert refer, "the warning dispositions lost their referrals"
    for disposition in refer:
        kind = kinds.for_disposition(disposition)
        assert kind is not None, f"{disposition} names no kind in referrals/kinds.yaml"
    assert {k.disposition for k in kinds.shipped().values()} == set(refer)
    labels = {k.label for k in kinds.shipped().values()}
    assert {"医疗救助", "教育救助", "住房救助", "就业救助", "残疾人服务", "司法救助"} <= labels
    assert {k.department for k in kinds.shipped().values()} >= {"医保", "教育", "住建", "人社",
                                                                  "残联", "司法", "慈善会"}


def test_the_state_table() -> None:
    answered = {(t.state, t.action): t.to for t in workflow.TRANSITIONS if t.capability}
    assert answered == {("sent", "accepted"): "accepted", ("sent", "granted"): "granted",
                        ("sent", "refused"): "refused", ("accepted", "granted"): "granted",
                        ("accepted", "refused"): "refused"}
    for final in (workflow.GRANTED, workflow.REFUSED):
        assert not [t for t in workflow.TRANSITIONS if t.state == final]
    assert workflow.answer_problems("refused", None, "", " ") == [("reason", "不予救助须说明理由")]
    assert workflow.answer_problems("granted", None, "", "")[0][0] == "amount"
    assert workflow.answer_problems("granted", None, "资助参保", "") == []
    assert workflow.answer_problems("granted", 300000, "", "") == []


def test_refer_from_a_household_is_due_in_working_days_and_audited(world) -> None:
    r = _refer(world)
    assert (r.status, r.department, r.source, r.area_code) == (
        "sent", "医保", "household", world.village_hh.area_code)
    assert r.sent_on == DAY and r.due_on == dt.date(2026, 11, 16)  # 10 working days
    assert r.events.get().action == "send"
    assert AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(r.pk),
                                     action=AuditEvent.CREATE).exists()


def test_refer_is_refused_without_what_is_asked_or_outside_the_area(world) -> None:
    with pytest.raises(services.ReferralError) as refused:
        services.refer(by=world.users.town_officer, household=world.village_hh, kind="nope",
                       asked=" ")
    assert {e.field for e in refused.value.errors} == {"kind", "asked"}
    with pytest.raises(PermissionDenied):  # 屯光镇's household, 黎阳镇's officer
        _refer(world, household=world.other_town_hh)
    with pytest.raises(PermissionDenied):  # the department answers, it does not send
        services.refer(by=world.users.department, household=world.village_hh, kind="medical",
                       asked="x")
    assert not Referral.objects.exists()


def test_a_warning_disposed_with_a_referral_creates_it(world) -> None:
    officer = world.users.town_officer
    w = monitoring.report(by=officer, channel="discovery", summary="大病住院，自付费用高",
                          household=world.village_hh, person=world.village_hh.head())
    monitoring.verify(by=officer, warning=w, finding="住院自付约两万元", confirmed=True)
    monitoring.dispose(by=officer, warning=w, disposition="refer_medical",
                       note="请核定医疗救助")
    r = Referral.objects.get()
    assert (r.source, r.warning_id, r.kind, r.person_id, r.asked) == (
        "warning", w.pk, "medical", world.village_hh.head().pk, "请核定医疗救助")
    w.refresh_from_db()
    assert w.status == "closed" and w.disposition == "refer_medical"


def test_a_referral_from_a_case_names_it(world) -> None:
    from doudi.casework.services import create_application

    app = create_application(by=world.users.town_officer, household=world.village_hh,
                             programme="dibao", channel="village",
                             applicant=world.village_hh.head(), reason="收入低")
    r = _refer(world, kind="education", application=app)
    assert (r.source, r.application_id, r.department) == ("application", app.pk, "教育")
    with pytest.raises(services.ReferralError):
        _refer(world, household=world.same_town_hh, application=app)


def test_the_department_answers_granted_with_an_amount(world, yibao) -> None:
    r = _refer(world)
    r = services.answer(by=yibao, referral=r, outcome="accepted", day=DAY + dt.timedelta(days=1))
    assert r.status == "accepted" and r.due_on == dt.date(2026, 11, 17)
    r = services.answer(by=yibao, referral=r, outcome="granted", amount_fen=300000)
    assert (r.status, r.amount_fen, r.answered_by) == ("granted", 300000, yibao)
    assert "已给予 3,000 元" in str(r)
    with pytest.raises(services.ReferralError):  # answered: final
        services.answer(by=yibao, referral=r, outcome="refused", reason="重复")
    assert [e.action for e in r.events.all()] == ["send", "accepted", "granted"]


def test_refusal_needs_a_reason_and_grant_an_amount_or_measure(world, yibao) -> None:
    r = _refer(world)
    with pytest.raises(services.ReferralError) as refused:
        services.answer(by=yibao, referral=r, outcome="refused", reason="")
    assert refused.value.field == "reason"
    with pytest.raises(services.ReferralError) as refused:
        services.answer(by=yibao, referral=r, outcome="granted")
    assert refused.value.field == "amount"
    with pytest.raises(services.ReferralError):
        services.answer(by=yibao, referral=r, outcome="closed")
    r.refresh_from_db()
    assert r.status == "sent"
    r = services.answer(by=yibao, referral=r, outcome="refused", reason="已享受大病保险二次报销")
    assert r.status == "refused" and "已享受" in r.outcome_text


def test_only_the_addressed_department_in_its_area_sees_and_answers(world, yibao) -> None:
    mine = _refer(world)
    school = _refer(world, kind="education")
    gd = services.refer(by=world.gd_user, household=world.guangdong_hh, kind="medical",
                        asked="请核定医疗救助")
    assert list(services.addressed_to(yibao)) == [mine]
    jiaoyu = department_account("jiaoyu", "教育")
    assert list(services.addressed_to(jiaoyu)) == [school]
    with pytest.raises(PermissionDenied):
        services.answer(by=jiaoyu, referral=mine, outcome="accepted")
    # 医保 of another district (荔湾区) sees only its own district's
    gd_yibao = department_account("gd_yibao", "医保", area_code="440103")
    assert list(services.addressed_to(gd_yibao)) == [gd]
    with pytest.raises(PermissionDenied):
        services.answer(by=gd_yibao, referral=mine, outcome="accepted")
    # staff answer nothing; a department account without a department sees nothing
    with pytest.raises(PermissionDenied):
        services.answer(by=world.users.district_approver, referral=mine, outcome="accepted")
    assert not services.addressed_to(world.users.department).exists()
    assert list(Referral.objects.visible_to(world.users.town_officer).order_by("pk")) == [
        mine, school]


def test_what_the_department_sees_is_minimal_and_masked(world, yibao) -> None:
    seen = services.minimal(_refer(world))
    head = world.village_hh.head()
    assert seen["name"] == head.masked_name and seen["id_number"] == head.masked_id
    assert head.name not in str(seen) and head.id_number not in str(seen)
    assert world.village_hh.number not in str(seen)
    assert "address" not in seen and "phone" not in str(seen)


def test_overdue_unanswered_referrals_escalate_with_a_new_due_date(world, yibao) -> None:
    late = _refer(world)
    answered = services.answer(by=yibao, referral=_refer(world), outcome="granted",
                               measure="资助参加城乡居民医保")
    assert services.escalate_overdue(dt.date(2026, 11, 16)) == 0  # due that day: not late
    assert services.escalate_overdue(dt.date(2026, 11, 17)) == 1
    late.refresh_from_db()
    assert (late.escalated_level, late.due_on, late.status) == (1, dt.date(2026, 12, 1), "sent")
    assert late.events.last().action == "escalate"
    assert AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(late.pk),
                                     action=AuditEvent.UPDATE).exists()
    assert services.escalate_overdue(dt.date(2026, 11, 18)) == 0  # new limit not reached
    assert services.escalate_overdue(dt.date(2026, 12, 2)) == 1
    assert services.escalate_overdue(dt.date(2027, 3, 1)) == 0  # the city is the last level
    answered.refresh_from_db()
    assert answered.escalated_level == 0


def test_the_month_counts(world, yibao, monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 11, 30))
    services.answer(by=yibao, referral=_refer(world), outcome="granted", amount_fen=300000)
    _refer(world)
    _refer(world, kind="housing", household=world.same_town_hh)
    got = statistics.month_counts("341002", dt.date(2026, 11, 1))
    medical = next(r for r in got["rows"] if r["kind"] == "medical")
    assert (medical["referred"], medical["granted"], medical["sent"], medical["overdue"],
            medical["granted_fen"]) == (2, 1, 1, 1, 300000)
    assert got["total"]["referred"] == 3 and got["areas"]["341002102"]["referred"] == 3
    assert statistics.month_counts("341002100", dt.date(2026, 11, 1))["total"]["referred"] == 0
    assert statistics.month_counts("341002", dt.date(2026, 10, 1))["total"]["referred"] == 0


def test_the_escalate_command(world, capsys) -> None:
    from django.core.management import call_command

    late = _refer(world)
    call_command("referrals", "escalate", "--as-of", "2026-11-17")
    assert "逾期转介升级 1 条" in capsys.readouterr().out
    late.refresh_from_db()
    assert late.escalated_level == 1

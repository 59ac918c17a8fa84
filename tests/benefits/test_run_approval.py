"""Roster approval (发放批次审核): the checker sees the run against last month by town and
programme (new, ended, changed, unchanged), gives an opinion and confirms, or sends the run back
with a reason; the maker builds it again; the run's history keeps every step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from doudi.audit.models import AuditEvent
from doudi.benefits import services
from doudi.benefits.models import PaymentLine, PaymentRun, PaymentRunEvent
from doudi.core.money import yuan_text
from doudi.programmes import catalogue
from tests.conftest import PASSWORD, TOWN
from tests.payees import card, give_payee
from tests.xlsx import read_list

pytestmark = pytest.mark.django_db

D = dt.date
DISTRICT = "341002000000"


def _months() -> tuple[dt.date, dt.date]:
    """The two months after today's: the households' members joined today, so they are
    co-resident through both (persons are counted as 在保人数 counts them)."""
    today = timezone.localdate()
    first = D(today.year + today.month // 12, today.month % 12 + 1, 1)
    return first, D(first.year + first.month // 12, first.month % 12 + 1, 1)


def _enroll(world, household, amount: int, account: str):
    e = services.enroll(by=world.users.district_approver, household=household,
                        programme="dibao", amount_fen=amount, start_date=_months()[0])
    return give_payee(world.users, e, account)


def _run(world, month: dt.date) -> PaymentRun:
    return services.build_run(by=world.users.district_officer, month=month,
                              area_code=DISTRICT).run


@pytest.fixture
def two_months(world, shipped_parameters, new_id):
    """January approved with A, B and C; February: A the same, B decreased, C stopped before
    February, D (in another town) new. Every household has two co-resident members."""
    from tests.conftest import make_household

    u = world.users
    jan, feb = _months()
    a = _enroll(world, world.village_hh, 40_000, card("621700001111001"))
    b = _enroll(world, world.same_town_hh, 50_000, card("621700001111002"))
    c = _enroll(world, make_household(u.district_approver, "341002102002", new_id), 60_000,
                card("621700001111003"))
    january = _run(world, jan)
    services.approve_run(by=u.district_approver, run=january, opinion="同意")
    services.change(by=u.district_approver, enrollment=b, kind="decrease",
                    effective_date=feb, amount_fen=30_000, reason="收入增加")
    services.change(by=u.district_approver, enrollment=c, kind="stop",
                    effective_date=feb - dt.timedelta(days=1), reason="收入超标")
    d = _enroll(world, world.other_town_hh, 70_000, card("621700001111004"))
    february = _run(world, feb)
    return {"a": a, "b": b, "c": c, "d": d, "january": january, "february": february}


def _line(e, month: dt.date) -> PaymentLine | None:
    return PaymentLine.objects.filter(enrollment=e, month=month).first()


def test_the_summary_counts_new_ended_changed_and_unchanged(two_months) -> None:
    m = two_months
    jan, feb = _months()
    # the case as built: C has no February line, B's is lower, A's is January's
    assert _line(m["c"], feb) is None
    assert _line(m["a"], feb).total_fen == _line(m["a"], jan).total_fen
    assert _line(m["b"], feb).total_fen != _line(m["b"], jan).total_fen
    summary = services.compare_to_previous(m["february"])
    assert summary["previous"] == m["january"]
    by_town = {(r["town"], r["programme"]): r for r in summary["rows"]}
    assert set(by_town) == {(TOWN, "dibao"), ("341002100", "dibao")}
    town = by_town[(TOWN, "dibao")]
    assert town["unchanged"] == {"households": 1, "persons": 2,
                                 "amount_fen": _line(m["a"], feb).total_fen, "before_fen":
                                 _line(m["a"], jan).total_fen}
    assert town["changed"] == {"households": 1, "persons": 2,
                               "amount_fen": _line(m["b"], feb).total_fen,
                               "before_fen": _line(m["b"], jan).total_fen}
    assert town["ended"]["households"] == 1 and town["ended"]["persons"] == 2
    assert town["ended"]["amount_fen"] == _line(m["c"], jan).total_fen
    assert town["new"]["households"] == 0
    other = by_town[("341002100", "dibao")]
    assert other["new"] == {"households": 1, "persons": 2,
                            "amount_fen": _line(m["d"], feb).total_fen, "before_fen": 0}
    assert all(other[k]["households"] == 0 for k in ("ended", "changed", "unchanged"))
    assert summary["total"]["new"]["households"] == 1
    assert summary["total"]["ended"]["households"] == 1


def test_without_a_previous_run_everything_is_new(world, shipped_parameters) -> None:
    _enroll(world, world.village_hh, 40_000, card("621700001111001"))
    summary = services.compare_to_previous(_run(world, _months()[0]))
    assert summary["previous"] is None
    assert summary["total"]["new"]["households"] == 1
    assert summary["total"]["new"]["persons"] == 2


def test_the_summary_page_and_its_excel_agree(client, two_months) -> None:
    run = two_months["february"]
    client.login(username="district_approver", password=PASSWORD)
    page = client.get(f"/payments/{run.pk}/")
    rows = page.context["comparison"]["rows"]
    response = client.get(f"/payments/{run.pk}/", {"format": "xlsx", "list": "summary"})
    _, header, values = read_list(response.content)
    assert header[:5] == ["镇街", "项目", "新增户数", "新增人数", "新增金额（元）"]
    label = catalogue.label("dibao")
    assert [(v[0], v[1]) for v in values] == [("屯光镇", label), ("黎阳镇", label)]  # by code
    assert len(values) == len(rows)
    for kind, word in services.CHANGE_KINDS.items():
        for metric, suffix in (("households", "户数"), ("persons", "人数")):
            column = header.index(word + suffix)
            assert [v[column] for v in values] == [r[kind][metric] for r in rows]
        column = header.index(f"{word}金额（元）")
        assert [v[column] for v in values] == [yuan_text(r[kind]["amount_fen"]) for r in rows]
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT,
                                     object_type="benefits.paymentrun").exists()


def test_approval_needs_an_opinion_and_a_confirmation(client, two_months) -> None:
    run = two_months["february"]
    with pytest.raises(services.BenefitsError, match="审核意见"):
        services.approve_run(by=two_months["a"].events.first().actor, run=run, opinion="  ")
    # the maker is refused before the confirmation step, not after it
    client.login(username="district_officer", password=PASSWORD)
    text = client.post(f"/payments/{run.pk}/act/", {"action": "approve",
                                                    "opinion": "同意"}).content.decode()
    assert "确认审核锁定" not in text and "发放批次由区县审批人员审核" in text
    client.login(username="district_approver", password=PASSWORD)
    page = client.post(f"/payments/{run.pk}/act/", {"action": "approve", "opinion": ""})
    assert "请填写审核意见" in page.content.decode()
    page = client.post(f"/payments/{run.pk}/act/", {"action": "approve",
                                                    "opinion": "与上月核对无误，同意"})
    text = page.content.decode()
    assert "确认审核锁定" in text and "新增 1 户、减少 1 户、金额变化 1 户" in text
    run.refresh_from_db()
    assert run.status == PaymentRun.DRAFT  # not yet: the confirmation is a second step
    done = client.post(f"/payments/{run.pk}/act/", {"action": "approve", "confirm": "1",
                                                    "opinion": "与上月核对无误，同意"})
    assert done.status_code == 302
    run.refresh_from_db()
    assert run.status == PaymentRun.APPROVED
    event = run.events.get(action=PaymentRunEvent.APPROVE)
    assert event.note == "与上月核对无误，同意" and event.by.username == "district_approver"


def test_send_back_with_a_reason_and_build_again(client, two_months) -> None:
    run = two_months["february"]
    client.login(username="district_approver", password=PASSWORD)
    page = client.post(f"/payments/{run.pk}/act/", {"action": "return", "reason": " "})
    assert "请填写退回原因" in page.content.decode()
    assert client.post(f"/payments/{run.pk}/act/", {
        "action": "return", "reason": "屯光镇新增对象缺审批表"}).status_code == 302
    run.refresh_from_db()
    assert run.status == PaymentRun.RETURNED
    # a run sent back cannot be approved until the maker builds it again
    page = client.post(f"/payments/{run.pk}/act/", {"action": "approve", "confirm": "1",
                                                    "opinion": "同意"})
    run.refresh_from_db()
    assert run.status == PaymentRun.RETURNED
    audit = AuditEvent.objects.filter(object_type="benefits.paymentrun",
                                      object_id=str(run.pk), object_label__startswith="退回")
    assert audit.count() == 1 and "屯光镇新增对象缺审批表" in str(audit.get().changes)
    client.login(username="district_officer", password=PASSWORD)
    assert client.post(f"/payments/{run.pk}/act/", {"action": "rebuild"}).status_code == 302
    run.refresh_from_db()
    assert run.status == PaymentRun.DRAFT and PaymentRun.objects.filter(
        month=_months()[1]).count() == 1  # built again in place, the same run
    client.login(username="district_approver", password=PASSWORD)
    client.post(f"/payments/{run.pk}/act/", {"action": "approve", "confirm": "1",
                                             "opinion": "补齐材料后同意"})
    run.refresh_from_db()
    assert run.status == PaymentRun.APPROVED
    history = [(e.action, e.note, e.by.username) for e in run.events.all()]
    assert history == [("build", "", "district_officer"),
                       ("return", "屯光镇新增对象缺审批表", "district_approver"),
                       ("build", "重新生成", "district_officer"),
                       ("approve", "补齐材料后同意", "district_approver")]
    page = client.get(f"/payments/{run.pk}/").content.decode()
    assert "屯光镇新增对象缺审批表" in page and "补齐材料后同意" in page


def test_the_maker_can_neither_approve_nor_send_back(two_months) -> None:
    run = two_months["february"]
    maker = run.built_by
    maker_with_approval = two_months["a"].events.first().actor  # the district approver
    assert maker_with_approval.username == "district_approver"
    with pytest.raises(PermissionDenied):
        services.approve_run(by=maker, run=run, opinion="同意")
    with pytest.raises(PermissionDenied):
        services.return_run(by=maker, run=run, reason="自己退回")
    run.built_by = maker_with_approval
    run.save(update_fields=["built_by"])
    with pytest.raises(PermissionDenied, match="双人复核"):
        services.approve_run(by=maker_with_approval, run=run, opinion="同意")
    with pytest.raises(PermissionDenied, match="双人复核"):
        services.return_run(by=maker_with_approval, run=run, reason="退回")

"""临时救助 pays (issue 21 item 5): the rules' amount — the need stated, within the type's
months of the standard × members and what is left of the family's yearly cap — is approved by
the town within its power and by the district above it, and paid once as a one-off payment
with the town's 先行救助 advance deducted; the 急难小额 short path approves first and is
reviewed after, overdue like any other step. No enrollment, no category: one-off aid."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.benefits import one_off
from doudi.benefits.models import Enrollment, OneOffPayment
from doudi.benefits.services import BenefitsError
from doudi.casework import reserve_fund as fund
from doudi.casework import services
from doudi.casework.models import Application, HomeVisit
from doudi.policy.services import parameter_set
from doudi.registry.models import CategoryAssignment, Membership, Observation
from doudi.rules.parameters import engine_value
from tests.casework import flow
from tests.conftest import OTHER_TOWN_VILLAGE, VILLAGE, make_household

pytestmark = pytest.mark.django_db
LINSHI = "linshi"
TOWN = "341002102000"
DAY = dt.date(2026, 3, 9)  # a Monday


def param(key: str, day: dt.date = DAY, area: str = VILLAGE) -> int:
    return int(engine_value(parameter_set().find(key, area, day)))


def rules_amount(need: int, kind: str, members: int, granted: int = 0,
                 day: dt.date = DAY) -> int:
    """What the rules should give, from the parameters in force: min(need, months × S × n,
    yearly cap − granted)."""
    cap = param(f"linshi.cap_months.{kind}", day) * param("dibao.standard.urban", day) * members
    return max(min(need, cap, param("linshi.family_annual_cap", day) - granted), 0)


@pytest.fixture
def family(world, new_id, shipped_parameters):
    """A household of n members in the village, on the registry since 2020, with no income."""
    def make(members: int, area: str = VILLAGE):
        hh = make_household(world.users.district_approver, area, new_id, members=members)
        Observation.objects.filter(household=hh).delete()
        Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
        return hh
    return make


def apply(world, hh, kind: str, need: int, day: dt.date = DAY, by=None) -> Application:
    return services.create_application(
        by=by or world.users.village_assistant, household=hh, programme=LINSHI,
        channel="village", reason="突发疾病住院" if kind == "expenditure" else "房屋失火",
        submitted_on=day, aid_type=kind, need_fen=need)


def approve_and_notify(world, app: Application, day: dt.date = DAY) -> Application:
    return flow.approve_through(world.users, app, day)


@pytest.mark.parametrize(("members", "kind", "need"), [
    (1, "emergency", 100_050),  # the need is below the cap: the need
    (2, "emergency", 900_000),  # above 3 months × S × 2: the cap
    (3, "emergency", 456_000),  # above the town's power: the district approves
    (4, "expenditure", 1_234_567),  # 12 months × S × 4 is above the need
    (5, "expenditure", 3_333_333),
    (6, "expenditure", 9_000_000),  # 12 months × S × 6 is above the family's yearly cap
])
def test_the_rules_amount_is_paid_once_as_a_one_off(world, family, members, kind,
                                                   need) -> None:
    hh = family(members)
    app = approve_and_notify(world, apply(world, hh, kind, need))
    want = rules_amount(need, kind, members)
    assert 0 < want <= min(need, param("linshi.family_annual_cap"))
    assert (app.state, app.amount_fen, app.proposed_fen) == ("approved", want, want)
    payment = app.one_off_payment
    assert (payment.granted_fen, payment.advance_fen, payment.amount_fen, payment.status) == \
        (want, 0, want, OneOffPayment.DUE)
    assert payment.granted_on == DAY and payment.household == hh
    # one-off aid: no monthly enrollment, no programme category
    assert not Enrollment.objects.filter(household=hh).exists()
    assert not CategoryAssignment.objects.filter(household=hh).exists()
    approval = app.events.get(action="approve")
    approver = world.users.town_approver if want <= param("casework.linshi.town_limit") \
        else world.users.district_approver
    assert approval.actor == approver
    assert any("本年已救助" in ln["detail"] for ln in approval.data["rules"]["lines"])
    assert one_off.granted_this_year(hh.pk, LINSHI, DAY) == want


def test_the_yearly_cap_holds_across_cases_and_a_new_year_resets(world, family) -> None:
    hh, members = family(5), 5
    yearly = param("linshi.family_annual_cap")
    first = approve_and_notify(world, apply(world, hh, "expenditure", yearly - 123_400))
    assert first.amount_fen == rules_amount(yearly - 123_400, "expenditure", members)
    granted = first.amount_fen
    # the second case of the year gets what remains of the cap, not its need
    day2 = dt.date(2026, 6, 15)
    second = approve_and_notify(world, apply(world, hh, "emergency", 800_000, day2), day2)
    assert second.amount_fen == rules_amount(800_000, "emergency", members, granted, day2)
    assert second.amount_fen == yearly - granted < 800_000
    assert one_off.granted_this_year(hh.pk, LINSHI, day2) == yearly
    # the cap is used up: a third case that year is refused by the rules, nothing granted
    day3 = dt.date(2026, 9, 1)
    third = flow.to_decision(world.users, apply(world, hh, "emergency", 50_000, day3), day3)
    assert third.proposed_fen == 0
    with pytest.raises(services.CaseworkError, match="0 元"):
        flow.approve(world.users, third)
    third.refresh_from_db()
    assert (third.state, third.decision) == ("decision", "")
    third = services.act(by=world.users.town_approver, application=third, action="refuse",
                         opinion="本年度临时救助额度已用完", day=day3)
    services.act(by=world.users.town_officer, application=third, action="issue_notice",
                 day=day3)
    assert OneOffPayment.objects.filter(household=hh).count() == 2
    # a new calendar year starts from nothing granted
    day4 = dt.date(2027, 1, 11)
    fourth = approve_and_notify(world, apply(world, hh, "emergency", 700_000, day4), day4)
    assert fourth.amount_fen == rules_amount(700_000, "emergency", members, 0, day4) == 700_000
    assert one_off.granted_this_year(hh.pk, LINSHI, day4) == 700_000
    # another family's grants are its own
    other = family(2)
    assert one_off.granted_this_year(other.pk, LINSHI, day2) == 0


@pytest.mark.parametrize(("members", "need", "advance"), [
    (2, 300_000, 150_000), (3, 80_000, 80_000), (1, 200_000, 250), (4, 999_999, 300_000)])
def test_an_advance_is_deducted(world, family, members, need, advance) -> None:
    u = world.users
    fund.top_up(by=u.district_approver, town=TOWN, amount_fen=1_000_000, note="年度备用金")
    hh = family(members)
    app = apply(world, hh, "emergency", need)
    fund.advance(by=u.town_approver, application=app, amount_fen=advance, note="火灾先行救助",
                 day=DAY)
    app = approve_and_notify(world, app)
    want = rules_amount(need, "emergency", members)
    payment = app.one_off_payment
    assert (payment.granted_fen, payment.advance_fen) == (want, advance)
    assert payment.amount_fen == want - advance and payment.recover_fen == 0
    assert payment.status == (OneOffPayment.DUE if want > advance else OneOffPayment.COVERED)
    # the cap counts what was approved, advance included
    assert one_off.granted_this_year(hh.pk, LINSHI, DAY) == want


def test_an_advance_above_the_approved_amount_is_to_be_recovered(world, family) -> None:
    u = world.users
    fund.top_up(by=u.district_approver, town=TOWN, amount_fen=500_000, note="年度备用金")
    hh = family(2)
    app = apply(world, hh, "emergency", 120_000)
    fund.advance(by=u.town_approver, application=app, amount_fen=300_000, note="先行救助",
                 day=DAY)
    app = approve_and_notify(world, app)
    payment = app.one_off_payment
    assert (payment.granted_fen, payment.amount_fen, payment.recover_fen) == \
        (120_000, 0, 180_000)
    assert payment.status == OneOffPayment.COVERED
    with pytest.raises(BenefitsError, match="不能重复发放"):
        one_off.pay(by=u.town_officer, payment=payment, method="cash", payee_name="张三丰",
                    paid_on=DAY)


def test_a_case_is_paid_once(world, family) -> None:
    u = world.users
    app = approve_and_notify(world, apply(world, family(3), "emergency", 250_000))
    payment = app.one_off_payment
    paid = one_off.pay(by=u.town_officer, payment=payment, method="in_kind", payee_name="张三丰",
                       goods="棉被 2 床、大米 50 公斤", paid_on=DAY + dt.timedelta(days=1))
    assert (paid.status, paid.method, paid.recorded_by) == (OneOffPayment.PAID, "in_kind",
                                                            u.town_officer)
    for method in ("cash", "in_kind", "bank"):
        with pytest.raises(BenefitsError, match="不能重复发放"):
            one_off.pay(by=u.town_approver, payment=payment, method=method, payee_name="张三丰",
                        goods="大米", account="6217000012345670", bank="农业银行", paid_on=DAY)
    with pytest.raises(BenefitsError, match="不能重复"):
        one_off.grant(by=u.town_officer, application=app, day=DAY)
    assert OneOffPayment.objects.filter(application=app).count() == 1
    payment.refresh_from_db()
    assert payment.goods == "棉被 2 床、大米 50 公斤" and payment.paid_on == DAY + dt.timedelta(1)


def test_recording_a_payment_checks_what_it_needs(world, family) -> None:
    u = world.users
    payment = approve_and_notify(world, apply(world, family(2), "emergency", 66_600)) \
        .one_off_payment
    with pytest.raises(BenefitsError) as refused:
        one_off.pay(by=u.town_officer, payment=payment, method="in_kind", payee_name="",
                    goods=" ", paid_on=DAY)
    assert {e.field for e in refused.value.errors} == {"payee_name", "goods"}
    with pytest.raises(BenefitsError, match="账号"):
        one_off.pay(by=u.town_officer, payment=payment, method="bank", payee_name="张三丰",
                    account="12ab", bank="农业银行")
    # the same checks as a monthly payee's account: the bank, and the card's check digit
    with pytest.raises(BenefitsError, match="开户行") as no_bank:
        one_off.pay(by=u.town_officer, payment=payment, method="bank", payee_name="张三丰",
                    account="6217000012345670", bank="")
    assert no_bank.value.errors[0].field == "bank"
    with pytest.raises(BenefitsError, match="校验位"):
        one_off.pay(by=u.town_officer, payment=payment, method="bank", payee_name="张三丰",
                    account="6217000012345671", bank="农业银行")
    with pytest.raises(BenefitsError, match="早于审批日期"):
        one_off.pay(by=u.town_officer, payment=payment, method="cash", payee_name="张三丰",
                    paid_on=DAY - dt.timedelta(days=1))
    with pytest.raises(BenefitsError, match="发放方式"):
        one_off.pay(by=u.town_officer, payment=payment, method="cheque", payee_name="张三丰")
    with pytest.raises(PermissionDenied):  # the village records no payment
        one_off.pay(by=u.village_assistant, payment=payment, method="cash", payee_name="张三丰",
                    paid_on=DAY)
    payment.refresh_from_db()
    assert (payment.status, payment.method, payment.paid_on) == (OneOffPayment.DUE, "", None)


def test_a_bank_one_off_needs_a_second_person_then_a_bank_file(world, family,
                                                               shipped_bank_layouts) -> None:
    u = world.users
    apps = [approve_and_notify(world, apply(world, family(n), "emergency", need))
            for n, need in ((1, 77_700), (2, 150_001))]
    payments = [a.one_off_payment for a in apps]
    for p, account in zip(payments, ("6217000012345670", "6228480012345678903"), strict=True):
        p = one_off.pay(by=u.district_officer, payment=p, method="bank", payee_name="张三丰",
                        account=account, bank="农业银行")
        assert p.status == OneOffPayment.AWAITING_APPROVAL and p.paid_on is None
    with pytest.raises(BenefitsError, match="没有已复核"):  # nothing approved: nothing sent
        one_off.bank_file(by=u.district_officer, area_code="341002")
    with pytest.raises(PermissionDenied):  # the maker is not the checker
        one_off.approve_bank(by=u.district_officer, payment=payments[0])
    with pytest.raises(PermissionDenied):  # a town approver approves no bank payee
        one_off.approve_bank(by=u.town_approver, payment=payments[0])
    one_off.approve_bank(by=u.district_approver, payment=payments[0])
    data, name, _, count = one_off.bank_file(by=u.district_officer, area_code="341002")
    text = data.decode("utf-8-sig")
    assert name.endswith(".csv")
    assert count == 1 and f"YC{payments[0].pk}" in text and "6217000012345670" in text
    assert "6228480012345678903" not in text  # not approved: not in the file
    assert f"{apps[0].amount_fen // 100}.{apps[0].amount_fen % 100:02d}" in text
    answer = f"流水号,结果,失败原因\nYC{payments[0].pk},成功,\n".encode()
    assert one_off.bank_result(by=u.district_officer, area_code="341002", data=answer,
                               paid_on=DAY + dt.timedelta(days=3)) == \
        {"paid": 1, "failed": 0, "unknown": 0}
    payments[0].refresh_from_db()
    assert (payments[0].status, payments[0].paid_on) == (OneOffPayment.PAID,
                                                         DAY + dt.timedelta(days=3))
    # a returned payment may be recorded again, by any way
    one_off.approve_bank(by=u.district_approver, payment=payments[1])
    one_off.bank_file(by=u.district_officer, area_code="341002")
    answer = f"流水号,结果,失败原因\nYC{payments[1].pk},失败,账户已销户\n".encode()
    one_off.bank_result(by=u.district_officer, area_code="341002", data=answer)
    payments[1].refresh_from_db()
    assert (payments[1].status, payments[1].failure) == (OneOffPayment.FAILED, "账户已销户")
    one_off.pay(by=u.town_officer, payment=payments[1], method="cash", payee_name="张三丰",
                paid_on=DAY + dt.timedelta(days=5))
    payments[1].refresh_from_db()
    assert payments[1].status == OneOffPayment.PAID


def test_the_town_approves_within_its_power_the_district_above(world, family) -> None:
    u = world.users
    limit = param("casework.linshi.town_limit")
    # 3 members: 3 months × S × 3 is above the town's power
    app = flow.to_decision(u, apply(world, family(3), "emergency", 2 * limit), DAY)
    assert app.proposed_fen > limit and not services.delegated(app, DAY)
    with pytest.raises(PermissionDenied):
        services.act(by=u.town_approver, application=app, action="approve", opinion="同意",
                     day=DAY)
    app = services.act(by=u.district_approver, application=app, action="approve",
                       opinion="同意", day=DAY)
    assert app.amount_fen == app.proposed_fen > limit
    small = flow.to_decision(u, apply(world, family(1), "emergency", limit // 3), DAY)
    assert services.delegated(small, DAY)
    with pytest.raises(PermissionDenied):  # delegated: the town's, not the district's
        services.act(by=u.district_approver, application=small, action="approve",
                     opinion="同意", day=DAY)
    assert services.act(by=u.town_approver, application=small, action="approve",
                        opinion="同意", day=DAY).amount_fen == limit // 3


def test_out_of_scope_and_missing_capability_are_refused(world, family) -> None:
    u = world.users
    elsewhere = family(2, OTHER_TOWN_VILLAGE)
    app = apply(world, elsewhere, "emergency", 50_000, by=u.district_officer)
    for user in (u.village_assistant, u.town_officer, u.town_approver):
        with pytest.raises(PermissionDenied):
            services.act(by=user, application=app, action="approve_urgent", opinion="同意",
                         day=DAY)
        with pytest.raises(PermissionDenied):
            services.record_request(by=user, application=app, aid_type="emergency",
                                    need_fen=1_000)
    with pytest.raises(PermissionDenied):
        services.create_application(by=u.town_officer, household=elsewhere, programme=LINSHI,
                                    channel="village", reason="火灾", aid_type="emergency",
                                    need_fen=10_000)
    mine = approve_and_notify(world, apply(world, family(1), "emergency", 40_000))
    with pytest.raises(PermissionDenied):
        one_off.pay(by=world.gd_user, payment=mine.one_off_payment, method="cash",
                    payee_name="张三丰", paid_on=DAY)
    with pytest.raises(PermissionDenied):
        one_off.bank_file(by=u.town_officer, area_code="341002102")
    assert not HomeVisit.objects.filter(application=app).exists()
    app.refresh_from_db()
    assert (app.state, app.decision, app.aid_type, app.need_fen) == ("accepted", "",
                                                                    "emergency", 50_000)


# -- the 急难小额 short path ------------------------------------------------------------------

def test_a_small_urgent_case_is_approved_first_and_reviewed_after(world, family) -> None:
    u = world.users
    small = param("casework.linshi.small_urgent_limit")
    hh = family(2)
    app = apply(world, hh, "emergency", small - 1)
    assert services.conditions(app, DAY) == {"small_urgent"}
    assert app in services.work_queue(u.town_approver)
    with pytest.raises(PermissionDenied):  # the village records, the town approves
        services.act(by=u.village_assistant, application=app, action="approve_urgent",
                     opinion="同意", day=DAY)
    app = services.act(by=u.town_approver, application=app, action="approve_urgent",
                       opinion="火灾急难，先行审批", day=DAY)
    assert (app.state, app.decision, app.shortened, app.amount_fen) == \
        ("notice", "approved", True, rules_amount(small - 1, "emergency", 2))
    assert not HomeVisit.objects.filter(application=app).exists()
    app = services.act(by=u.town_officer, application=app, action="issue_notice", day=DAY)
    assert app.state == "post_review" and app.one_off_payment.amount_fen == app.amount_fen
    due = app.step_due
    assert due is not None and due > DAY
    assert (due - DAY).days >= param("casework.linshi.deadline.post_review")  # working days
    assert app in services.work_queue(u.town_officer)
    assert services.overdue([app], due) == 0 and services.overdue([app], due + dt.timedelta(1))
    with pytest.raises(services.CaseworkError, match="在场成员"):
        services.act(by=u.town_officer, application=app, action="complete_post_review",
                     opinion="情况属实", data={"living_conditions": "房屋烧毁"},
                     day=due + dt.timedelta(days=2))
    app = services.act(by=u.town_officer, application=app, action="complete_post_review",
                       opinion="情况属实", day=due + dt.timedelta(days=2),
                       data={"members_present": "户主", "living_conditions": "房屋烧毁，借住"})
    assert app.state == "approved" and app.step_due is None
    assert HomeVisit.objects.get(application=app).findings == "情况属实"
    assert app not in services.work_queue(u.town_officer)


@pytest.mark.parametrize(("kind", "above"), [("emergency", 1), ("expenditure", 0),
                                             ("expenditure", -5_000)])
def test_the_short_path_is_only_for_small_urgent_cases(world, family, kind, above) -> None:
    u = world.users
    need = param("casework.linshi.small_urgent_limit") + above
    app = apply(world, family(2), kind, need)
    assert services.conditions(app, DAY) == frozenset()
    with pytest.raises(PermissionDenied, match="急难型小额"):
        services.act(by=u.town_approver, application=app, action="approve_urgent",
                     opinion="同意", day=DAY)
    assert "approve_urgent" not in {
        t.action for t in services.workflow.actions_for(app.state, u.town_approver.capabilities,
                                                        delegated=True)}
    app.refresh_from_db()
    assert (app.state, app.decision) == ("accepted", "")


def test_a_dibao_case_never_takes_the_short_path(world, family) -> None:
    app = services.create_application(by=world.users.village_assistant, household=family(1),
                                      programme="dibao", channel="village", reason="无收入",
                                      submitted_on=DAY, aid_type="emergency", need_fen=1_000)
    assert (app.aid_type, app.need_fen) == ("", None)  # a monthly programme states neither
    assert services.conditions(app, DAY) == frozenset()
    with pytest.raises(PermissionDenied, match="急难型小额"):
        services.act(by=world.users.town_approver, application=app, action="approve_urgent",
                     opinion="同意", day=DAY)


# -- what the application states -------------------------------------------------------------

def test_the_intake_refuses_a_missing_type_or_need_with_field_reasons(world, family) -> None:
    hh = family(2)
    for kind, need, fields in (("", 10_000, {"aid_type"}), ("advance", 10_000, {"aid_type"}),
                               ("emergency", None, {"need"}), ("emergency", 0, {"need"}),
                               ("emergency", -100, {"need"}), ("", None, {"aid_type", "need"})):
        with pytest.raises(services.CaseworkError) as refused:
            apply(world, hh, kind, need)
        assert {e.field for e in refused.value.errors} == fields
        assert all("类型" in e.message or "金额" in e.message for e in refused.value.errors)
    assert not Application.objects.filter(household=hh).exists()


def test_a_case_opened_without_its_statement_states_it_before_the_opinion(world,
                                                                          family) -> None:
    u = world.users
    hh = family(4)
    app = services.create_application(by=u.town_officer, household=hh, programme=LINSHI,
                                      channel="hotline", reason="12345：家中失火",
                                      reference="GD2026030900001", submitted_on=DAY)
    assert (app.aid_type, app.need_fen, app.emergency) == ("", None, False)
    app = services.act(by=u.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "房屋受损"}, day=DAY)
    app = services.act(by=u.town_officer, application=app, action="complete_verification",
                       day=DAY)
    with pytest.raises(services.CaseworkError, match="请先登记"):
        services.act(by=u.town_officer, application=app, action="town_opinion",
                     opinion="符合", data={"recommendation": "eligible"}, day=DAY)
    app = services.record_request(by=u.town_officer, application=app, aid_type="emergency",
                                  need_fen=345_600)
    assert app.emergency and app.events.filter(action="record_request").exists()
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="符合", data={"recommendation": "eligible"}, day=DAY)
    assert app.proposed_fen == rules_amount(345_600, "emergency", 4)
    app = flow.approve(u, _with_day(app, DAY))
    with pytest.raises(services.CaseworkError, match="已作出审批决定"):
        services.record_request(by=u.town_officer, application=app, aid_type="emergency",
                                need_fen=1_000)


def _with_day(app: Application, day: dt.date) -> Application:
    app.decision_day = day
    return app


def test_spending_counts_one_off_aid_once_whichever_way_it_went(world, family) -> None:
    from doudi.benefits.spending import spending

    u = world.users
    fund.top_up(by=u.district_approver, town=TOWN, amount_fen=800_000, note="备用金")
    advanced = apply(world, family(2), "emergency", 400_000)
    fund.advance(by=u.town_approver, application=advanced, amount_fen=100_000, note="先行",
                 day=DAY)
    advanced = approve_and_notify(world, advanced)
    cash = approve_and_notify(world, apply(world, family(1), "emergency", 55_500))
    one_off.pay(by=u.town_officer, payment=cash.one_off_payment, method="cash",
                payee_name="张三丰", paid_on=DAY)
    result = spending("341002", DAY.year).by_programme.filter(programme=LINSHI).to_dicts()
    assert len(result) == 1
    paid, pending = result[0]["paid_fen"], result[0]["pending_fen"]
    # paid: the advance and the cash; pending: what the advanced case still owes
    assert paid == 100_000 + cash.amount_fen
    assert pending == advanced.amount_fen - 100_000
    assert paid + pending == advanced.amount_fen + cash.amount_fen

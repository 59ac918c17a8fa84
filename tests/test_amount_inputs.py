"""Every page and API input that takes an amount in yuan answers a bad amount (an exponent,
Infinity, NaN, a third decimal, a negative amount, one beyond the ceiling) with a Chinese
reason and writes nothing; a good amount through the same input is written in fen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from ninja import Schema
from pydantic import ValidationError

from doudi.accounts.services import create_user
from doudi.api.schemas import yuan_amount
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.core.money import MONTHLY_MAX_FEN
from doudi.registry import inputs
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

BAD = [("1e30", "科学计数法"), ("Infinity", "有限数值"), ("NaN", "有限数值"),
       ("1.005", "最多两位小数"), ("-5", "不能为负数"), ("99999999999", "不能超过")]


@dataclass
class Input:
    user: Any
    url: str
    body: Callable[[str], dict]  # the form as posted, with the amount typed
    written: Callable[[], Any]  # what the input writes, to compare before and after
    good: str  # an amount the input accepts
    fen: Callable[[], int | None]  # the fen written by the good amount


def _writes() -> int:
    return AuditEvent.objects.filter(action__in=["create", "update", "delete"]).count()


def _reserve_fund(world) -> Input:
    from doudi.casework.models import FundEntry

    return Input(world.users.district_approver, "/applications/fund/",
                 lambda a: {"town": "341002102000", "amount": a, "note": "备用金"},
                 FundEntry.objects.count, "5,000.50",
                 lambda: FundEntry.objects.latest("pk").amount_fen)


def _advance(world) -> Input:
    from doudi.casework import reserve_fund, services
    from doudi.casework.models import FundEntry

    u = world.users
    reserve_fund.top_up(by=u.district_approver, town="341002102000", amount_fen=1_000_000,
                        note="备用金")
    app = services.create_application(by=u.town_officer, household=world.village_hh,
                                      programme="linshi", channel="town_window",
                                      reason="交通事故", emergency=True)
    return Input(u.town_approver, f"/applications/{app.pk}/advance/",
                 lambda a: {"amount": a, "note": "急难"}, FundEntry.objects.count, "1500",
                 lambda: -FundEntry.objects.latest("pk").amount_fen)  # an advance goes out


def _home_care(world) -> Input:
    from doudi.care.models import HomeCareService

    person = world.village_hh.head()
    return Input(world.users.village_assistant, "/care/home-care/",
                 lambda a: {"id_number": person.id_number, "month": "2026-03",
                            "provider": "颐养中心", "items": "助餐", "hours": "10", "amount": a},
                 HomeCareService.objects.count, "300.5",
                 lambda: HomeCareService.objects.get().amount_fen)


def _organisation(world) -> tuple:
    from doudi.community import services as community
    from doudi.community.models import Organisation, OrganisationMember

    o = community.save_organisation(by=world.users.town_officer, organisation=Organisation(),
                                    name="黎阳镇社工站", kind="station", services="助老",
                                    area_code="341002102")
    with context.job("test org account"):
        staff = create_user(username="shegong", password=PASSWORD, area_code="341002102",
                            roles=["org_staff"])
    OrganisationMember.objects.create(user=staff, organisation=o)
    return o, staff


def _need_delivered(world) -> Input:
    from doudi.community import services as community
    from doudi.community.models import Need

    o, staff = _organisation(world)
    need = community.publish(by=world.users.village_assistant, household=world.village_hh,
                             kind="medical", summary="户主住院，自付费用较高",
                             organisations=[o], consent_on=dt.date(2026, 1, 2))
    community.take(by=staff, need=need)
    return Input(staff, "/community/needs/",
                 lambda a: {"need": need.pk, "action": "complete", "outcome": "资助医疗费",
                            "delivered": a},
                 lambda: list(Need.objects.values_list("status", "delivered_fen")), "10,000",
                 lambda: Need.objects.get().delivered_fen)


def _need_new(world) -> Input:
    from doudi.community.models import Need

    o, _ = _organisation(world)
    return Input(world.users.village_assistant, f"/community/needs/new/{world.village_hh.pk}/",
                 lambda a: {"kind": "medical", "summary": "户主住院，自付费用较高",
                            "orgs": [o.pk], "consent_on": "2026-01-02", "amount": a},
                 Need.objects.count, "20000", lambda: Need.objects.get().amount_fen)


def _project_budget(world) -> Input:
    from doudi.community.models import Project

    o, _ = _organisation(world)
    return Input(world.users.town_officer, f"/community/{o.pk}/",
                 lambda a: {"action": "project", "name": "银龄关爱", "budget": a,
                            "starts_on": "2026-03-01"},
                 Project.objects.count, "50,000", lambda: Project.objects.get().budget_fen)


def _enrollment_change(world) -> Input:
    from doudi.benefits import services
    from doudi.benefits.models import EnrollmentEvent

    e = services.enroll(by=world.users.district_approver, household=world.village_hh,
                        programme="dibao", amount_fen=61_050, start_date=dt.date(2026, 1, 1))
    return Input(world.users.district_officer, f"/enrollments/{e.pk}/change/",
                 lambda a: {"kind": "decrease", "day": "2026-04-01", "amount": a,
                            "reason": "收入增加"},
                 EnrollmentEvent.objects.count, "500",
                 lambda: EnrollmentEvent.objects.latest("pk").amount_fen)


def _review(world) -> Input:
    from doudi.benefits import reviews, services
    from doudi.benefits.models import ReviewTask

    services.enroll(by=world.users.district_approver, household=world.village_hh,
                    programme="dibao", amount_fen=50_000, start_date=dt.date(2026, 1, 1))
    reviews.schedule(dt.date(2026, 6, 20))
    task = ReviewTask.objects.get()
    return Input(world.users.town_approver, "/payments/reviews/",
                 lambda a: {"task": task.pk, "outcome": "change", "findings": "收入变化",
                            "amount": a},
                 lambda: list(ReviewTask.objects.values_list("status", "amount_fen")), "400",
                 lambda: ReviewTask.objects.get().amount_fen)


def _budget(world) -> Input:
    from doudi.benefits.models import Budget

    return Input(world.users.district_officer, "/payments/funds/",
                 lambda a: {"year": "2026", "area": "341002102000", "programme": "dibao",
                            "amount": a},
                 Budget.objects.count, "12,000", lambda: Budget.objects.get().amount_fen)


def _indicator(world) -> Input:
    from doudi.monitoring.models import IndicatorSetting

    return Input(world.users.district_admin, "/monitoring/indicators/tune/",
                 lambda a: {"key": "medical_bill", "p_days": "180", "p_excess": a,
                            "active": "on"},
                 IndicatorSetting.objects.count, "5000.50",
                 lambda: IndicatorSetting.objects.get().params["excess"])


def _observation(world) -> Input:
    from doudi.registry.models import Observation

    return Input(world.users.village_assistant,
                 f"/households/{world.village_hh.pk}/observations/",
                 lambda a: {"kind_item": "income:wage", "amount_yuan": a,
                            "observed_on": "2026-10-01", "source": "home_visit"},
                 Observation.objects.count, "1234.56",
                 lambda: Observation.objects.get().amount_fen)


def _linshi_need(world) -> Input:
    from doudi.casework.models import Application

    return Input(world.users.village_assistant,
                 f"/households/{world.village_hh.pk}/applications/",
                 lambda a: {"programme": "linshi", "channel": "village", "reason": "房屋失火",
                            "aid_type": "emergency", "need": a},
                 Application.objects.count, "1,234.56",
                 lambda: Application.objects.get().need_fen)


def _policy_value(world) -> Input:
    from django.utils import timezone

    from doudi.policy.models import PolicyParameter

    day = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return Input(world.users.district_admin, "/policy/dibao.standard.urban/values/",
                 lambda a: {"area_code": "341002", "effective_from": day.isoformat(),
                            "value": a, "reference": "屯民〔2026〕1号", "url": "", "note": ""},
                 PolicyParameter.objects.filter(source="local").count, "800.50",
                 lambda: int(Decimal(PolicyParameter.objects.get(source="local").value) * 100))


def _linshi_request(world) -> Input:
    """登记救助类型与需求金额 on an existing one-off case (from a warning, a visit …)."""
    from doudi.casework import services
    from doudi.casework.models import Application

    app = services.create_application(by=world.users.town_officer, household=world.village_hh,
                                      programme="linshi", channel="town_window",
                                      reason="突发疾病")
    return Input(world.users.town_officer, f"/applications/{app.pk}/request/",
                 lambda a: {"aid_type": "expenditure", "need": a},
                 lambda: Application.objects.get().need_fen, "2,000.05",
                 lambda: Application.objects.get().need_fen)


INPUTS = {
    "备用金拨付": _reserve_fund, "先行救助": _advance, "居家养老服务金额": _home_care,
    "帮扶金额": _need_delivered, "需求所需金额": _need_new, "项目资金": _project_budget,
    "保障金变更": _enrollment_change, "复核调整金额": _review, "年度预算": _budget,
    "预警阈值": _indicator, "经济状况金额": _observation, "政策参数金额": _policy_value,
    "临时救助需求金额": _linshi_need, "登记救助需求金额": _linshi_request,
}


@pytest.mark.parametrize("name", INPUTS)
def test_bad_amounts_get_a_chinese_reason_and_write_nothing(client, world, shipped_parameters,
                                                            name: str) -> None:
    case = INPUTS[name](world)
    client.force_login(case.user)
    for typed, says in BAD:
        before = (_writes(), case.written())
        response = client.post(case.url, case.body(typed))
        page = response.content.decode()
        assert response.status_code == 200, (name, typed, response.status_code)
        assert says in page, (name, typed)
        assert (_writes(), case.written()) == before, (name, typed)
    # the same input takes a good amount, exactly in fen
    response = client.post(case.url, case.body(case.good))
    assert response.status_code == 302, (name, response.content.decode()[-2000:])
    assert case.written() != before[1]
    assert case.fen() == int(Decimal(case.good.replace(",", "")) * 100)


def test_a_months_benefit_has_a_lower_ceiling_than_a_budget(client, world,
                                                            shipped_parameters) -> None:
    change, budget = _enrollment_change(world), _budget(world)
    above_monthly = f"{MONTHLY_MAX_FEN // 100 + 1}"
    client.force_login(change.user)
    before = change.written()
    page = client.post(change.url, change.body(above_monthly)).content.decode()
    assert "变更后月保障金不能超过 100,000 元" in page and change.written() == before
    assert client.post(budget.url, budget.body(above_monthly)).status_code == 302
    assert budget.fen() == MONTHLY_MAX_FEN + 100


@pytest.mark.parametrize(("typed", "says"), BAD)
def test_simulation_refuses_a_bad_amount(client, users, shipped_parameters, typed: str,
                                         says: str) -> None:
    client.force_login(users.district_admin)
    response = client.get(reverse("rules_simulate"), {
        "run": "1", "area": "341002000000", "key0": "dibao.standard.urban", "value0": typed})
    page = response.content.decode()
    assert response.status_code == 200 and says in page and "测算结果" not in page


def test_department_file_money_cells_refuse_exponents_and_infinities() -> None:
    import polars as pl

    from doudi.engine.feeds.cells import MESSAGES, parse_money

    cells = ["1e30", "Infinity", "-inf", "NaN", "1.005", "1E3", "1,234.50"]
    value, reason = parse_money(pl.col("t"))
    out = pl.DataFrame({"t": cells}).select(value=value, reason=reason).to_dicts()
    assert [r["value"] for r in out] == [None] * 6 + [123_450]
    assert [r["reason"] for r in out] == [MESSAGES["money"]] * 6 + [None]


class PaymentIn(Schema):
    amount: yuan_amount("发放金额")
    adjustment: yuan_amount("调整金额", allow_negative=True) = 0


@pytest.mark.parametrize(("sent", "says"), [
    *BAD, (1e30, "科学计数法"), (float("inf"), "有限数值"), (float("nan"), "有限数值"),
    (-5, "不能为负数"), (0.125, "最多两位小数"), (10**12, "不能超过"), (True, "应为以元为单位"),
    (None, "应为以元为单位"), ([1], "应为以元为单位"), ("", "请填写发放金额"),
])
def test_api_amount_type_answers_with_the_field_and_a_chinese_reason(sent, says) -> None:
    with pytest.raises(ValidationError) as info:
        PaymentIn.model_validate({"amount": sent})
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("amount",)]
    assert says in inputs.reason(errors[0])  # as the API's 422 handler words it


def test_api_amount_type_takes_yuan_as_text_or_number() -> None:
    assert PaymentIn.model_validate({"amount": "1,234.50"}).amount == 123_450
    assert PaymentIn.model_validate({"amount": 1234.5}).amount == 123_450
    assert PaymentIn.model_validate({"amount": 12}).amount == 1_200
    assert PaymentIn.model_validate({"amount": "1", "adjustment": "-2.5"}).adjustment == -250
    schema = PaymentIn.model_json_schema()["properties"]["amount"]
    assert schema["title"] == "发放金额" and "最多两位小数" in schema["description"]


# numbers typed into forms that are not amounts (a sampling rate, a seed, points, a count):
# an exponent, an infinity or a number beyond the database's integer is refused, never a 500
HUGE = ["1e30", "Infinity", "-Infinity", "NaN", "9" * 30, "-" + "9" * 30]


@pytest.mark.parametrize("typed", HUGE)
def test_other_number_inputs_refuse_without_crashing(client, world, shipped_parameters,
                                                     typed: str) -> None:
    from doudi.community.models import PointRule
    from doudi.placenames.models import BoundaryInspection
    from doudi.reports.models import Campaign

    u = world.users
    cases = [
        (u.district_officer, "/reports/campaigns/",
         {"name": "抽查", "kind": "spot_check", "programmes": "dibao", "rate": typed, "seed": "1",
          "starts_on": "2026-03-01", "due_on": "2026-03-31", "correction_days": "30"},
         Campaign.objects.count),
        (u.district_officer, "/reports/campaigns/",
         {"name": "抽查", "kind": "spot_check", "programmes": "dibao", "rate": "10",
          "seed": typed, "starts_on": "2026-03-01", "due_on": "2026-03-31",
          "correction_days": typed}, Campaign.objects.count),
        (u.district_officer, "/community/points/",
         {"action": "rule", "code": "clean", "name": "环境整治", "points": typed},
         PointRule.objects.count),
        (u.district_officer, "/placenames/boundaries/",
         {"boundary": "屯溪—休宁", "inspected_on": "2026-03-01", "team": "联检组",
          "markers_checked": typed}, BoundaryInspection.objects.count),
    ]
    for user, url, body, written in cases:
        client.force_login(user)
        before = written()
        response = client.post(url, body)
        assert response.status_code in (200, 302), (url, typed, response.status_code)
        assert written() == before, (url, typed)

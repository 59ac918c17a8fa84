"""服务时长 and other one-decimal quantities read with the amount parser's rules: the same
refusals, one decimal at most, a ceiling; and the services that take them refuse with them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from doudi.care import services as care
from doudi.care.models import HomeCareService
from doudi.core.money import AmountError, parse_tenths


@pytest.mark.parametrize(("text", "hours"), [("2.5", Decimal("2.5")), ("１２", Decimal(12)),
                                             (" 0 ", Decimal(0)), ("1,000.0", Decimal(1000))])
def test_accepted(text: str, hours: Decimal) -> None:
    assert parse_tenths(text, field="hours", label="服务时长", maximum=99_999) == hours


@pytest.mark.parametrize(("text", "reason"), [
    ("1e30", "科学计数法"), ("Infinity", "有限数值"), ("NaN", "有限数值"), ("1.25", "一位小数"),
    ("-1", "负数"), ("100000", "不能超过"), ("", "请填写"), ("两小时", "应为数值")])
def test_refused(text: str, reason: str) -> None:
    with pytest.raises(AmountError, match=reason) as caught:
        parse_tenths(text, field="hours", label="服务时长", maximum=99_999)
    assert caught.value.field == "hours" and "服务时长" in caught.value.message


@pytest.mark.django_db
@pytest.mark.parametrize("hours", ["1e30", "Infinity", "2.55"])
def test_home_care_refuses_bad_hours_and_writes_nothing(world, hours: str) -> None:
    with pytest.raises(care.CareError, match="服务时长") as caught:
        care.record_home_care(by=world.users.town_officer, person=world.village_hh.head(),
                              month=dt.date(2026, 11, 1), provider="居家养老服务中心",
                              items="助餐", hours=hours, amount_fen=10_000)
    assert caught.value.field == "hours"
    assert not HomeCareService.objects.exists()

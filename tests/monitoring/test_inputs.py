"""What the monitoring run reads as covered: the enrollments, and the recognitions that have
no monthly payment (低保边缘, 支出型困难) as their categories; a 低保 or 特困 category that no
enrollment backs covers nobody, so the run can still find the household 应保未保."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.benefits import services as benefits
from doudi.monitoring import inputs
from doudi.registry import services as registry
from tests.conftest import DISTRICT

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 2)


def test_a_paid_programme_is_covered_by_its_enrollment_only(world) -> None:
    u = world.users
    typed, enrolled, recognised = world.village_hh, world.same_town_hh, world.other_town_hh
    since = DAY - dt.timedelta(days=60)
    for hh in (typed, enrolled):
        registry.assign_category(by=u.district_approver, category="dibao", household=hh,
                                 start_date=since, decided_by="测试数据")
    registry.assign_category(by=u.district_approver, category="tekun", person=typed.head(),
                             start_date=since, decided_by="测试数据")
    benefits.enroll(by=u.district_approver, household=enrolled, programme="dibao",
                    amount_fen=50_000, start_date=since)
    registry.assign_category(by=u.district_approver, category="edge", household=recognised,
                             start_date=since, decided_by="测试数据")
    rows = inputs._enrollments(DISTRICT, DAY)
    covered = sorted(zip(rows["household_id"], rows["programme"], strict=True))
    assert covered == sorted([(enrolled.pk, "dibao"), (recognised.pk, "edge")])

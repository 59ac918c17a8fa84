"""The registry's programme status follows the casework decisions that stop or resume a
benefit: a 停发 ends the 低保 category (monitoring and statistics stop counting it), a 恢复
opens it again; a fact category is not touched."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.benefits import services
from doudi.registry import services as registry
from doudi.registry.models import CategoryAssignment

pytestmark = pytest.mark.django_db
D = dt.date


def test_stop_and_resume_carry_the_programme_status(world) -> None:
    u, hh = world.users, world.village_hh
    registry.assign_category(by=u.town_approver, category="dibao", household=hh,
                             start_date=D(2026, 1, 1), decided_by="申请 SQ1")
    registry.assign_category(by=u.town_approver, category="left_behind_elderly",
                             person=hh.head(), start_date=D(2026, 1, 1))
    e = services.enroll(by=u.district_approver, household=hh, programme="dibao",
                        amount_fen=50_000, start_date=D(2026, 1, 1))
    services.change(by=u.town_approver, enrollment=e, kind="stop", effective_date=D(2026, 5, 1),
                    reason="家庭收入超过低保标准")
    dibao = CategoryAssignment.objects.get(household=hh, category="dibao")
    assert dibao.end_date == D(2026, 5, 1) and "停发" in dibao.note
    assert CategoryAssignment.objects.get(category="left_behind_elderly").end_date is None
    services.change(by=u.town_approver, enrollment=e, kind="resume",
                    effective_date=D(2026, 7, 1), amount_fen=40_000, reason="复核后恢复")
    reopened = CategoryAssignment.objects.get(household=hh, category="dibao",
                                              end_date__isnull=True)
    assert reopened.start_date == D(2026, 7, 1) and "恢复" in reopened.note

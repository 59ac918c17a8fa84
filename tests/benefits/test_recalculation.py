"""A new 低保 standard: every enrollment recomputed from its date, reviewed by a second person,
applied as dated events; the next roster pays the new amounts (and the months reaching back)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.accounts.services import create_user
from doudi.benefits import recalculation, services
from doudi.benefits.models import EnrollmentEvent
from doudi.policy.services import add_value, parameter_set
from doudi.registry.models import Membership, Observation
from doudi.rules.parameters import engine_value

pytestmark = pytest.mark.django_db
JULY = dt.date(2026, 7, 1)


def test_standard_rise_recomputes_and_applies_as_events(world, shipped_parameters) -> None:
    u = world.users
    hh = world.village_hh
    Observation.objects.filter(household=hh).delete()
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    before = engine_value(parameter_set().resolve("dibao.standard.urban", hh.area_code, JULY))
    members = Membership.objects.filter(household=hh, end_date__isnull=True).count()
    e = services.enroll(by=u.district_approver, household=hh, programme="dibao",
                        amount_fen=before * members, start_date=dt.date(2026, 1, 1))
    add_value(u.district_admin, "dibao.standard.urban", "341002", JULY,
              f"{(before + 5_000) / 100:.2f}", reference="测试：新低保标准",
              retroactive_reason="测试追溯")
    recalc = recalculation.recalculate(by=u.district_approver, programme="dibao",
                                       effective_date=JULY, area_code="341002",
                                       reason="黄山市新低保标准")
    line = recalc.lines.get()
    assert (line.old_fen, line.new_fen) == (before * members, (before + 5_000) * members)
    assert recalc.summary["341002102"]["changed"] == 1
    e.refresh_from_db()
    assert e.amount_fen == before * members  # nothing changes before the review
    with pytest.raises(PermissionDenied, match="审批人员"):
        recalculation.apply(by=u.district_officer, recalc=recalc)
    with pytest.raises(PermissionDenied, match="双人复核"):
        recalculation.apply(by=u.district_approver, recalc=recalc)
    checker = create_user(username="approver2", password="x-Pass-2026", area_code="341002",
                          roles=["district_approver"])
    assert recalculation.apply(by=checker, recalc=recalc) == 1
    e.refresh_from_db()
    assert e.amount_fen == (before + 5_000) * members
    event = EnrollmentEvent.objects.get(enrollment=e, kind="increase")
    assert event.effective_date == JULY and "黄山市新低保标准" in event.reason
    with pytest.raises(services.BenefitsError):
        recalculation.apply(by=checker, recalc=recalc)


def test_recalculation_page(client, world, shipped_parameters) -> None:
    from tests.conftest import PASSWORD

    services.enroll(by=world.users.district_approver, household=world.village_hh,
                    programme="dibao", amount_fen=1, start_date=dt.date(2026, 1, 1))
    client.login(username="district_officer", password=PASSWORD)
    response = client.post("/payments/recalculations/", {
        "programme": "dibao", "day": "2026-07-01", "reason": "新标准"})
    assert response.status_code == 302
    page = client.get("/payments/recalculations/").content.decode()
    assert "341002102" in page and "审核并执行" not in page  # an officer cannot apply
    client.login(username="district_approver", password=PASSWORD)
    page = client.get("/payments/recalculations/").content.decode()
    assert "审核并执行" in page

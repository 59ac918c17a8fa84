"""先行救助 from a town's 临时救助备用金: within the balance and the cap, once per case, by the
town's approver, reviewed afterwards; the district tops the fund up."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from doudi.casework import reserve_fund as fund
from doudi.casework import services
from doudi.casework.models import ApplicationEvent, FundEntry

pytestmark = pytest.mark.django_db
TOWN = "341002102000"


@pytest.fixture
def urgent(world, shipped_parameters):
    return services.create_application(by=world.users.village_assistant,
                                       household=world.village_hh, programme="linshi",
                                       channel="village", reason="火灾，房屋烧毁", emergency=True)


def test_advance_within_balance_and_cap(world, urgent) -> None:
    u = world.users
    fund.top_up(by=u.district_approver, town=TOWN, amount_fen=500_000, note="2026年备用金")
    entry = fund.advance(by=u.town_approver, application=urgent, amount_fen=200_000,
                         note="火灾急难，先行救助")
    assert entry.amount_fen == -200_000 and fund.balance(TOWN) == 300_000
    assert ApplicationEvent.objects.filter(application=urgent, action="advance_payment").exists()
    urgent.refresh_from_db()
    assert urgent.state == "accepted"  # the case still goes through its review
    with pytest.raises(services.CaseworkError, match="已先行救助"):
        fund.advance(by=u.town_approver, application=urgent, amount_fen=1_000, note="再次")


def test_cap_balance_roles_and_emergency(world, urgent) -> None:
    u = world.users
    fund.top_up(by=u.district_approver, town=TOWN, amount_fen=100_000, note="拨付")
    with pytest.raises(services.CaseworkError, match="单笔上限"):
        fund.advance(by=u.town_approver, application=urgent, amount_fen=300_001, note="超上限")
    with pytest.raises(services.CaseworkError, match="余额不足"):
        fund.advance(by=u.town_approver, application=urgent, amount_fen=150_000, note="超余额")
    with pytest.raises(PermissionDenied):
        fund.advance(by=u.town_officer, application=urgent, amount_fen=10_000, note="经办")
    with pytest.raises(PermissionDenied):
        fund.top_up(by=u.town_approver, town=TOWN, amount_fen=10_000, note="自行拨付")
    plain = services.create_application(by=u.town_officer, household=world.same_town_hh,
                                        programme="linshi", channel="town_window",
                                        reason="子女上学困难")
    with pytest.raises(services.CaseworkError, match="急难"):
        fund.advance(by=u.town_approver, application=plain, amount_fen=10_000, note="非急难")
    assert FundEntry.objects.filter(kind=FundEntry.PAYOUT).count() == 0
    assert fund.balance(TOWN) == 100_000

"""临时救助备用金 and 先行救助: a town pays an urgent (急难) 临时救助 case at once from its reserve
fund, within the fund's balance and the per-case cap (`casework.advance.max_per_case`, yuan),
and the case is reviewed afterwards through the normal steps. The district tops the fund up.
Every entry is audited; the balance is the ledger's sum, locked while a payout is written.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.casework.models import Application, ApplicationEvent, FundEntry
from doudi.casework.services import CaseworkError, parameter_value
from doudi.core import clock
from doudi.core.areacode import TOWN, full_code, prefix
from doudi.programmes import catalogue

ADVANCE_STATES = frozenset({"accepted", "verification", "town_review"})


def town_of(area_code: str) -> str:
    """The 12-digit code of the town a village code lies in (the fund's owner)."""
    return full_code(prefix(area_code, TOWN))


def balance(town: str) -> int:
    return FundEntry.objects.filter(area_code=town).aggregate(s=Sum("amount_fen"))["s"] or 0


def top_up(*, by, town: str, amount_fen: int, note: str) -> FundEntry:  # noqa: ANN001
    """区县拨付: a district approver or officer adds to a town's fund."""
    if not by.can(roles.TOP_UP_FUND) or not in_scope(by, town, roles.VIEW_REGISTRY):
        raise PermissionDenied("只有区县民政部门可以拨付本辖区镇街的备用金")
    if amount_fen <= 0:
        raise CaseworkError("拨付金额应大于零")
    return FundEntry.objects.create(kind=FundEntry.TOP_UP, amount_fen=amount_fen,
                                    note=note.strip()[:200] or "区县拨付", recorded_by=by,
                                    area_code=town)


def advance(*, by, application: Application, amount_fen: int, note: str,  # noqa: ANN001
            day: dt.date | None = None) -> FundEntry:
    """先行救助: pay an urgent 临时救助 case now, from the town's fund."""
    day = day or clock.today()
    if not catalogue.advance_relief(application.programme) or not application.emergency:
        raise CaseworkError("先行救助只用于急难情形的临时救助申请")
    if application.state not in ADVANCE_STATES:
        raise CaseworkError("先行救助应在审批前办理")
    if not by.can(roles.ADVANCE_PAYMENT) or \
            not in_scope(by, application.area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("先行救助由申请人所在镇街审批人员办理")
    cap = parameter_value("casework.advance.max_per_case", application.area_code, day)
    if amount_fen <= 0:
        raise CaseworkError("先行救助金额应大于零")
    if cap is not None and amount_fen > cap:
        raise CaseworkError(f"先行救助金额超过单笔上限 {cap / 100:.2f} 元")
    if not note.strip():
        raise CaseworkError("请填写先行救助的事由")
    town = town_of(application.area_code)
    with transaction.atomic():
        # lock the town's ledger rows so two payouts cannot both spend the last yuan
        list(FundEntry.objects.select_for_update().filter(area_code=town).values_list("pk"))
        if FundEntry.objects.filter(application=application, kind=FundEntry.PAYOUT).exists():
            raise CaseworkError("该申请已先行救助")
        available = balance(town)
        if amount_fen > available:
            raise CaseworkError(f"备用金余额不足（余额 {available / 100:.2f} 元）")
        entry = FundEntry.objects.create(kind=FundEntry.PAYOUT, amount_fen=-amount_fen,
                                         application=application, note=note.strip()[:200],
                                         recorded_by=by, area_code=town)
        ApplicationEvent.objects.create(
            application=application, action="advance_payment", from_state=application.state,
            to_state=application.state, actor=by, actor_name=by.username, opinion=note.strip(),
            data={"amount_fen": amount_fen, "fund_entry": entry.pk},
            area_code=application.area_code)
    return entry

"""The referral part of the household page (doudi.web.household_page): 转介, the household's
referrals with the departments' answers, the link to refer, and their audit events on the
救助链时间线."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.referrals.models import Referral
from doudi.referrals.services import is_overdue
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def referrals(request: HttpRequest, household: Household) -> dict[str, Any]:
    rows = list(household.referrals.select_related("person")[:20])
    return {"referrals": [(r, is_overdue(r)) for r in rows],
            "can_refer": request.user.can(roles.SEND_REFERRALS)}


register_panel(Panel("referrals", 95, "转介", "doudi/household/referrals.html", referrals))
register_timeline(Referral, lambda household: household.referrals.values_list("pk", flat=True))

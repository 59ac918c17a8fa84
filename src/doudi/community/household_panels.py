"""The community part of the household page (doudi.web.household_page): 社会力量帮扶, the
needs published for the household; 慈善帮扶, the charity funds and goods given to it; and
their audit events on the timeline."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.community.models import Donation, Need
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def needs(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {"needs": household.needs.select_related("taken_by")[:20],
            "can_edit": request.user.can(roles.EDIT_REGISTRY)}


register_panel(Panel("needs", 70, "社会力量帮扶", "doudi/household/needs.html", needs))
register_timeline(Need, lambda household: household.needs.values_list("pk", flat=True))


def donations(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {"donations": Donation.objects.visible_to(request.user).filter(
                household=household).select_related("organisation")[:20],
            "can_record": request.user.can(roles.RECORD_DONATION)}


register_panel(Panel("donations", 72, "慈善帮扶", "doudi/household/donations.html", donations))
register_timeline(Donation, lambda household: household.donations.values_list("pk", flat=True))

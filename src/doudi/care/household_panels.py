"""The care part of the household page (doudi.web.household_page): 探访记录, and the audit
events of the household's visits."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.care.models import Visit
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def visits(request: HttpRequest, household: Household) -> dict[str, Any]:
    """The household's visits, and a 登记探访 link for each current member: a visit needs no
    task (a worried neighbour's call, a visit on the way past)."""
    return {"visits": household.visits.select_related("person", "visitor")[:20],
            "visitable": [m.person for m in household.memberships.filter(
                end_date__isnull=True).select_related("person").order_by("id")]}


register_panel(Panel("visits", 80, "探访记录", "doudi/household/visits.html", visits))
register_timeline(Visit, lambda household: household.visits.values_list("pk", flat=True))

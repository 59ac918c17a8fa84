"""The care part of the household page (doudi.web.household_page): 探访记录, and the audit
events of the household's visits."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.care.models import Visit
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def visits(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {"visits": household.visits.select_related("person", "visitor")[:20]}


register_panel(Panel("visits", 80, "探访记录", "doudi/household/visits.html", visits))
register_timeline(Visit, lambda household: household.visits.values_list("pk", flat=True))

"""The policy part of the household page (doudi.web.household_page): 政策测算, the rules
evaluated on the household under the parameters in force (loaded by htmx from
`household_rules`, so the page does not wait for it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel


def rules(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {}


register_panel(Panel("rules", 40, "政策测算", "doudi/household/rules.html", rules))

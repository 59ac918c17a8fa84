"""The monitoring part of the household page (doudi.web.household_page): 监测预警, the
household's warnings and the link to record a 主动发现, and the warnings' audit events."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.monitoring.models import Warning
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def warnings(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {"warnings": household.warnings.order_by("-created_at")[:20],
            "can_edit": request.user.can(roles.EDIT_REGISTRY)}


register_panel(Panel("warnings", 90, "监测预警", "doudi/household/warnings.html", warnings))
register_timeline(Warning, lambda household: household.warnings.values_list("pk", flat=True))

"""The casework part of the household page (doudi.web.household_page): 救助申请, the
household's applications and the form that takes a new one in, and the audit events of its
applications."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.casework import services
from doudi.casework.models import CHANNEL_CHOICES, Application
from doudi.core import clock
from doudi.programmes import catalogue
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def applications(request: HttpRequest, household: Household) -> dict[str, Any]:
    one_off = [p for p in catalogue.one_off_programmes() if catalogue.request_of(p.code)]
    can_apply = request.user.can(roles.INTAKE)
    kinds: dict[str, str] = {}
    for p in one_off:
        kinds.update(catalogue.request_of(p.code).kinds)
    return {
        "one_off_kinds": list(kinds.items()),
        "one_off_labels": "、".join(p.short_label for p in one_off),
        "applications": household.applications.select_related("applicant")
        .order_by("-created_at")[:20],
        "programmes": catalogue.choices(),
        # programmes applied for part by part (两项补贴): the parts to tick, none ticked: all
        "part_groups": [(p.code, p.short_label, [(u.code, u.label) for u in p.parts])
                        for p in catalogue.programmes() if p.parts],
        "channels": CHANNEL_CHOICES,
        "can_apply": can_apply,
        # programmes applied for member by member (特困, 两项补贴 …): whom each is for
        "applicant_groups": [
            (code, catalogue.entry(code).short_label,
             [(p.pk, p.masked_name) for p in persons])
            for code, persons in services.applicant_choices(
                household, clock.today()).items()] if can_apply else [],
    }


register_panel(Panel("applications", 60, "救助申请", "doudi/household/applications.html",
                     applications, forms=("application_error",)))
register_timeline(Application, lambda household: household.applications.values_list(
    "pk", flat=True))

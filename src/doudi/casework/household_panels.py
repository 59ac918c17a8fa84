"""The casework part of the household page (doudi.web.household_page): 救助申请, the
household's applications and the form that takes a new one in, and the audit events of its
applications."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.casework import services
from doudi.casework.models import CHANNEL_CHOICES, Application, FilingRecord
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


def filings(request: HttpRequest, household: Household) -> dict[str, Any] | None:
    """备案审查 of the household's decisions taken under delegated power: the district's review
    and, when it asked for a correction, the form the town records it with. Left out when the
    household has no filing in the user's area."""
    rows = list(FilingRecord.objects.visible_to(request.user).filter(household=household)
                .select_related("application").order_by("-decided_on", "-id")[:20])
    if not rows:
        return None
    return {"filings": rows, "today": clock.today(),
            "may_correct": request.user.can(roles.EDIT_REGISTRY),
            "review_filings": request.user.can(roles.REVIEW_FILING)}


register_panel(Panel("filings", 62, "备案审查", "doudi/household/filings.html", filings,
                     forms=("filing_error",)))
register_timeline(FilingRecord, lambda household: household.filings.values_list(
    "pk", flat=True))

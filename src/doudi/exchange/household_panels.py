"""The exchange part of the household page (doudi.web.household_page): 家庭经济状况核对 —
the household's 授权书 and 核对报告, for users who may verify — and the audit events of both."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.accounts import roles
from doudi.core import clock
from doudi.exchange.models import Consent, VerificationReport
from doudi.exchange.verification import consent_required, consent_state
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def verification(request: HttpRequest, household: Household) -> dict[str, Any] | None:
    user = request.user
    if not user.can(roles.VERIFY):
        return None
    return {
        "consents": [(c, consent_state(c)) for c in household.consents.all()[:5]],
        "members": [m.person for m in household.current_memberships()],
        "reports": list(VerificationReport.objects.visible_to(user, roles.VERIFY)
                        .filter(household=household).select_related("requested_by")[:10]),
        "consent_needed": consent_required(household, clock.today()),
        "today": clock.today(),
        "can_edit": user.can(roles.EDIT_REGISTRY),
    }


register_panel(Panel("verification", 100, "家庭经济状况核对", "doudi/household/verification.html",
                     verification, forms=("consent_error", "verification_error")))
register_timeline(Consent, lambda household: household.consents.values_list("pk", flat=True))
register_timeline(VerificationReport, lambda household: household.verification_reports
                  .values_list("pk", flat=True))

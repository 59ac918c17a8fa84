"""The household page's panel of 授权书 and 核对报告 (kept apart so views.py can import it)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from doudi.accounts import roles
from doudi.exchange.models import VerificationReport
from doudi.exchange.verification import consent_required


def household_exchange_context(request: HttpRequest, household) -> dict:  # noqa: ANN001
    """What the household page shows of consents and reports."""
    user = request.user
    if not user.can(roles.VERIFY):
        return {}
    return {
        "can_verify": True,
        "consents": list(household.consents.all()[:5]),
        "reports": list(VerificationReport.objects.visible_to(user, roles.VERIFY)
                        .filter(household=household).select_related("requested_by")[:10]),
        "consent_needed": consent_required(household, timezone.localdate()),
        "today": timezone.localdate(),
    }

"""The benefits part of the household page (doudi.web.household_page): 保障与发放, the
household's enrollments with their payee (收款人, masked), latest payments, one-off aid
(临时救助) and payee changes waiting for approval; on the timeline, the audit events of its
enrollments, its one-off payments and every payee change requested, approved, rejected or
withdrawn."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doudi.benefits import payees
from doudi.benefits.models import Enrollment, OneOffPayment, PayeeChange, PaymentLine
from doudi.registry.models import Household
from doudi.web.household_page import Panel, register_panel, register_timeline


def enrollments(request: HttpRequest, household: Household) -> dict[str, Any]:
    pending = list(PayeeChange.objects.visible_to(request.user)
                   .filter(enrollment__household=household, status=PayeeChange.PENDING)
                   .select_related("enrollment", "requested_by"))
    return {
        "enrollments": household.enrollments.order_by("-start_date"),
        "payment_lines": PaymentLine.objects.filter(enrollment__household=household)
        .select_related("enrollment").order_by("-month")[:24],
        "payee_pending": [(c, payees.may_decide(request.user, c)) for c in pending],
        "one_off_payments": household.one_off_payments.order_by("-granted_on", "-id")[:20],
    }


register_panel(Panel("enrollments", 50, "保障与发放", "doudi/household/enrollments.html",
                     enrollments))
register_timeline(Enrollment, lambda household: household.enrollments.values_list(
    "pk", flat=True))
register_timeline(PayeeChange, lambda household: PayeeChange.objects.filter(
    enrollment__household=household).values_list("pk", flat=True))
register_timeline(OneOffPayment, lambda household: household.one_off_payments.values_list(
    "pk", flat=True))

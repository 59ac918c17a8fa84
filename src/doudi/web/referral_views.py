"""转介 pages: a department account's 转介待办 (the referrals addressed to its department in its
area, masked, with the answer form); staff's list of their area's referrals with this month's
counts; and the form that refers a household (or one of its cases) to a department."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from doudi.accounts import roles
from doudi.areas.models import area_names
from doudi.casework.models import Application
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.money import parse_optional_yuan
from doudi.referrals import kinds, services, statistics, workflow
from doudi.referrals.models import Referral
from doudi.registry.models import Household
from doudi.web.access import require_capability

ANSWER_FIELDS = ("referral", "outcome", "amount", "measure", "reason")


def _queue(request: HttpRequest) -> HttpResponse:
    """转介待办: the department's open referrals first (overdue first), then the answered."""
    error, typed = "", {}
    if request.method == "POST":
        typed = {k: request.POST.get(k, "") for k in ANSWER_FIELDS}
        raw_id = typed["referral"]
        referral = services.addressed_to(request.user).filter(
            pk=int(raw_id) if raw_id.isdigit() else 0).first()
        try:
            if referral is None:
                raise services.ReferralError("该转介未发送给本部门")
            services.answer(by=request.user, referral=referral, outcome=typed["outcome"],
                            amount_fen=parse_optional_yuan(typed["amount"], field="amount",
                                                           label="给予金额"),
                            measure=typed["measure"], reason=typed["reason"])
            messages.success(request, f"已答复转介 #{referral.pk}")
            return redirect("referrals")
        except (ServiceError, PermissionDenied) as exc:
            error = str(exc) or "无权执行此操作"
    rows = list(services.addressed_to(request.user).select_related("household", "person")
                .order_by("status", "due_on", "id")[:300])
    pending = [services.minimal(r) for r in rows if r.is_open]
    pending.sort(key=lambda r: (not r["overdue"], r["due_on"], r["id"]))
    done = [services.minimal(r) for r in rows if not r.is_open]
    return render(request, "doudi/referral_queue.html", {
        "pending": pending, "done": done, "error": error, "typed": typed,
        "department": request.user.department,
        "actions": {s: workflow.actions(s) for s in workflow.OPEN}})


@login_required
def referrals(request: HttpRequest) -> HttpResponse:
    if request.user.can(roles.ANSWER_REFERRALS):
        return _queue(request)
    require_capability(request, roles.VIEW_REGISTRY)
    qs = Referral.objects.visible_to(request.user).select_related("household", "person")
    status, kind = request.GET.get("status", ""), request.GET.get("kind", "")
    if status in workflow.STATES:
        qs = qs.filter(status=status)
    if kind in kinds.shipped():
        qs = qs.filter(kind=kind)
    rows = list(qs[:300])
    today = clock.today()
    month = statistics.month_counts(request.user.scope_prefix, today)
    return render(request, "doudi/referrals.html", {
        "rows": [(r, services.is_overdue(r, today)) for r in rows], "month": month,
        "columns": statistics.COLUMNS, "states": workflow.STATES, "kinds": kinds.choices(),
        "status": status, "kind": kind,
        "names": area_names(list(month["areas"]))})


@login_required
def referral_new(request: HttpRequest, household_id: int) -> HttpResponse:
    """转介 from a household, or from one of its cases (?application=ID)."""
    require_capability(request, roles.SEND_REFERRALS)
    household = Household.objects.visible_to(request.user, roles.SEND_REFERRALS).filter(
        pk=household_id).first()
    if household is None:
        raise Http404("家庭不存在或不在您的管辖范围内")
    raw_app = request.POST.get("application", request.GET.get("application", ""))
    application = Application.objects.filter(
        household=household, pk=int(raw_app) if raw_app.isdigit() else 0).first()
    members = [m.person for m in household.current_memberships().select_related("person")]
    form = {k: request.POST.get(k, "") for k in ("kind", "asked", "person")}
    error = ""
    if request.method == "POST":
        person = next((p for p in members if str(p.pk) == form["person"]), None)
        try:
            if form["person"] and person is None:
                raise services.ReferralError("转介对象须为该家庭成员", field="person")
            referral = services.refer(by=request.user, household=household, kind=form["kind"],
                                      asked=form["asked"], application=application,
                                      person=person)
            messages.success(request, f"已转介{referral.kind_label}（{referral.department}），"
                                      f"答复期限 {referral.due_on:%Y-%m-%d}")
            return redirect(reverse("household_detail", args=[household.pk]) + "#referrals")
        except (ServiceError, PermissionDenied) as exc:
            error = str(exc) or "无权执行此操作"
    return render(request, "doudi/referral_form.html", {
        "household": household, "members": members, "application": application,
        "kinds": list(kinds.shipped().values()), "form": form, "error": error})

"""申请审核 pages: intake from a household, the application with its timeline and the actions
the user may take, the work queue (待办), the 公示 list and the printed decision notice."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.casework import services, workflow
from doudi.casework.models import Application
from doudi.web.views import _need, _render_detail, _visible_household


def _application(request: HttpRequest, application_id: int) -> Application:
    _need(request, roles.VIEW_REGISTRY)
    app = (Application.objects.visible_to(request.user)
           .select_related("household", "household__area", "applicant", "created_by")
           .filter(pk=application_id).first())
    if app is None:
        raise Http404("申请不存在或不在您的管辖范围内")
    return app


@login_required
@require_POST
def application_new(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _visible_household(request, household_id)
    try:
        app = services.create_application(
            by=request.user, household=household, programme=request.POST.get("programme", ""),
            channel=request.POST.get("channel", "village"),
            reason=request.POST.get("reason", ""), emergency=request.POST.get("emergency") == "1")
    except services.CaseworkError as exc:
        return _render_detail(request, household, application_error=str(exc))
    messages.success(request, f"已受理申请 {app.number}")
    return redirect("application_detail", application_id=app.pk)


def _render(request: HttpRequest, app: Application, error: str = "") -> HttpResponse:
    today = timezone.localdate()
    actions = workflow.actions_for(app.state, set(request.user.role_codes),
                                   delegated=services.delegated(app, today))
    return render(request, "doudi/application_detail.html", {
        "app": app, "actions": actions, "error": error, "today": today,
        "events": app.events.select_related("actor"), "visits": app.visits.all(),
        "overdue": bool(app.step_due and app.step_due < today and app.open),
        "steps": [(k, v) for k, v in workflow.STATES.items() if k not in workflow.TERMINAL],
        "show_rules": app.state in ("town_review", "decision", "notice"),
    })


@login_required
@require_GET
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    return _render(request, _application(request, application_id))


@login_required
@require_POST
def application_act(request: HttpRequest, application_id: int) -> HttpResponse:
    app = _application(request, application_id)
    action = request.POST.get("action", "")
    data = {k: request.POST.get(k, "") for k in ("members_present", "living_conditions",
                                                  "visited_on", "recommendation")
            if request.POST.get(k)}
    try:
        services.act(by=request.user, application=app, action=action,
                     opinion=request.POST.get("opinion", ""), data=data)
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except (services.CaseworkError, ValueError) as exc:
        return _render(request, app, error=str(exc))
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_GET
def work_queue(request: HttpRequest) -> HttpResponse:
    _need(request, roles.VIEW_REGISTRY)
    mine = services.work_queue(request.user)
    state = request.GET.get("state", "")
    everything = (Application.objects.visible_to(request.user)
                  .select_related("household", "household__area").order_by("-created_at"))
    if state in workflow.STATES:
        everything = everything.filter(state=state)
    return render(request, "doudi/work_queue.html", {
        "mine": mine, "overdue": services.overdue(mine), "today": timezone.localdate(),
        "everything": everything[:100], "states": workflow.STATES.items(), "state": state})


@login_required
@require_GET
def publicity_list(request: HttpRequest) -> HttpResponse:
    """公示名单 of a month in the user's area: only the people aided, masked names, the
    programme and the amount; never an ID number or a health detail."""
    _need(request, roles.VIEW_REGISTRY)
    try:
        month = dt.date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        month = timezone.localdate().replace(day=1)
    end = (month + dt.timedelta(days=32)).replace(day=1)
    rows = (Application.objects.visible_to(request.user)
            .filter(publicity_ends_on__gte=month + dt.timedelta(days=7),
                    publicity_ends_on__lt=end + dt.timedelta(days=7))
            .exclude(state__in=("withdrawn", "refused"))
            .select_related("household__area", "applicant").order_by("household__area__code"))
    return render(request, "doudi/publicity_list.html", {"rows": rows, "month": month})


@login_required
@require_GET
def application_notice(request: HttpRequest, application_id: int) -> HttpResponse:
    """书面通知 (approval or refusal with reasons), for printing."""
    app = _application(request, application_id)
    if not app.decision:
        raise Http404("尚未作出审批决定")
    return render(request, "doudi/application_notice.html", {"app": app})



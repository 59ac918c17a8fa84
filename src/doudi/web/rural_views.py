"""乡村振兴 pages: the 防返贫监测户 and 脱贫户 of the user's area, each with its assistance in
force and the warnings raised about it. Read-only and masked: 乡村振兴 staff hold no registry
capability, so these pages are all they see of the registry (`registry.rural_watch`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from doudi.accounts import roles
from doudi.areas.models import area_names
from doudi.core import clock
from doudi.monitoring.models import Warning
from doudi.registry import rural_watch
from doudi.registry.models import Household, Membership
from doudi.reports import filing
from doudi.web.access import require_capability

PAGE_SIZE = 50


@login_required
@require_GET
def rural_home(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_RURAL_WATCH)
    day, area = clock.today(), request.user.scope_prefix
    kind = request.GET.get("kind", "")
    codes = (kind,) if kind in rural_watch.WATCH_CATEGORIES else rural_watch.WATCH_CATEGORIES
    households = rural_watch.watched(area, day, codes).order_by("area_code", "id")
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = rural_watch.totals(area, day)
    reports = filing.rural_reports(request.user)
    names = area_names({r.area_code for r in reports})
    return render(request, "doudi/rural_home.html", {
        "rows": rural_watch.rows(Household.objects.filter(
            pk__in=[h.pk for h in page.object_list]).order_by("area_code", "id"), day),
        "page": page, "kind": kind, "totals": totals, "today": day,
        "reports": [(r, filing.templates()[r.template].name, names.get(r.area_code, r.area_code))
                    for r in reports]})


@login_required
@require_GET
def rural_household(request: HttpRequest, household_id: int) -> HttpResponse:
    """One watched household: members (masked), its categories, assistance and warnings. A
    household outside the area, or one 乡村振兴 does not watch, answers 404 alike."""
    require_capability(request, roles.VIEW_RURAL_WATCH)
    day = clock.today()
    household = rural_watch.watched(request.user.scope_prefix, day).filter(
        pk=household_id).select_related("area").first()
    if household is None:
        raise Http404("不是本区划的防返贫监测户或脱贫户")
    row = rural_watch.rows(Household.objects.filter(pk=household.pk), day)[0]
    members = Membership.objects.filter(household=household, end_date__isnull=True) \
        .select_related("person").order_by("id")
    warnings = Warning.objects.filter(household=household).order_by("-created_at")[:50]
    return render(request, "doudi/rural_household.html", {
        "row": row, "household": household, "members": members, "warnings": warnings,
        "today": day})

"""区划地名 pages: the register of place names and the naming applications with their review,
place-name signs and their checks, boundary joint inspections and their issues."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.core import clock
from doudi.core.excel import one_sheet
from doudi.core.money import parse_whole
from doudi.placenames import services
from doudi.placenames.models import (
    PLACE_KINDS,
    STATES,
    BoundaryInspection,
    BoundaryIssue,
    NamingApplication,
    PlaceName,
    Sign,
)
from doudi.web.access import require_capability
from doudi.web.excel import download


@login_required
def placenames(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    error = ""
    if request.method == "POST":
        try:
            place = None
            if request.POST.get("place"):
                place = PlaceName.objects.filter(area_code__startswith=scope,
                                                 pk=request.POST["place"]).first()
            app = services.apply(
                by=request.user, area_code=request.POST.get("area_code", ""),
                kind="rename" if place else "name",
                proposed_name=request.POST.get("proposed_name", ""),
                place_kind=request.POST.get("place_kind", ""),
                reason=request.POST.get("reason", ""),
                applicant=request.POST.get("applicant", ""), place=place)
            messages.success(request, "已申报，待乡镇（街道）审核")
            return redirect("naming_application", naming_id=app.pk)
        except (services.PlaceNameError, PermissionDenied) as exc:
            error = str(exc)
    if request.GET.get("format") == "xlsx":
        return _places_xlsx(PlaceName.objects.filter(area_code__startswith=scope))
    return render(request, "doudi/placenames.html", {
        "places": PlaceName.objects.filter(area_code__startswith=scope)[:500],
        "applications": NamingApplication.objects.filter(area_code__startswith=scope)[:200],
        "kinds": PLACE_KINDS, "error": error,
        "areas": Area.objects.filter(code__startswith=scope, level__in=(4, 5))
        .order_by("code")[:1000],
        "signs": Sign.objects.filter(area_code__startswith=scope).select_related("place")[:300],
        "inspections": BoundaryInspection.objects.filter(area_code__startswith=scope[:6])
        .prefetch_related("issues")[:100],
        "can_edit": request.user.can(roles.EDIT_REGISTRY)})


@login_required
def naming_application(request: HttpRequest, naming_id: int) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    app = NamingApplication.objects.filter(area_code__startswith=request.user.scope_prefix,
                                           pk=naming_id).select_related("place").first()
    if app is None:
        raise Http404("申请不存在或不在您的管辖范围内")
    error = ""
    if request.method == "POST":
        try:
            services.decide(by=request.user, application=app,
                            approve=request.POST.get("approve") == "yes",
                            opinion=request.POST.get("opinion", ""))
            return redirect("naming_application", naming_id=app.pk)
        except (services.PlaceNameError, PermissionDenied) as exc:
            error = str(exc)
    return render(request, "doudi/naming_application.html", {
        "app": app, "states": STATES, "steps": app.steps.select_related("by"), "error": error})


@login_required
def boundaries(request: HttpRequest) -> HttpResponse:
    """界线联合检查: a district records an inspection and resolves its issues."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("issue"):
                issue = BoundaryIssue.objects.filter(
                    area_code__startswith=request.user.scope_prefix,
                    pk=request.POST["issue"]).first()
                if issue is None:
                    raise Http404("问题不存在")
                services.resolve_issue(by=request.user, issue=issue,
                                       resolution=request.POST.get("resolution", ""),
                                       resolved_on=clock.today())
            else:
                services.inspect_boundary(
                    by=request.user, boundary=request.POST.get("boundary", ""),
                    inspected_on=dt.date.fromisoformat(request.POST.get("inspected_on", "")),
                    team=request.POST.get("team", ""),
                    markers_checked=parse_whole(request.POST.get("markers_checked"),
                                                field="markers_checked", label="界桩数",
                                                maximum=100_000, default=0),
                    issues=request.POST.get("issues", "").splitlines())
            return redirect("placenames")
        except ValueError:
            error = "请填写检查日期和界桩数"
        except (services.PlaceNameError, PermissionDenied) as exc:
            error = str(exc)
    if error:
        messages.error(request, error)
    return redirect("placenames")


@login_required
def signs(request: HttpRequest) -> HttpResponse:
    """地名标志: add a sign for a place, or record a check of its condition."""
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    if request.method == "POST":
        try:
            if request.POST.get("sign"):
                sign = Sign.objects.filter(area_code__startswith=scope,
                                           pk=request.POST["sign"]).first()
                if sign is None:
                    raise services.PlaceNameError("地名标志不存在")
                services.check_sign(by=request.user, sign=sign,
                                    condition=request.POST.get("condition", ""),
                                    checked_on=clock.today())
            else:
                place = PlaceName.objects.filter(area_code__startswith=scope,
                                                 pk=request.POST.get("place") or 0).first()
                if place is None:
                    raise services.PlaceNameError("请选择地名")
                services.add_sign(by=request.user, place=place,
                                  location=request.POST.get("location", ""),
                                  material=request.POST.get("material", ""))
            messages.success(request, "已保存")
        except (services.PlaceNameError, PermissionDenied) as exc:
            messages.error(request, str(exc) or "无权操作")
    return redirect("placenames")


def _places_xlsx(rows) -> HttpResponse:  # noqa: ANN001
    return download(one_sheet("地名", ["标准名称", "汉语拼音", "类别", "区划代码", "含义与由来",
                                      "曾用名", "批准日期"],
                              ([p.name, p.pinyin, p.get_kind_display(), p.area_code, p.meaning,
                                p.former_names,
                                p.approved_on.isoformat() if p.approved_on else ""]
                               for p in rows)), "地名.xlsx")

"""Pages of the rules engine: a household's eligibility with its explanation (认定依据), and the
what-if simulation (调标测算) for district staff."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.core import areacode, clock
from doudi.policy.services import parameter_set
from doudi.policy.simulation import SimulationError, simulate
from doudi.registry.models import Household, Person
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate
from doudi.rules.explain import explain
from doudi.rules.parameters import ParameterError
from doudi.web.excel import Column, Listing


def _day(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return clock.today()


def rules_context(household: Household, day: dt.date) -> dict[str, object]:
    """政策测算 of one household on a day: every relevant programme's explanation."""
    context: dict[str, object] = {"household": household, "day": day, "error": None}
    try:
        h, m = build_frames(Household.objects.filter(pk=household.pk), day)
        result = evaluate(h, m, parameter_set(), day)
        explanations = explain(result, household.pk)
    except ParameterError as exc:
        context["error"] = str(exc)
        explanations = []
    names = {str(p.pk): p.masked_name for p in Person.objects.filter(
        pk__in=[int(e.subject) for e in explanations if e.subject])}
    context["explanations"] = [
        {"e": e, "who": names.get(e.subject or "", e.subject)} for e in explanations
    ]
    return context


@login_required
def household_rules(request: HttpRequest, household_id: int) -> HttpResponse:
    """政策测算 for one household on a day, with every criterion and its legal reference."""
    household = Household.objects.visible_to(request.user, roles.VIEW_REGISTRY) \
        .filter(pk=household_id).first()
    if household is None:
        raise Http404("家庭不存在或不在您的管辖范围内")
    context = rules_context(household, _day(request))
    context["printing"] = bool(request.GET.get("print"))
    template = "doudi/household_rules_print.html" if context["printing"] else \
        "doudi/_household_rules.html"
    return render(request, template, context)


def _simulation_areas(request: HttpRequest) -> list[Area]:
    """The user's own area and the towns under it: where a simulation can be run."""
    area = request.user.area
    if area is None:
        return []
    towns = Area.objects.filter(prefix__startswith=area.prefix, level=areacode.TOWN) \
        .order_by("code") if area.level < areacode.TOWN else Area.objects.none()
    return [area, *towns]


@login_required
def simulate_view(request: HttpRequest) -> HttpResponse:
    """调标测算: change parameters, see who would enter and leave each programme, by town."""
    if not request.user.can(roles.SIMULATE_RULES):
        raise PermissionDenied("没有此项权限")
    areas = _simulation_areas(request)
    keys = parameter_set().keys
    rows = [(request.GET.get(f"key{i}", ""), request.GET.get(f"value{i}", "")) for i in range(3)]
    context: dict[str, object] = {
        "areas": areas, "keys": keys, "rows": rows, "day": _day(request), "report": None,
        "error": None, "area_code": request.GET.get("area", areas[0].code if areas else ""),
    }
    if request.GET.get("run"):
        area = next((a for a in areas if a.code == context["area_code"]), None)
        overrides = {k: v for k, v in rows if k}
        try:
            if area is None:
                raise SimulationError("请选择您管辖范围内的区划")
            report = simulate(area, overrides, context["day"], parameter_set(),
                              user=request.user)
        except SimulationError as exc:
            context["error"] = str(exc)
        else:
            programme = request.GET.get("programme", "")
            listed = [r for r in report.rows if (r["before"] or r["after"])
                      and programme in ("", r["programme"])]
            listing = Listing(request, listed, SIMULATION_COLUMNS, per_page=max(len(listed), 1),
                              title=f"调标测算_{report.area.name}_{report.day:%Y%m%d}",
                              object_type="simulation")
            if listing.exporting:
                return listing.export()
            context.update(report=report, listed=listed, programme=programme,
                           programmes=list(dict.fromkeys(
                               (t["programme"], t["label"]) for t in report.totals)),
                           export_url=listing.context()["export_url"])
    return render(request, "doudi/simulate.html", context)


# 调标测算 by town, as the page lists it (amounts in 元)
SIMULATION_COLUMNS = [
    Column("项目", lambda r: r["label"]), Column("乡镇（街道）", lambda r: r["town_name"]),
    Column("调整前", lambda r: r["before"]), Column("调整后", lambda r: r["after"]),
    Column("新增", lambda r: r["entering"]), Column("退出", lambda r: r["leaving"]),
    Column("月资金调整前（元）", lambda r: r["budget_before"]),
    Column("月资金调整后（元）", lambda r: r["budget_after"]),
    Column("月资金变化（元）", lambda r: r["budget_change"])]

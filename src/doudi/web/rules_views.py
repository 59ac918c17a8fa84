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
from doudi.policy.services import area_labels, parameter_set
from doudi.policy.simulation import SimulationError, simulate
from doudi.policy.values import from_text
from doudi.registry.models import Household, Person
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate, unavailable_reason
from doudi.rules.explain import explain
from doudi.rules.labels import grouped, parameter_label, value_text
from doudi.rules.parameters import ParameterError, ParameterSet
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
    area_name = household.area.name if household.area else household.area_code
    # a programme not computed (a parameter missing on the day) says which, by name
    context["explanations"] = [
        {"e": e, "who": names.get(e.subject or "", e.subject),
         "reason": unavailable_reason(e.missing, household.area_code, day,
                                      name=parameter_label(e.missing), area=area_name)
         if e.missing else None}
        for e in explanations
    ]
    # where each cited value was set, by name (全国, 安徽省, 屯溪区 …)
    context["area_names"] = area_labels(
        {c.area for e in explanations for line in e.lines for c in line.citations})
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
    pset = parameter_set()
    rows = [(request.GET.get(f"key{i}", ""), request.GET.get(f"value{i}", "")) for i in range(3)]
    day = _day(request)
    area_code = request.GET.get("area", areas[0].code if areas else "")
    area = next((a for a in areas if a.code == area_code), None)
    context: dict[str, object] = {
        "areas": areas, "rows": rows, "day": day, "report": None, "error": None,
        "area_code": area_code,
        "key_groups": key_choices(pset, area.prefix if area else "", day),
    }
    if request.GET.get("run"):
        try:
            if area is None:
                raise SimulationError("请选择您管辖范围内的区划")
            overrides = {k: _typed(pset, k, v) for k, v in rows if k}
            report = simulate(area, overrides, day, pset, user=request.user)
            context["report"] = report
            context["changes"] = [(parameter_label(k), v) for k, v in rows if k]
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


def key_choices(pset: ParameterSet, prefix: str, day: dt.date) -> list[tuple[str, list]]:
    """The keys a simulation may change, by programme, each with its name and the value in
    force for the area on the day: [(group, [(key, 名称, 现行取值)])]."""
    out = []
    for group, keys in grouped(pset.keys):
        items = []
        for key in keys:
            current = pset.find(key, prefix, day)
            items.append((key, parameter_label(key),
                          value_text(current) if current else "该日无取值"))
        out.append((group, items))
    return out


def _typed(pset: ParameterSet, key: str, text: str) -> object:
    """A value as typed (30%, 在校学生, 四舍五入) in the form the key's unit takes."""
    known = pset.history(key)
    if not known:
        raise SimulationError("所选参数未定义，请从列表中选择要调整的参数")
    return from_text(known[0].unit, text, key)

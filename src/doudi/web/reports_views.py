"""统计分析 pages: the month's figures for an area, by the areas below it, with charts drawn on
the server as SVG (pygal, no script and nothing from the internet: a bureau's intranet is
offline); every bar and point links to the figures or the list behind it, and every figure to
its records, down to the household."""

from __future__ import annotations

import datetime as dt
import re

import pygal
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from pygal.style import Style

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.reports import statistics
from doudi.web.views import _need

STYLE = Style(background="white", plot_background="white", foreground="#1f2933",
              foreground_strong="#1f2933", foreground_subtle="#6b7785",
              colors=("#b3261e", "#2e6da4", "#2e7d32", "#d35400"),
              font_family="Noto Sans CJK SC, sans-serif", label_font_size=11,
              major_label_font_size=11, value_font_size=10, title_font_size=13)
_SCRIPT = re.compile(r"<script.*?</script>", re.S)


def _svg(chart: pygal.Graph) -> str:
    """The chart as inline SVG without pygal's configuration script."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _month(request: HttpRequest) -> dt.date:
    raw = request.GET.get("month", "")
    try:
        return dt.date.fromisoformat(raw + "-01")
    except ValueError:
        return timezone.localdate().replace(day=1)


def _area(request: HttpRequest) -> str:
    scope = request.user.scope_prefix
    area = request.GET.get("area", "")
    return area if area.isdigit() and area.startswith(scope) and len(area) <= 12 else scope


def _names(codes: list[str]) -> dict[str, str]:
    full = {c.ljust(12, "0"): c for c in codes}
    return {full[code]: name for code, name in Area.objects.filter(code__in=full)
            .values_list("code", "name")}


def _months_back(month: dt.date, n: int) -> list[dt.date]:
    out, y, m = [], month.year, month.month
    for _ in range(n):
        out.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _need(request, roles.VIEW_REGISTRY)
    month, area = _month(request), _area(request)
    table = statistics.month_table(area, month)
    names = _names(list(table.rows))
    base = reverse("reports")

    by_area = pygal.HorizontalBar(js=[], style=STYLE, width=640,
                                  height=max(200, 36 * len(table.rows) + 80),
                                  disable_xml_declaration=True, show_legend=False,
                                  print_values=True, title="在保户数（按下一级区划）")
    by_area.x_labels = [names.get(c, c) for c in table.rows]
    by_area.add("在保户数", [{
        "value": r["covered_households"],
        "xlink": {"href": f"{base}?area={c}&month={month:%Y-%m}", "target": "_self"},
        "label": names.get(c, c)} for c, r in table.rows.items()])

    points = statistics.trend(area, _months_back(month, 12))
    trend = pygal.Line(js=[], style=STYLE, width=640, height=300, disable_xml_declaration=True,
                       title="近12个月在保户数与发放金额（万元）", x_label_rotation=30,
                       legend_at_bottom=True)
    trend.x_labels = [f"{m:%Y-%m}" for m, _, _ in points]
    trend.add("在保户数", [{"value": households,
                          "xlink": {"href": f"{base}?area={area}&month={m:%Y-%m}",
                                    "target": "_self"}} for m, households, _ in points])
    trend.add("发放金额（万元）", [{"value": round(paid / 1_000_000, 2),
                                "xlink": {"href": f"{base}?area={area}&month={m:%Y-%m}",
                                          "target": "_self"}} for m, _, paid in points],
              secondary=True)
    scope = request.user.scope_prefix
    levels = [w for w in (2, 4, 6, 9, 12) if len(scope) < w <= len(area)]
    crumb_names = _names([area[:w] for w in levels])
    crumbs = [(area[:w], crumb_names.get(area[:w], area[:w])) for w in levels]
    return render(request, "doudi/reports.html", {
        "table": table, "names": names, "month": month, "area": area,
        "area_name": _names([area]).get(area, "本辖区") if area else "全部",
        "figures": statistics.FIGURES, "money": statistics.MONEY,
        "listed": set(statistics.FIGURES) - statistics.DERIVED, "crumbs": crumbs,
        "by_area_svg": _svg(by_area), "trend_svg": _svg(trend),
        "drill": len(area) < 12})


@login_required
@require_GET
def figure_list(request: HttpRequest) -> HttpResponse:
    """The records behind a figure (?figure=), each linked to its household."""
    _need(request, roles.VIEW_REGISTRY)
    figure = request.GET.get("figure", "covered_households")
    if figure not in statistics.FIGURES or figure in statistics.DERIVED:
        raise Http404("没有这项统计")
    month, area = _month(request), _area(request)
    qs = statistics.records(figure, area, month)
    model = qs.model.__name__
    if hasattr(qs.model, "household"):
        qs = qs.select_related("household")
    if model == "PaymentLine":
        qs = qs.select_related("enrollment__household")
    if model == "VisitTask":
        qs = qs.select_related("household", "person")
    rows = []
    for obj in qs.order_by("area_code", "pk")[:1000]:
        household = getattr(obj, "household", None) or getattr(
            getattr(obj, "enrollment", None), "household", None)
        rows.append((obj, household))
    return render(request, "doudi/report_list.html", {
        "rows": rows, "figure": figure, "label": statistics.FIGURES[figure], "month": month,
        "area": area, "total": qs.count(), "area_name": _names([area]).get(area, area)})

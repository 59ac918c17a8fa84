"""统计分析 pages: the month's figures for an area, by the areas below it, with charts drawn on
the server as SVG (pygal, no script and nothing from the internet: a bureau's intranet is
offline); every bar and point links to the figures or the list behind it, and every figure to
its records, down to the household."""

from __future__ import annotations

import datetime as dt
import re
from decimal import InvalidOperation

import pygal
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from pygal.style import Style

from doudi.accounts import roles
from doudi.areas.models import Area, area_names, area_names_under
from doudi.areas.scoping import in_scope
from doudi.core import clock
from doudi.core.money import parse_whole, parse_yuan
from doudi.programmes import catalogue
from doudi.referrals import statistics as referral_statistics
from doudi.reports import assignments, axis, campaigns, filing, performance, snapshots, statistics
from doudi.reports.models import (
    ASSIGNMENT_KINDS,
    CAMPAIGN_KINDS,
    CHECKLIST,
    Campaign,
    CampaignFinding,
    ReportInstance,
)
from doudi.web.access import require_capability
from doudi.web.excel import Column, Listing, download, search_households, yuan

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
        return clock.today().replace(day=1)


def _area(request: HttpRequest) -> str:
    scope = request.user.scope_prefix
    area = request.GET.get("area", "")
    return area if area.isdigit() and area.startswith(scope) and len(area) <= 12 else scope


def _months_back(month: dt.date, n: int) -> list[dt.date]:
    out, y, m = [], month.year, month.month
    for _ in range(n):
        out.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def trend_chart(points: list[tuple[dt.date, int, int]], area: str, base: str) -> pygal.Line:
    """在保户数 (left axis) and 发放金额 in 万元 (right axis) by month, each point linking to
    that month's figures."""
    # round ticks on both axes, the same number of steps, labels without a float's tail
    left = axis.ticks(max((h for _, h, _ in points), default=0))
    right = axis.ticks_like(max((p for _, _, p in points), default=0) / 1_000_000, len(left))
    trend = pygal.Line(js=[], style=STYLE, width=640, height=300, disable_xml_declaration=True,
                       title="近12个月在保户数与发放金额（万元）", x_label_rotation=30,
                       legend_at_bottom=True, value_formatter=axis.label,
                       y_labels=[float(t) for t in left], range=(0, float(left[-1])),
                       secondary_range=(0, float(right[-1])))
    trend.x_labels = [f"{m:%Y-%m}" for m, _, _ in points]
    trend.add("在保户数", [{"value": households,
                          "xlink": {"href": f"{base}?area={area}&month={m:%Y-%m}",
                                    "target": "_self"}} for m, households, _ in points])
    trend.add("发放金额（万元）", [{"value": round(paid / 1_000_000, 2),
                                "xlink": {"href": f"{base}?area={area}&month={m:%Y-%m}",
                                          "target": "_self"}} for m, _, paid in points],
              secondary=True)
    return trend


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    month, area = _month(request), _area(request)
    table = statistics.month_table(area, month)
    names = area_names(list(table.rows))
    base = reverse("reports")

    by_area = pygal.HorizontalBar(js=[], style=STYLE, width=640,
                                  height=max(200, 36 * len(table.rows) + 80),
                                  disable_xml_declaration=True, show_legend=False,
                                  print_values=True, title="在保户数（按下一级区划）",
                                  value_formatter=axis.label)
    by_area.x_labels = [names.get(c, c) for c in table.rows]
    by_area.add("在保户数", [{
        "value": r["covered_households"],
        "xlink": {"href": f"{base}?area={c}&month={month:%Y-%m}", "target": "_self"},
        "label": names.get(c, c)} for c, r in table.rows.items()])

    trend = trend_chart(statistics.trend(area, _months_back(month, 12)), area, base)
    scope = request.user.scope_prefix
    levels = [w for w in (2, 4, 6, 9, 12) if len(scope) < w <= len(area)]
    crumb_names = area_names([area[:w] for w in levels])
    crumbs = [(area[:w], crumb_names.get(area[:w], area[:w])) for w in levels]
    area_name = area_names([area]).get(area, "本辖区") if area else "全部"
    listing = Listing(request, list(statistics.FIGURES.items()),
                      _figure_columns(table, names), per_page=len(statistics.FIGURES) or 1,
                      title=f"统计分析_{area_name}_{month:%Y年%m月}",
                      object_type="statistics",
                      params={"area": area, "month": f"{month:%Y-%m}"})
    if listing.exporting:
        return listing.export()
    return render(request, "doudi/reports.html", {
        "table": table, "names": names, "month": month, "area": area,
        "area_name": area_name, "export_url": listing.context()["export_url"],
        "figures": statistics.FIGURES, "money": statistics.MONEY,
        "listed": set(statistics.FIGURES) - statistics.DERIVED, "crumbs": crumbs,
        "by_area_svg": _svg(by_area), "trend_svg": _svg(trend),
        "drill": len(area) < 12,
        "staleness_minutes": settings.DOUDI_STATISTICS_CACHE_SECONDS // 60,
        "list_url": reverse("report_list"),  # once, not for each of the table's cells
        "close_day": snapshots.CLOSE_DAY,
        "referral_counts": referral_statistics.month_counts(area, month),
        "referral_columns": referral_statistics.COLUMNS})


def _figure_value(key: str, value: object) -> object:
    if value is None:
        return "—"
    return yuan(value) if key in statistics.MONEY else value


def _figure_columns(table: statistics.Table, names: dict[str, str]) -> list[Column]:
    """主要指标 as the dashboard shows it: a row per figure, the total, then each area below."""
    return [Column("指标", lambda f: f[1]),
            Column("合计", lambda f: _figure_value(f[0], table.total.get(f[0]))),
            *[Column(names.get(code, code), lambda f, r=row: _figure_value(f[0], r.get(f[0])))
              for code, row in table.rows.items()]]


# where a figure's records name their household (for the 家庭 column and the search)
def _household_field(model: type) -> str:
    if model.__name__ == "PaymentLine":
        return "enrollment__household"
    return "household" if hasattr(model, "household") else ""


def record_text(obj: object, household: object) -> str:
    """What a drill-down row says of its record, without the household number the row's first
    column already shows."""
    number = getattr(household, "number", None)
    return " ".join(part for part in str(obj).split() if part != number)


@login_required
@require_GET
def figure_list(request: HttpRequest) -> HttpResponse:
    """The records behind a figure (?figure=), each linked to its household; a page at a time,
    narrowed to a town or village (?area=) or a household (?q=), downloadable."""
    require_capability(request, roles.VIEW_REGISTRY)
    figure = request.GET.get("figure", "covered_households")
    if figure not in statistics.FIGURES or figure in statistics.DERIVED:
        raise Http404("没有这项统计")
    month, area = _month(request), _area(request)
    qs = statistics.records(figure, area, month)
    field = _household_field(qs.model)
    search_error = ""
    if field:
        qs, search_error = search_households(request, qs, field)
    related = [f for f in (field, "person" if qs.model.__name__ == "VisitTask" else "") if f]
    places = area_names_under(request.user.scope_prefix)

    def household(obj: object) -> object:
        return getattr(obj, "household", None) or getattr(
            getattr(obj, "enrollment", None), "household", None)

    columns = [Column("家庭编号", lambda o: getattr(household(o), "number", "")),
               Column("村（社区）", lambda o: places.get(o.area_code, "")),
               Column("记录", lambda o: record_text(o, household(o)))]
    label = statistics.FIGURES[figure]
    area_name = area_names([area]).get(area, area)
    listing = Listing(request, qs.order_by("area_code", "pk"), columns,
                      title=f"{label}_{area_name}_{month:%Y年%m月}",
                      object_type="statistics", related=related, params={
                          "figure": figure, "area": area, "month": f"{month:%Y-%m}",
                          "q": request.GET.get("q", "").strip()})
    if listing.exporting:
        return listing.export()
    context = listing.context()
    context["page"].object_list = [(obj, household(obj), record_text(obj, household(obj)))
                                   for obj in context["page"].object_list]
    return render(request, "doudi/report_list.html", {
        **context, "figure": figure, "label": label, "month": month, "places": places,
        "area": area, "area_name": area_name, "search_error": search_error,
        "searchable": bool(field), "q": request.GET.get("q", ""),
        "villages": Area.objects.filter(code__startswith=area, level__in=(4, 5))
        .order_by("code")})


# -- campaigns ------------------------------------------------------------------------------

def _may_see_campaigns(request: HttpRequest) -> None:
    """Campaigns are read by area (registry readers) or by assignment (互查, 第三方评估)."""
    if not (request.user.can(roles.VIEW_REGISTRY) or request.user.can(roles.VIEW_ASSIGNED)):
        raise PermissionDenied("没有此项权限")


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    _may_see_campaigns(request)
    row = (Campaign.objects.visible_to(request.user, assigned=True, chain=True)
           .filter(pk=campaign_id).first())
    if row is None:
        raise Http404("检查活动不存在或不在您的管辖范围内")
    return row


def _town_names(prefix: str) -> dict[str, str]:
    return {c[:9]: n for c, n in Area.objects.filter(code__startswith=prefix[:6], level=4)
            .values_list("code", "name")}


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """检查活动: those over the user's area, and those assigned to the user (互查, 第三方评估);
    a district starts one with a seeded sample."""
    _may_see_campaigns(request)
    error = ""
    form = {k: request.POST.get(k, "") for k in ("name", "kind", "rate", "seed", "starts_on",
                                                  "due_on", "correction_days")}
    if request.method == "POST":
        try:
            # a percentage with two decimals is read as basis points (the amount rules)
            rate_bp = parse_yuan(form["rate"] or "0", field="rate", label="抽样比例",
                                 max_fen=100 * 100)
            row = campaigns.start(
                by=request.user, name=form["name"], kind=form["kind"],
                programmes=request.POST.getlist("programmes"),
                rate_bp=rate_bp, seed=parse_whole(form["seed"], field="seed", label="随机种子",
                                                  maximum=2**31 - 1, default=0),
                starts_on=dt.date.fromisoformat(form["starts_on"]),
                due_on=dt.date.fromisoformat(form["due_on"]),
                correction_days=parse_whole(form["correction_days"], field="correction_days",
                                            label="整改期限", maximum=3650, default=30),
                include_refused=bool(request.POST.get("include_refused")),
                include_exited=bool(request.POST.get("include_exited")))
            return redirect("campaign_detail", campaign_id=row.pk)
        except (ValueError, InvalidOperation):
            error = "请填写抽样比例（%）、随机种子（整数）和日期"
        except (campaigns.CampaignError, PermissionDenied) as exc:
            error = str(exc) or "检查活动由区县民政部门组织"
    rows = Campaign.objects.visible_to(request.user, chain=True)
    return render(request, "doudi/campaigns.html", {
        "rows": rows, "error": error, "form": form, "kinds": CAMPAIGN_KINDS,
        "assigned": assignments.active_for(request.user).select_related("campaign")
        .annotate(households=Count("samples")),
        "names": _town_names(request.user.scope_prefix or ""),
        "programmes": catalogue.choices(), "checked_programmes": {catalogue.DIBAO},
        "today": clock.today(),
        "can_start": request.user.can(roles.START_CAMPAIGN)})


def _assign(request: HttpRequest, row: Campaign) -> None:
    """The district's 互查 / 第三方评估 assignments of the campaign's samples."""
    from doudi.accounts.models import User

    action = request.POST.get("action", "")
    if action == "assign":
        kind = request.POST.get("kind", "")
        assignee = None
        if kind == assignments.EVALUATOR:
            raw = request.POST.get("assignee", "")
            assignee = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        assignments.assign(by=request.user, campaign=row, kind=kind,
                           checked_town=request.POST.get("checked_town", ""),
                           assignee_town=request.POST.get("assignee_town", ""),
                           assignee=assignee)
    elif action == "end_assignment":
        raw = request.POST.get("assignment", "")
        found = row.assignments.filter(pk=int(raw)).first() if raw.isdigit() else None
        if found is None:
            raise campaigns.CampaignError("分配不存在")
        assignments.end(by=request.user, assignment=found)
    else:
        raise campaigns.CampaignError("未知操作")


@login_required
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """A campaign: its summary by town, the sampled households the user may see (their own
    area's, and those assigned to them), and for the district the 互查 and 第三方评估
    assignments."""
    from doudi.accounts.services import accounts_holding

    row = _campaign(request, campaign_id)
    names = _town_names(row.area_code)
    error = ""
    if request.method == "POST":
        try:
            _assign(request, row)
            return redirect("campaign_detail", campaign_id=row.pk)
        except (campaigns.CampaignError, PermissionDenied) as exc:
            error = str(exc) or "检查分配由组织检查活动的区县民政部门办理"
    if request.GET.get("format") == "xlsx":
        return download(campaigns.summary_xlsx(row, names), f"{row.name}_汇总.xlsx")
    samples = row.samples.visible_to(request.user, assigned=True) \
        .select_related("household").order_by("town", "programme", "household_id")
    town = request.GET.get("town", "")
    if town.isdigit():
        samples = samples.filter(town=town)
    manages = request.user.can(roles.START_CAMPAIGN) and in_scope(
        request.user, row.area_code, roles.VIEW_REGISTRY)
    return render(request, "doudi/campaign_detail.html", {
        "row": row, "summary": campaigns.summary(row), "names": names,
        "samples": samples[:500], "town": town, "checklist": CHECKLIST, "error": error,
        "manages": manages,
        "assignments": row.assignments.select_related("assignee")
        .annotate(households=Count("samples")) if manages else [],
        "evaluators": accounts_holding({roles.VIEW_ASSIGNED, roles.CHECK_SAMPLE},
                                       under=row.area_code[:4], without={roles.VIEW_REGISTRY})
        if manages else [],
        "assignment_kinds": ASSIGNMENT_KINDS, "today": clock.today()})


@login_required
def campaign_sample(request: HttpRequest, campaign_id: int, sample_id: int) -> HttpResponse:
    """The checklist for one sampled household; problems become corrective tasks. An
    assignee (互查, 第三方评估) sees the household masked and records findings on it."""
    from doudi.benefits.models import Enrollment
    from doudi.registry.models import Household

    row = _campaign(request, campaign_id)
    sample = row.samples.visible_to(request.user, assigned=True).filter(pk=sample_id) \
        .select_related("household").first()
    if sample is None:
        raise Http404("抽样家庭不存在或不在您的管辖范围内")
    error = ""
    if request.method == "POST":
        try:
            action = request.POST.get("action", "")
            if action == "correct":
                finding = sample.findings.get(pk=int(request.POST.get("finding", "0")))
                campaigns.correct(by=request.user, finding=finding,
                                  correction=request.POST.get("correction", ""),
                                  corrected_on=clock.today())
            elif action != "check":
                raise campaigns.CampaignError("未知操作")
            else:
                problems = {k: request.POST.get(f"note_{k}", "") for k in CHECKLIST
                            if f"problem_{k}" in request.POST}
                campaigns.check(by=request.user, sample=sample, problems=problems,
                                checked_on=clock.today())
            return redirect("campaign_sample", campaign_id=row.pk, sample_id=sample.pk)
        except (campaigns.CampaignError, PermissionDenied, ValueError) as exc:
            error = str(exc) or "无权登记"
        except CampaignFinding.DoesNotExist:
            error = "问题不存在"
    household = sample.household
    today = clock.today()
    return render(request, "doudi/campaign_sample.html", {
        "row": row, "sample": sample, "checklist": CHECKLIST, "error": error,
        "findings": sample.findings.select_related("recorded_by"), "today": today,
        # what the checklist is checked against, masked for everyone on this page
        "members": household.memberships.filter(end_date__isnull=True)
        .select_related("person").order_by("id"),
        "enrollments": Enrollment.objects.filter(household=household, end_date__isnull=True),
        "household_link": Household.objects.visible_to(request.user)
        .filter(pk=household.pk).exists(),
        "can_check": assignments.source_of(request.user, sample) is not None,
        "can_correct": in_scope(request.user, sample.area_code, roles.EDIT_REGISTRY)})


@login_required
@require_GET
def performance_page(request: HttpRequest) -> HttpResponse:
    """绩效评价 of the towns for a month (or ?year=YYYY), exportable."""
    require_capability(request, roles.VIEW_REGISTRY)
    area = _area(request)
    year = request.GET.get("year", "")
    if year.isdigit():
        first, last = dt.date(int(year), 1, 1), dt.date(int(year), 12, 31)
        title = f"{year}年"
    else:
        first, last = statistics.month_bounds(_month(request))
        title = f"{first:%Y年%m月}"
    rows = performance.towns(area, first, last)
    names = _town_names(area)
    total = performance.total(rows, "合计")
    if request.GET.get("format") == "xlsx":
        return download(performance.xlsx([*rows, total], names, f"{title}镇街绩效评价"),
                        "绩效评价.xlsx")
    until = performance.judged_until(last)
    return render(request, "doudi/performance.html", {
        "rows": rows, "total": total, "names": names, "title": title, "month": first,
        "year": year, "area": area, "indicators": performance.INDICATORS,
        "until": until if until < last else None})


# -- reports owed upward --------------------------------------------------------------------

@login_required
def filings(request: HttpRequest) -> HttpResponse:
    """报表报送: every report due for the district over the last year and the next due date,
    with its state — 逾期 when past due and not submitted; an upper level sees its districts'."""
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    error = ""
    if request.method == "POST":
        try:
            row = filing.fill(by=request.user, code=request.POST.get("template", ""),
                              period=request.POST.get("period", ""))
            return redirect("filing_detail", filing_id=row.pk)
        except (filing.FilingError, PermissionDenied) as exc:
            error = str(exc)
    today = clock.today()
    stored = {(r.template, r.period, r.area_code): r
              for r in ReportInstance.objects.filter(area_code__startswith=scope)}
    districts = ([scope] if len(scope) == 6 else sorted(
        c[:6] for c in Area.objects.filter(code__startswith=scope, level=3)
        .values_list("code", flat=True)))
    names = area_names(districts)
    rows = []
    for due in filing.periods(today):
        for district in districts:
            report = stored.get((due.template.code, due.period, district))
            late = due.due_on < today and (report is None
                                           or report.status == ReportInstance.DRAFT)
            rows.append({"due": due, "district": district, "name": names.get(district,
                                                                              district),
                         "report": report, "late": late})
    return render(request, "doudi/filings.html", {
        "rows": rows, "error": error, "today": today,
        "can_fill": len(scope) == 6 and request.user.can(roles.SUBMIT_FILING)})


def _report(request: HttpRequest, filing_id: int) -> ReportInstance:
    """A report of the user's area: any for 民政 staff; for 乡村振兴 staff, the submitted
    reports owed to their line (双线报送)."""
    user = request.user
    if not (user.can(roles.VIEW_REGISTRY) or user.can(roles.VIEW_RURAL_WATCH)):
        raise PermissionDenied("没有此项权限")
    row = ReportInstance.objects.filter(pk=filing_id,
                                        area_code__startswith=user.scope_prefix).first()
    if row is not None and not user.can(roles.VIEW_REGISTRY) and (
            row.status == ReportInstance.DRAFT
            or not filing.templates()[row.template].rural):
        row = None
    if row is None:
        raise Http404("报表不存在或不在您的管辖范围内")
    return row


@login_required
def filing_detail(request: HttpRequest, filing_id: int) -> HttpResponse:
    report = _report(request, filing_id)
    name = area_names([report.area_code]).get(report.area_code, report.area_code)
    error = ""
    if request.method == "POST":
        try:
            action = request.POST.get("action", "")
            if action == "submit":
                filing.submit(by=request.user, report=report)
            elif action == "receive":
                filing.receive(by=request.user, report=report)
            elif action == "receive_rural":
                filing.receive_rural(by=request.user, report=report)
            elif action == "refill":
                report = filing.fill(by=request.user, code=report.template,
                                     period=report.period)
            else:
                raise filing.FilingError("未知操作")
            return redirect("filing_detail", filing_id=report.pk)
        except (filing.FilingError, PermissionDenied) as exc:
            error = str(exc)
    if request.GET.get("format") == "xlsx":
        return download(filing.xlsx(report, name),
                        f"{filing.templates()[report.template].name}_{report.period}.xlsx")
    template = filing.templates()[report.template]
    return render(request, "doudi/filing_detail.html", {
        "report": report, "template": template, "area_name": name, "error": error,
        "money": statistics.MONEY, "late": report.due_on < clock.today()
        and report.status == ReportInstance.DRAFT,
        "can_submit": request.user.can(roles.SUBMIT_FILING)
        and request.user.scope_prefix == report.area_code,
        "can_receive": request.user.can(roles.RECEIVE_FILING)
        and len(request.user.scope_prefix) < len(report.area_code),
        "can_receive_rural": filing.may_receive_rural(request.user, report),
        "lines": [filing.LINES[line] for line in template.lines]})

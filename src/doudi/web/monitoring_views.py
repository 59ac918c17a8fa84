"""监测预警 pages: the dashboard (open / overdue / closed by level, indicator and town, 应保尽保
rate, the run button), the warning list and one warning (evidence, 核实, 处置, history), the
indicators a district tunes, a run's progress, and the two discovery channels (主动发现, 12345)."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.areas.models import Area, area_names, area_names_under
from doudi.areas.scoping import along_chain
from doudi.core import clock
from doudi.core.masking import mask_name
from doudi.core.money import parse_yuan
from doudi.core.shares import ratio_bp
from doudi.engine.monitoring.indicators import KINDS, LEVELS, UNITS
from doudi.exchange.models import FeedType
from doudi.monitoring import jobs, services, workflow
from doudi.monitoring.models import MonitoringRun, Warning
from doudi.monitoring.overdue import is_overdue, overdue_on, pending_on
from doudi.registry import queries
from doudi.registry.models import Household
from doudi.reports import snapshots, statistics
from doudi.rules.explain import outcomes
from doudi.web.access import require_capability
from doudi.web.excel import Column, Listing, search_households

LEVEL_CLASS = {1: "level-red", 2: "level-orange", 3: "level-yellow", 4: "level-blue",
               5: "level-green"}


def _warnings(request: HttpRequest):  # noqa: ANN202
    require_capability(request, roles.VIEW_REGISTRY)
    return Warning.objects.filter(services.visible(request.user))


def _runs(request: HttpRequest):  # noqa: ANN202
    """Runs over the user's area: of an area within it, or of one that contains it."""
    prefix = request.user.scope_prefix
    return MonitoringRun.objects.filter(along_chain(prefix)).select_related("created_by")


def _towns(prefix: str) -> dict[str, str]:
    """Towns (9-digit prefix → name) under the user's area."""
    rows = Area.objects.filter(code__startswith=prefix[:9] if len(prefix) > 9 else prefix,
                               level=4).values_list("code", "name")
    return {code[:9]: name for code, name in rows}


def _rate(bp: int | None) -> str:
    return "—" if bp is None else f"{bp // 100}.{bp % 100:02d}%"


# the dashboard's table by town (or by village of a town), as the page shows it
TOWN_COLUMNS = [Column("区划", lambda r: r["name"]), Column("待处置", lambda r: r["open"]),
                Column("逾期", lambda r: r["overdue"]), Column("已办结", lambda r: r["closed"]),
                Column("在保户数", lambda r: r["covered"]),
                Column("应保未保待处置", lambda r: r["uncovered"]),
                Column("应保尽保率", lambda r: _rate(r["rate_bp"]))]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    qs = _warnings(request)
    today = clock.today()
    names = {i.key: i.name for i in services.indicators_for(request.user.scope_prefix,
                                                            active_only=False)}
    # today's pending and overdue: the one definition (monitoring.overdue) that 统计分析's
    # month under way and the towns' performance count with
    pending = pending_on(today)
    overdue = overdue_on(today)
    closed = Q(status=workflow.CLOSED)

    def counts(field: str) -> list[dict]:
        return list(qs.values(field).annotate(
            open=Count("id", filter=pending), overdue=Count("id", filter=overdue),
            closed=Count("id", filter=closed)).order_by(field))

    by_level = [dict(r, label=f"{r['level']}级 {LEVELS[r['level']]}",
                     css=LEVEL_CLASS[r["level"]]) for r in counts("level")]
    by_indicator = [dict(r, label=names.get(r["indicator"], r["indicator"]))
                    for r in counts("indicator")]
    # the area tree: the district's towns, or a town's villages (?area=town code)
    scope = request.user.scope_prefix
    area = request.GET.get("area", "")
    if not (area.isdigit() and area.startswith(scope) and len(area) in (9,)):
        area = scope
    width = 9 if len(area) <= 6 else 12
    names = {code[:width]: name for code, name in Area.objects.filter(
        code__startswith=area, level=4 if width == 9 else 5).values_list("code", "name")}
    # by town (or village): pending, overdue, 在保 and 应保未保 as 统计分析 and the towns'
    # performance count them for the month under way (`statistics.counts`, judged today)
    first, last = statistics.month_bounds(today)
    town_rows: dict[str, dict] = defaultdict(lambda: {"open": 0, "overdue": 0, "closed": 0,
                                                      "uncovered": 0})
    for key, figure in (("open", "warnings_pending"), ("overdue", "warnings_overdue"),
                        ("uncovered", "uncovered_pending")):
        for code, n in statistics.counts(figure, area, first, last, width).items():
            town_rows[code][key] = n
    for code, n in qs.filter(closed, area_code__startswith=area).annotate(
            _child=Substr("area_code", 1, width)).order_by().values("_child").annotate(
            n=Count("id")).values_list("_child", "n"):
        town_rows[code]["closed"] = n
    # 在保户数 changes with decisions, not with the warnings worked here: kept per area for the
    # statistics' staleness, as the home page and 统计分析 keep it
    covered = defaultdict(int, snapshots.recent(
        f"covered:{area or '-'}:{width}",
        lambda: statistics.counts("covered_households", area, first, last, width)))
    by_town = []
    for code in sorted(set(town_rows) | set(covered)):
        row = town_rows[code]
        gap = row["uncovered"]
        rate = ratio_bp(covered[code], covered[code] + gap)
        by_town.append({"code": code, "name": names.get(code, code), **row,
                        "covered": covered[code], "rate_bp": rate, "drill": width == 9})
    total_cov = sum(covered.values())
    total_gap = sum(r["uncovered"] for r in town_rows.values())
    area_name = Area.objects.filter(code=area.ljust(12, "0")).values_list(
        "name", flat=True).first() or area
    listing = Listing(request, by_town, TOWN_COLUMNS, per_page=max(len(by_town), 1),
                      title=f"监测预警_{area_name}_按{'村（社区）' if width == 12 else '镇街'}",
                      object_type="monitoring.warning")
    if listing.exporting:
        return listing.export()
    return render(request, "doudi/monitoring_dashboard.html", {
        "export_url": listing.context()["export_url"],
        "area": area, "area_name": area_name, "width": width,
        "by_level": by_level, "by_indicator": by_indicator, "by_town": by_town,
        "totals": {"open": qs.filter(pending).count(), "overdue": qs.filter(overdue).count(),
                   "closed": qs.filter(closed).count(), "covered": total_cov,
                   "uncovered": total_gap,
                   "rate_bp": ratio_bp(total_cov, total_cov + total_gap)},
        "runs": _runs(request)[:5],
        "can_run": request.user.can(roles.RUN_MONITORING),
        "can_report": request.user.can(roles.EDIT_REGISTRY)})


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    try:
        run = services.start_run(by=request.user, trigger="ui")
    except PermissionDenied:
        raise
    jobs.submit(run)
    return redirect("monitoring_run", monitoring_run_id=run.pk)


@login_required
@require_GET
def run_detail(request: HttpRequest, monitoring_run_id: int) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    run = _runs(request).filter(pk=monitoring_run_id).first()
    if run is None:
        raise Http404("监测运行不存在或不在您的管辖范围内")
    names = {i.key: i.name for i in services.indicators_for(run.area_code, active_only=False)}
    template = ("doudi/_monitoring_run_status.html" if request.headers.get("HX-Request")
                else "doudi/monitoring_run.html")
    return render(request, template, {
        "run": run, "counts": [(names.get(k, k), k, n) for k, n in sorted(run.counts.items())],
        "skipped": [(names.get(k, k), why) for k, why in sorted(run.skipped.items())]})


def _warning_columns(names: dict[str, str], places: dict[str, str]) -> list[Column]:
    """预警清单 as the page lists it (masked)."""
    def person(w: Warning) -> str:
        if w.person_id:
            return w.person.masked_name
        return mask_name(w.reported_name) if w.reported_name else ""

    return [
        Column("等级", lambda w: f"{w.level}级 {LEVELS.get(w.level, '')}"),
        Column("预警", lambda w: w.summary or names.get(w.indicator, w.indicator)),
        Column("家庭编号", lambda w: w.household.number if w.household_id else "未建档"),
        Column("人员", person),
        Column("发生日期", lambda w: w.event_date),
        Column("处置单位", lambda w: f"{w.get_handler_level_display()} "
                                 f"{places.get(w.owner_code, '')}".strip()),
        Column("处置期限", lambda w: w.due_on),
        Column("状态", lambda w: w.get_status_display()),
    ]


@login_required
@require_GET
def warning_list(request: HttpRequest) -> HttpResponse:
    qs = _warnings(request).select_related("household", "person")
    today = clock.today()
    f = {k: request.GET.get(k, "") for k in ("status", "level", "indicator", "town", "overdue",
                                             "mine", "q")}
    if f["status"] == "pending" or not f["status"]:
        qs = qs.filter(status__in=(workflow.OPEN, workflow.VERIFIED))
    elif f["status"] in workflow.STATES:
        qs = qs.filter(status=f["status"])
    if f["level"].isdigit():
        qs = qs.filter(level=int(f["level"]))
    if f["indicator"]:
        qs = qs.filter(indicator=f["indicator"])
    if f["town"].isdigit():
        qs = qs.filter(area_code__startswith=f["town"])
    if f["overdue"]:
        qs = qs.filter(overdue_on(today))
    if f["mine"]:
        qs = qs.filter(owner_code=request.user.scope_prefix)
    qs, search_error = search_households(request, qs)
    names = {i.key: i.name for i in services.indicators_for(request.user.scope_prefix,
                                                            active_only=False)}
    places = area_names_under(request.user.scope_prefix)
    listing = Listing(request, qs.order_by("level", "due_on", "id"),
                      _warning_columns(names, places), title="预警清单",
                      object_type="monitoring.warning")
    if listing.exporting:
        return listing.export()
    return render(request, "doudi/warning_list.html", {
        **listing.context(), "f": f, "names": names, "today": today, "levels": LEVELS,
        "states": workflow.STATES, "towns": _towns(request.user.scope_prefix),
        "level_class": LEVEL_CLASS, "places": places, "search_error": search_error})


def _fen_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value // 100}.{value % 100:02d}" if value >= 0 else f"-{_fen_text(-value)}"
    return value


def _warning(request: HttpRequest, warning_id: int) -> Warning:
    w = (_warnings(request).select_related("household", "person", "application", "run")
         .filter(pk=warning_id).first())
    if w is None:
        raise Http404("预警不存在或不在您的管辖范围内")
    return w


def _render_warning(request: HttpRequest, w: Warning, error: str = "") -> HttpResponse:
    ind = services.indicator(w.indicator, w.area_code)
    rows = w.evidence.get("rows", []) if isinstance(w.evidence, dict) else []
    keys = list(dict.fromkeys(k for r in rows for k in r))
    feed = FeedType.objects.filter(key=w.source).first() if w.source else None
    fields = {f.key: f for f in feed.parsed().fields} if feed else {}
    labels = {"batch": "批次", "row": "行号"}
    columns = [labels.get(k) or (fields[k].label if k in fields else k) for k in keys]
    money = {k for k, f in fields.items() if f.type == "money"}
    table = [[_fen_text(r.get(k)) if k in money else r.get(k) for k in keys] for r in rows]
    rules = w.evidence.get("rules", {}) if isinstance(w.evidence, dict) else {}
    can_handle = (request.user.can(roles.EDIT_REGISTRY)
                  and workflow.may_handle(request.user.capabilities, w.handler_level))
    return render(request, "doudi/warning_detail.html", {
        "w": w, "ind": ind, "kind_label": KINDS.get(w.kind, w.kind),
        "level_label": LEVELS.get(w.level, ""), "level_class": LEVEL_CLASS.get(w.level, ""),
        "table": table, "columns": columns, "rules": outcomes(rules), "feed": feed,
        "measure": w.evidence.get("measure") if isinstance(w.evidence, dict) else None,
        "threshold": w.evidence.get("threshold") if isinstance(w.evidence, dict) else None,
        "events": w.events.select_related("by"), "error": error,
        "overdue": is_overdue(w),
        "can_handle": can_handle, "dispositions": list(workflow.dispositions().items()),
        # a reported person joined to a household names the member concerned too
        "members": list(w.household.current_memberships()) if w.household and not w.person
        else [],
        "handler": workflow.LEVEL_LABELS[w.handler_level],
        "owner": area_names([w.owner_code]).get(w.owner_code, "")})


@login_required
@require_GET
def warning_detail(request: HttpRequest, warning_id: int) -> HttpResponse:
    return _render_warning(request, _warning(request, warning_id))


@login_required
@require_POST
def warning_act(request: HttpRequest, warning_id: int) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)
    w = _warning(request, warning_id)
    action = request.POST.get("action", "")
    try:
        if action == "verify":
            services.verify(by=request.user, warning=w,
                            finding=request.POST.get("finding", ""),
                            confirmed=request.POST.get("confirmed") != "no")
            messages.success(request, "已记录核实情况")
        elif action == "dispose":
            w = services.dispose(by=request.user, warning=w,
                                 disposition=request.POST.get("disposition", ""),
                                 note=request.POST.get("note", ""))
            if w.application_id:
                messages.success(request, "已办结，并启动救助申请")
                return redirect("application_detail", application_id=w.application_id)
            messages.success(request, "已办结")
        elif action == "link":
            household = queries.household_by_number(
                request.user, request.POST.get("household_number", ""), roles.EDIT_REGISTRY)
            if household is None:
                raise services.MonitoringError(queries.NOT_FOUND_HERE)
            person_id = request.POST.get("person_id", "")
            person = next((m.person for m in household.current_memberships()
                           if str(m.person_id) == person_id), None)
            if person_id and person is None:
                raise services.MonitoringError("求助人须为该家庭的现有成员")
            services.link_household(by=request.user, warning=w, household=household,
                                    person=person)
            messages.success(request, "已关联家庭档案" if person is None else "已关联求助人")
        else:
            raise services.MonitoringError("未知操作")
    except (services.MonitoringError, PermissionDenied) as exc:
        return _render_warning(request, w, str(exc) or "无权执行此操作")
    return redirect("warning_detail", warning_id=w.pk)


def _render_indicators(request: HttpRequest, error: str = "") -> HttpResponse:
    area = request.user.scope_prefix
    active = {i.key for i in services.indicators_for(area)}
    return render(request, "doudi/indicator_list.html", {
        "indicators": services.indicators_for(area, active_only=False), "active": active,
        "kinds": KINDS, "levels": LEVELS, "units": UNITS, "handlers": workflow.LEVEL_LABELS,
        "sources": {t.key: f"{t.department} {t.name}" for t in FeedType.objects.all()},
        "can_tune": request.user.can(roles.TUNE_INDICATORS), "error": error})


@login_required
@require_GET
def indicator_list(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    return _render_indicators(request)


@login_required
@require_POST
def indicator_tune(request: HttpRequest) -> HttpResponse:
    """A district administrator's thresholds and on/off for one indicator in their area."""
    require_capability(request, roles.TUNE_INDICATORS)
    key = request.POST.get("key", "")
    try:
        ind = services.indicator(key, request.user.scope_prefix)
        values = {}
        for name, param in ind.params.items():
            raw = request.POST.get(f"p_{name}", "").strip()
            if param.unit == "money":
                values[name] = parse_yuan(raw, field=f"p_{name}", label=f"“{param.label}”")
            elif raw.isdigit():
                values[name] = int(raw)
            else:
                raise services.MonitoringError(f"“{param.label}”应为非负整数")
        services.tune(by=request.user, key=key, params=values, active="active" in request.POST)
    except (services.MonitoringError, ValueError) as exc:
        return _render_indicators(request, str(exc))
    messages.success(request, f"已保存“{ind.name}”的设置（下次监测运行生效）")
    return redirect("indicator_list")


def _village_choices(user) -> list[Area]:  # noqa: ANN001
    return list(Area.objects.filter(code__startswith=user.scope_prefix, level=5)
                .order_by("code")[:2000])


@login_required
def report_discovery(request: HttpRequest) -> HttpResponse:
    """主动发现: what a village assistant or grid worker found."""
    return _report(request, "discovery")


@login_required
def report_hotline(request: HttpRequest) -> HttpResponse:
    """A 12345 ticket taken by phone or passed on by the hotline centre."""
    return _report(request, "hotline")


def _report(request: HttpRequest, channel: str) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)
    household = None
    hid = request.GET.get("household") or request.POST.get("household")
    if hid and hid.isdigit():
        household = Household.objects.visible_to(request.user).filter(pk=int(hid)).first()
    form = {k: request.POST.get(k, "") for k in ("summary", "area_code", "ticket_no", "name",
                                                  "phone", "address")}
    error = ""
    if request.method == "POST":
        try:
            w = services.report(by=request.user, channel=channel, summary=form["summary"],
                                household=household, area_code=form["area_code"],
                                ticket_no=form["ticket_no"], name=form["name"],
                                phone=form["phone"], address=form["address"])
            messages.success(request, f"已登记，转{workflow.LEVEL_LABELS[w.handler_level]}核实，"
                                      f"期限 {w.due_on:%Y-%m-%d}")
            return redirect("warning_detail", warning_id=w.pk)
        except (services.MonitoringError, PermissionDenied) as exc:
            error = str(exc)
    return render(request, "doudi/warning_report.html", {
        "channel": channel, "title": "主动发现" if channel == "discovery" else "12345 热线工单",
        "household": household, "form": form, "error": error,
        "villages": [] if household else _village_choices(request.user),
        "today": clock.today()})

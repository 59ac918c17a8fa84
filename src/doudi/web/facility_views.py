"""探访关爱 › 设施: one register of facilities by kind (the kinds declared in
`care.facilities`) with the figures each kind carries, a facility's page with its services and
users, the 敬老院 改造提升 projects, and the towns' annual targets of new nursing-type beds
against what was achieved. Every list downloads as Excel (audited); the forms are for the
holders of `care.manage_institutions`; every row read is the user's area's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from doudi.accounts import roles
from doudi.areas.models import Area, area_names_under
from doudi.areas.scoping import in_scope
from doudi.care import facilities, services
from doudi.care.models import (
    BedTarget,
    Facility,
    FacilityService,
    FacilityUser,
    ImprovementProject,
    Institution,
)
from doudi.core import clock
from doudi.core.money import AmountError, parse_optional_yuan, parse_yuan
from doudi.core.shares import percent, ratio_bp
from doudi.web.access import require_capability
from doudi.web.care_views import person_by_id
from doudi.web.excel import Column, Listing, yuan

FACILITY_FIELDS = ("kind", "name", "area_code", "operator", "capacity", "staff", "floor_area",
                   "address", "opened_on", "note")


def _places(request: HttpRequest) -> dict[str, str]:
    return area_names_under(request.user.scope_prefix)


def _areas(request: HttpRequest):  # noqa: ANN202
    """The towns and villages a facility may be registered in."""
    return Area.objects.filter(code__startswith=request.user.scope_prefix,
                               level__in=(4, 5)).order_by("code")[:800]


def _facility_columns(kind: facilities.Kind | None, places: dict[str, str]) -> list[Column]:
    columns = [Column("名称", lambda f: f.name),
               Column("类型", lambda f: f.get_kind_display()),
               Column("所在区划", lambda f: places.get(f.area_code, f.area_code))]
    facts = kind.facts if kind else tuple(facilities.FACT_LABELS)
    for fact in facts:
        if fact == "operator":
            columns.append(Column("性质", lambda f: f.get_operator_display()))
        else:
            label = kind.capacity_label if kind and fact == "capacity" \
                else facilities.FACT_LABELS[fact]
            columns.append(Column(label, lambda f, fact=fact: getattr(f, fact)))
    columns += [Column("在提供服务项", lambda f: f.services_now)]
    if kind is None or kind.users:
        columns.append(Column("在册服务对象", lambda f: f.users_now))
    columns += [Column("运营中", lambda f: "是" if f.active else "否"),
                Column("投入使用日期", lambda f: f.opened_on),
                Column("地址", lambda f: f.address)]
    return columns


def _figure_rows(figures: dict[str, dict[str, int]]) -> list[dict]:
    rows = []
    for kind in facilities.KINDS.values():
        values = figures[kind.code]
        shown = [(label, percent(values[f]) if f == "coverage_bp" else values[f])
                 for f, label in facilities.figure_columns(kind)]
        rows.append({"kind": kind, "values": values, "shown": shown})
    return rows


FIGURE_COLUMNS = [
    Column("类别", lambda r: r["kind"].group),
    Column("设施类型", lambda r: r["kind"].label),
    Column("设施数", lambda r: r["values"]["facilities"]),
    Column("运营中", lambda r: r["values"]["operating"]),
    Column("床位/名额", lambda r: r["values"]["capacity"]
           if "capacity" in r["kind"].figures else ""),
    Column("工作人员", lambda r: r["values"]["staff"]),
    Column("建筑面积（㎡）", lambda r: r["values"]["floor_area"]
           if "floor_area" in r["kind"].figures else ""),
    Column("在提供服务项", lambda r: r["values"]["services"]),
    Column("在册服务对象", lambda r: r["values"]["users"] if r["kind"].users else ""),
    Column("已覆盖村（社区）", lambda r: r["values"].get("covered_villages", "")),
    Column("村（社区）总数", lambda r: r["values"].get("villages", "")),
    Column("覆盖率", lambda r: percent(r["values"]["coverage_bp"])
           if "coverage_bp" in r["values"] else ""),
]


@login_required
def facilities_page(request: HttpRequest) -> HttpResponse:
    """设施: the figures of every kind, the facilities of one kind, and its register form."""
    require_capability(request, roles.VIEW_REGISTRY)
    kind = facilities.KINDS.get(request.GET.get("kind", "") or request.POST.get("kind", ""))
    error, form = "", {k: request.POST.get(k, "") for k in FACILITY_FIELDS}
    if request.method == "POST":
        try:
            row = services.save_facility(by=request.user, facility=Facility(), **form)
            messages.success(request, f"已登记“{row.name}”")
            return redirect(f"{request.path}?kind={row.kind}")
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    area = request.user.scope_prefix
    today = clock.today()
    figures = services.facility_figures(area, today)
    places = _places(request)
    rows = Facility.objects.visible_to(request.user).annotate(
        services_now=Count("services", distinct=True,
                           filter=Q(services__started_on__lte=today)
                           & (Q(services__ended_on__isnull=True)
                              | Q(services__ended_on__gt=today))),
        users_now=Count("users__person", distinct=True,
                        filter=Q(users__started_on__lte=today)
                        & (Q(users__ended_on__isnull=True) | Q(users__ended_on__gt=today))))
    if kind:
        rows = rows.filter(kind=kind.code)
    listing = Listing(request, rows.order_by("kind", "area_code", "name", "pk"),
                      _facility_columns(kind, places),
                      title=f"设施_{kind.label if kind else '全部'}", object_type="care.facility",
                      params={"kind": kind.code if kind else ""})
    summary = Listing(request, _figure_rows(figures), FIGURE_COLUMNS, key="figures",
                      per_page=len(facilities.KINDS), title="设施统计",
                      object_type="care.facility")
    if listing.exporting:
        return listing.export()
    if summary.exporting:
        return summary.export()
    ratio = services.nursing_bed_ratio(area)
    return render(request, "doudi/facilities.html", {
        **listing.context(), "figures_export_url": summary.context()["export_url"],
        "figure_rows": _figure_rows(figures), "kind": kind, "kinds": facilities.KINDS.values(),
        "places": places, "error": error, "form": form, "areas": _areas(request),
        "operators": Institution.OPERATORS, "ratio": ratio,
        "institutions": Institution.objects.visible_to(request.user).filter(
            active=True).count(),
        "projects": services.project_figures(area),
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS)})


def _facility(request: HttpRequest, facility_id: int) -> Facility:
    require_capability(request, roles.VIEW_REGISTRY)
    row = Facility.objects.visible_to(request.user).filter(pk=facility_id).first()
    if row is None:
        raise Http404("设施不存在或不在您的管辖范围内")
    return row


USER_COLUMNS = [Column("姓名", lambda u: u.person.masked_name),
                Column("身份证号", lambda u: u.person.masked_id),
                Column("接受服务", lambda u: u.service),
                Column("开始日期", lambda u: u.started_on),
                Column("结束日期", lambda u: u.ended_on),
                Column("说明", lambda u: u.note)]


@login_required
def facility_detail(request: HttpRequest, facility_id: int) -> HttpResponse:
    """A facility: its facts, the services it offers, its users (masked); the district's
    officer edits it, adds and stops services, registers users and ends their service."""
    row = _facility(request, facility_id)
    kind = row.kind_info
    error = ""
    if request.method == "POST":
        action, post = request.POST.get("action", ""), request.POST
        try:
            if action == "save":
                services.save_facility(
                    by=request.user, facility=row, active="active" in post,
                    **{k: post.get(k, "") for k in FACILITY_FIELDS if k != "kind"})
                note = "已保存设施信息"
            elif action == "add_service":
                services.add_service(by=request.user, facility=row, name=post.get("name", ""),
                                     mode=post.get("mode", "own"),
                                     started_on=post.get("started_on"),
                                     note=post.get("note", ""))
                note = "已登记服务项目"
            elif action == "end_service":
                service = row.services.filter(pk=post.get("service") or 0).first()
                if service is None:
                    raise services.CareError("请选择服务项目")
                services.end_service(by=request.user, service=service,
                                     ended_on=post.get("ended_on"))
                note = "已停止服务项目"
            elif action == "add_user":
                if not in_scope(request.user, row.area_code, roles.MANAGE_INSTITUTIONS):
                    raise PermissionDenied("设施服务对象由区县民政部门登记")
                person = person_by_id(request, "未找到该身份证号的人员，请先建档")
                services.add_user(by=request.user, facility=row, person=person,
                                  started_on=post.get("started_on"),
                                  service=post.get("service", ""), note=post.get("note", ""))
                note = "已登记服务对象"
            elif action == "end_user":
                use = row.users.filter(pk=post.get("use") or 0).first()
                if use is None:
                    raise services.CareError("请选择服务对象")
                services.end_user(by=request.user, use=use, ended_on=post.get("ended_on"))
                note = "已结束服务"
            else:
                raise services.CareError("请选择要办理的事项")
            messages.success(request, note)
            return redirect("facility_detail", facility_id=row.pk)
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    users = FacilityUser.objects.visible_to(request.user).filter(facility=row).select_related(
        "person").order_by("ended_on", "-started_on", "pk")
    listing = Listing(request, users, USER_COLUMNS, key="users",
                      title=f"设施服务对象_{row.name}", object_type="care.facilityuser")
    if listing.exporting:
        require_capability(request, roles.EXPORT_REGISTRY)
        return listing.export()
    today = clock.today()
    return render(request, "doudi/facility_detail.html", {
        **listing.context("users"), "row": row, "kind": kind, "error": error,
        "place": _places(request).get(row.area_code, row.area_code),
        "services": FacilityService.objects.visible_to(request.user).filter(facility=row)
        .order_by("ended_on", "name"),
        "users_now": users.filter(services.open_on(today)).count(),
        "suggested": kind.services, "modes": FacilityService.MODES, "today": today,
        "operators": Institution.OPERATORS, "areas": _areas(request),
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS),
        "can_export_users": request.user.can(roles.EXPORT_REGISTRY)})


# -- 改造提升 projects ----------------------------------------------------------------------

def _project_columns(places: dict[str, str]) -> list[Column]:
    return [Column("项目名称", lambda p: p.name),
            Column("机构", lambda p: p.institution.name),
            Column("所在区划", lambda p: places.get(p.area_code, p.area_code)),
            Column("计划年度", lambda p: p.year),
            Column("改造内容", lambda p: p.plan),
            Column("预算（元）", lambda p: yuan(p.budget_fen)),
            Column("已支出（元）", lambda p: yuan(p.spent_fen)),
            Column("支出进度", lambda p: percent(ratio_bp(p.spent_fen, p.budget_fen))),
            Column("工程进度（%）", lambda p: p.progress_pct),
            Column("新增护理型床位", lambda p: p.new_nursing_beds),
            Column("状态", lambda p: p.get_status_display()),
            Column("开工日期", lambda p: p.started_on),
            Column("验收日期", lambda p: p.accepted_on)]


PROJECT_FIELDS = ("institution", "name", "plan", "year", "budget", "new_nursing_beds", "note")


def _year(request: HttpRequest) -> int | None:
    text = request.GET.get("year", "").strip()
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else None


@login_required
def improvement_projects(request: HttpRequest) -> HttpResponse:
    """敬老院（特困人员供养服务设施）改造提升: the projects with budget, spending, progress and
    acceptance; the figures by status; a district officer registers a project."""
    require_capability(request, roles.VIEW_REGISTRY)
    form = {k: request.POST.get(k, "") for k in PROJECT_FIELDS}
    homes = Institution.objects.visible_to(request.user).filter(
        kind__in=services.PROJECT_INSTITUTION_KINDS).order_by("area_code", "name")
    error = ""
    if request.method == "POST":
        try:
            home = homes.filter(pk=form["institution"] or 0).first() \
                if form["institution"].isdigit() else None
            if home is None:
                raise services.CareError("请选择敬老院（特困供养服务机构）")
            project = services.save_project(
                by=request.user, project=ImprovementProject(), institution=home,
                name=form["name"], plan=form["plan"], year=form["year"],
                budget_fen=parse_yuan(form["budget"], field="budget", label="预算"),
                new_nursing_beds=form["new_nursing_beds"], note=form["note"])
            messages.success(request, f"已登记改造提升项目“{project.name}”")
            return redirect("improvement_projects")
        except AmountError as exc:
            error = str(exc)
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    year = _year(request)
    status = request.GET.get("status", "")
    rows = ImprovementProject.objects.visible_to(request.user)
    if year:
        rows = rows.filter(year=year)
    if status in facilities.PROJECT_STATES:
        rows = rows.filter(status=status)
    places = _places(request)
    listing = Listing(request, rows.order_by("-year", "area_code", "pk"),
                      _project_columns(places), title="敬老院改造提升项目",
                      object_type="care.improvementproject", related=("institution",),
                      params={"year": str(year or ""), "status": status
                              if status in facilities.PROJECT_STATES else ""})
    if listing.exporting:
        return listing.export()
    return render(request, "doudi/improvement_projects.html", {
        **listing.context(), "figures": services.project_figures(request.user.scope_prefix,
                                                                 year),
        "states": facilities.PROJECT_STATES, "year": year, "status": status, "places": places,
        "homes": homes, "form": form, "error": error, "this_year": clock.today().year,
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS)})


@login_required
def improvement_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """One project: its plan and figures; 开工, progress and spending, 验收通过."""
    require_capability(request, roles.VIEW_REGISTRY)
    project = ImprovementProject.objects.visible_to(request.user).select_related(
        "institution").filter(pk=project_id).first()
    if project is None:
        raise Http404("改造提升项目不存在或不在您的管辖范围内")
    error = ""
    if request.method == "POST":
        post = request.POST
        try:
            spent = parse_optional_yuan(post.get("spent"), field="spent", label="已支出")
            services.advance_project(by=request.user, project=project,
                                     action=post.get("action", ""), day=post.get("day"),
                                     progress=post.get("progress"), spent_fen=spent)
            messages.success(request, "已保存")
            return redirect("improvement_project", project_id=project.pk)
        except AmountError as exc:
            error = str(exc)
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
        project.refresh_from_db()
    steps = [(action, facilities.PROJECT_ACTIONS[action])
             for (state, action) in facilities.PROJECT_STEPS if state == project.status]
    return render(request, "doudi/improvement_project.html", {
        "project": project, "error": error, "steps": steps, "today": clock.today(),
        "states": facilities.PROJECT_STATES,
        "place": _places(request).get(project.area_code, project.area_code),
        "spent_bp": ratio_bp(project.spent_fen, project.budget_fen),
        "changes": project.bed_changes.all(),
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS)})


# -- annual targets of new nursing-type beds ------------------------------------------------

TARGET_COLUMNS = [Column("乡镇（街道）", lambda t: t.name),
                  Column("目标新增护理型床位", lambda t: t.target),
                  Column("已新增护理型床位", lambda t: t.achieved),
                  Column("完成率", lambda t: percent(t.rate_bp)),
                  Column("公办机构床位", lambda t: t.beds),
                  Column("公办机构护理型床位", lambda t: t.nursing_beds),
                  Column("护理型床位占比", lambda t: percent(ratio_bp(t.nursing_beds, t.beds)))]


@login_required
def bed_targets(request: HttpRequest) -> HttpResponse:
    """公办养老机构增加护理型床位年度目标, by town: the target, the new nursing-type beds counted
    from the institutions' dated bed changes, the rate; a district officer sets targets."""
    require_capability(request, roles.VIEW_REGISTRY)
    year = _year(request) or clock.today().year
    error = ""
    if request.method == "POST":
        try:
            services.set_bed_target(by=request.user, town_code=request.POST.get("town", ""),
                                    year=request.POST.get("year", ""),
                                    target=request.POST.get("target", ""),
                                    note=request.POST.get("note", ""))
            messages.success(request, "已保存年度目标")
            return redirect(f"{request.path}?year={request.POST.get('year', '')}")
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    rows = services.bed_targets(request.user.scope_prefix, year)
    listing = Listing(request, rows, TARGET_COLUMNS, per_page=max(len(rows), 1),
                      title=f"护理型床位年度目标_{year}年", object_type="care.bedtarget",
                      params={"year": str(year)})
    if listing.exporting:
        return listing.export()
    total_target = sum(r.target or 0 for r in rows)
    total_done = sum(r.achieved for r in rows)
    return render(request, "doudi/bed_targets.html", {
        **listing.context(), "rows": rows, "year": year, "error": error,
        "totals": {"target": total_target, "achieved": total_done,
                   "rate_bp": ratio_bp(total_done, total_target),
                   "beds": sum(r.beds for r in rows),
                   "nursing_beds": sum(r.nursing_beds for r in rows)},
        "towns": Area.objects.filter(code__startswith=request.user.scope_prefix[:9],
                                     level=4).order_by("code"),
        "years": range(clock.today().year - 3, clock.today().year + 3),
        "targets_set": BedTarget.objects.visible_to(request.user).filter(year=year).count(),
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS)})

"""探访关爱 pages, made for a phone first (a village assistant records visits on the spot): the
visit tasks (mine, overdue by town), the visit form, a visit, a person's care facts, the
children's registers, elderly institutions with their residents and the nursing-bed ratio, and
the home-care services bought each month."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.care import plans, services
from doudi.care.models import (
    CareProfile,
    CrossProvinceCase,
    HomeCareService,
    Institution,
    InstitutionResident,
    Visit,
    VisitPhoto,
    VisitTask,
)
from doudi.core import clock
from doudi.core.money import AmountError, parse_yuan
from doudi.programmes import catalogue
from doudi.registry import queries
from doudi.registry.models import CategoryAssignment, Person
from doudi.web.access import require_capability

CHILD_GROUPS = ("orphan", "de_facto_unsupported", "child_in_hardship", "left_behind_child")


def _tasks(request: HttpRequest):  # noqa: ANN202
    require_capability(request, roles.VIEW_REGISTRY)
    return VisitTask.objects.filter(area_code__startswith=request.user.scope_prefix)


@login_required
@require_GET
def care_home(request: HttpRequest) -> HttpResponse:
    """My visit tasks for this period and the overdue ones; for towns and districts, the
    overdue tasks by town."""
    today = clock.today()
    qs = _tasks(request).select_related("person", "household")
    mine = qs.filter(status=VisitTask.OPEN, owner_code=request.user.scope_prefix)
    if request.GET.get("all"):
        mine = qs.filter(status=VisitTask.OPEN)
    overdue = qs.filter(status=VisitTask.OPEN, due_on__lt=today)
    towns = {c[:9]: n for c, n in Area.objects.filter(
        code__startswith=request.user.scope_prefix[:9], level=4).values_list("code", "name")}
    by_town: dict[str, dict] = defaultdict(lambda: {"open": 0, "overdue": 0, "done": 0})
    for r in qs.filter(due_on__gte=today.replace(day=1) - dt.timedelta(days=92)).values(
            "area_code").annotate(
            open=Count("id", filter=Q(status=VisitTask.OPEN, due_on__gte=today)),
            overdue=Count("id", filter=Q(status=VisitTask.OPEN, due_on__lt=today)),
            done=Count("id", filter=Q(status=VisitTask.DONE))):
        row = by_town[r["area_code"][:9]]
        for k in ("open", "overdue", "done"):
            row[k] += r[k]
    # the tasks of the period running today, by group (特殊困难老年人 and the others)
    current = {r["group"]: r for r in qs.filter(period_start__lte=today, due_on__gte=today)
               .values("group").annotate(total=Count("id"),
                                         done=Count("id", filter=Q(status=VisitTask.DONE)))}
    by_group = [{"code": code, "label": g.label, "visitor": g.visitor,
                 "total": current.get(code, {}).get("total", 0),
                 "done": current.get(code, {}).get("done", 0)}
                for code, g in plans.GROUPS.items()]
    for row in by_group:
        row["open"] = row["total"] - row["done"]
    return render(request, "doudi/care_home.html", {
        "by_group": by_group,
        "tasks": mine.order_by("due_on", "id")[:200], "today": today,
        "overdue_count": overdue.count(),
        "by_town": sorted(({"code": k, "name": towns.get(k, k), **v}
                           for k, v in by_town.items()), key=lambda r: r["code"]),
        "recent": Visit.objects.filter(area_code__startswith=request.user.scope_prefix)
        .select_related("person", "visitor")[:20]})


def _may_read(request: HttpRequest) -> None:
    """Care pages are read by area (registry readers) or by assignment (a visitor's
    persons, care.assignments)."""
    if not (request.user.can(roles.VIEW_REGISTRY) or request.user.can(roles.VIEW_ASSIGNED)):
        raise PermissionDenied("没有此项权限")


def _person(request: HttpRequest, person_id: int, *, assigned: bool = False) -> Person:
    if assigned:
        _may_read(request)
    else:
        require_capability(request, roles.VIEW_REGISTRY)
    person = Person.objects.visible_to(request.user, assigned=assigned).filter(
        pk=person_id).first()
    if person is None:
        raise Http404("人员不存在或不在您的管辖范围内")
    return person


@login_required
def visit_new(request: HttpRequest, person_id: int) -> HttpResponse:
    """The visit form (phone-sized), for an officer of the person's area or a visitor the
    person is assigned to."""
    person = _person(request, person_id, assigned=True)
    if not request.user.can(roles.RECORD_VISIT):
        raise PermissionDenied("无权登记探访")
    form = {k: request.POST.get(k, "") for k in ("visited_on", "seen", "living", "health",
                                                  "safety", "needs", "carer", "place",
                                                  "follow_up", "programme")}
    error = ""
    if request.method == "POST":
        try:
            data = services.VisitInput(
                visited_on=dt.date.fromisoformat(form["visited_on"]), seen=form["seen"],
                living=form["living"], health=form["health"], safety=form["safety"],
                needs=form["needs"], carer=form["carer"] or "na", place=form["place"],
                follow_up=form["follow_up"] or "none", programme=form["programme"])
            photos = [(f.read(), f.name) for f in request.FILES.getlist("photos")]
            visit = services.record_visit(by=request.user, person=person, data=data,
                                          photos=photos)
            if visit.warning_id:
                messages.success(request, "已登记探访，并转镇街核实（主动发现预警）")
            elif visit.application_id:
                messages.success(request, "已登记探访，并启动救助申请")
            else:
                messages.success(request, "已登记探访")
            return redirect("visit_detail", visit_id=visit.pk)
        except ValueError:
            error = "请填写探访日期"
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    tasks = VisitTask.objects.filter(person=person, status=VisitTask.OPEN)
    officer = request.user.can(roles.VIEW_REGISTRY)
    return render(request, "doudi/visit_form.html", {
        "person": person, "form": form, "error": error, "tasks": tasks,
        "today": clock.today(), "carers": Visit.CARER_CHOICES,
        # a visitor writes what is needed; the village and town follow it up
        "follow_ups": Visit.FOLLOW_UP if officer else Visit.FOLLOW_UP[:1],
        "officer": officer, "programmes": catalogue.choices(),
        "programme": form["programme"] or services.DEFAULT_VISIT_PROGRAMME,
        "profile": CareProfile.objects.filter(person=person).first()})


@login_required
@require_GET
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    _may_read(request)
    visit = (Visit.objects.visible_to(request.user, assigned=True)
             .select_related("person", "household", "visitor", "warning", "application")
             .filter(pk=visit_id).first())
    if visit is None:
        raise Http404("探访记录不存在或不在您的管辖范围内")
    return render(request, "doudi/visit_detail.html", {"visit": visit})


@login_required
def care_profile(request: HttpRequest, person_id: int) -> HttpResponse:
    """A person's care facts: risk level, the entrusted carer, guardianship."""
    person = _person(request, person_id)
    profile = CareProfile.objects.filter(person=person).first()
    error = ""
    fields = ("risk_level", "carer_name", "carer_phone", "carer_relation", "guardian_name",
              "guardian_relation", "guardian_phone", "guardian_situation", "child_director",
              "family_planning_special", "note")
    if request.method == "POST":
        try:
            services.save_profile(by=request.user, person=person,
                                  **{k: request.POST.get(k, "") for k in fields})
            messages.success(request, "已保存关爱信息")
            return redirect("care_profile", person_id=person.pk)
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    return render(request, "doudi/care_profile.html", {
        "person": person, "profile": profile, "error": error, "risks": plans.RISK_LEVELS,
        "visits": person.visits.select_related("visitor")[:20],
        "tasks": person.visit_tasks.order_by("-period_start")[:12],
        "can_edit": request.user.can(roles.EDIT_REGISTRY)})


def person_by_id(request: HttpRequest, missing: str) -> Person:
    """The in-area person whose resident ID the form gives (through the registry's one
    look-up by ID, which only users who see full IDs may use)."""
    try:
        person = queries.person_by_id_number(request.user, Person.objects.visible_to(
            request.user), request.POST.get("id_number", ""))
    except queries.SearchRefused as exc:
        raise services.CareError(exc.message) from exc
    if person is None:
        raise services.CareError(missing)
    return person


@login_required
@require_GET
def children(request: HttpRequest) -> HttpResponse:
    """孤儿、事实无人抚养儿童、困境儿童、留守儿童: guardianship and the standard they receive."""
    require_capability(request, roles.VIEW_REGISTRY)
    kind = request.GET.get("kind", "")
    cats = CategoryAssignment.objects.visible_to(request.user).filter(
        category__in=CHILD_GROUPS, end_date__isnull=True, person__isnull=False)
    if kind in CHILD_GROUPS:
        cats = cats.filter(category=kind)
    cats = cats.select_related("person").order_by("category", "area_code")[:500]
    profiles = {p.person_id: p for p in CareProfile.objects.filter(
        person_id__in=[c.person_id for c in cats])}
    standards = _child_standards(request.user.scope_prefix)
    counts = dict(CategoryAssignment.objects.visible_to(request.user).filter(
        category__in=CHILD_GROUPS, end_date__isnull=True).values_list("category")
        .annotate(n=Count("id")))
    return render(request, "doudi/children.html", {
        "rows": [(c, profiles.get(c.person_id), standards.get(c.category)) for c in cats],
        "kinds": [(k, plans.GROUPS[k].label, counts.get(k, 0)) for k in CHILD_GROUPS],
        "kind": kind})


def _child_standards(area_code: str) -> dict[str, int]:
    """The monthly basic-living standard (fen) the rules give each child group in the area
    (the 散居 standard: a child in an institution is not visited at home)."""
    from doudi.policy.services import parameter_set
    from doudi.rules.parameters import engine_value

    day, params, out = clock.today(), parameter_set(), {}
    code = area_code.ljust(6, "0")
    # the rules' child programme: 散居 (community) standard; 事实无人抚养 follow the orphans'
    found = params.find("child.orphan.community", code, day)
    if found is not None:
        out["orphan"] = out["de_facto_unsupported"] = int(engine_value(found))
    return out


@login_required
def institutions(request: HttpRequest) -> HttpResponse:
    """养老机构: beds, nursing-type beds and staff; the district's nursing-bed ratio against its
    target; a district officer registers and updates institutions."""
    require_capability(request, roles.VIEW_REGISTRY)
    area = request.user.scope_prefix
    error = ""
    if request.method == "POST":
        pk = request.POST.get("institution")
        row = Institution.objects.filter(area_code__startswith=area, pk=pk).first() \
            if pk else Institution()
        if row is None:
            raise Http404("养老机构不存在")
        try:
            services.save_institution(by=request.user, institution=row, **{
                k: request.POST.get(k, "") for k in ("name", "kind", "operator", "beds",
                                                      "nursing_beds", "staff", "nursing_staff",
                                                      "address", "area_code", "bed_reason")})
            messages.success(request, f"已保存“{row.name}”")
            return redirect("institution_detail", institution_id=row.pk) if pk \
                else redirect("institutions")
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    rows = Institution.objects.filter(area_code__startswith=area).annotate(
        residents_now=Count("residents", filter=Q(residents__left_on__isnull=True)))
    return render(request, "doudi/institutions.html", {
        "rows": rows, "ratio": services.nursing_bed_ratio(area),
        "public_ratio": services.nursing_bed_ratio(area, public_only=True), "error": error,
        "kinds": Institution.KINDS, "operators": Institution.OPERATORS,
        "towns": Area.objects.filter(code__startswith=area, level__in=(4, 5))
        .order_by("code")[:500],
        "can_edit": request.user.can(roles.MANAGE_INSTITUTIONS)})


@login_required
def institution_detail(request: HttpRequest, institution_id: int) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    row = Institution.objects.filter(area_code__startswith=request.user.scope_prefix,
                                     pk=institution_id).first()
    if row is None:
        raise Http404("养老机构不存在或不在您的管辖范围内")
    error = ""
    if request.method == "POST":
        try:
            person = person_by_id(request, "未找到该身份证号的人员，请先建档")
            services.admit(by=request.user, institution=row, person=person,
                           care_level=request.POST.get("care_level", ""),
                           admitted_on=dt.date.fromisoformat(request.POST.get("admitted_on",
                                                                              "")),
                           concentrated_tekun="concentrated_tekun" in request.POST)
            messages.success(request, "已登记入住")
            return redirect("institution_detail", institution_id=row.pk)
        except ValueError:
            error = "请填写入住日期"
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    residents = row.residents.select_related("person").filter(left_on__isnull=True)
    levels = dict(residents.values_list("care_level").annotate(n=Count("id")))
    return render(request, "doudi/institution_detail.html", {
        "row": row, "residents": residents, "error": error,
        "care_levels": [(k, v, levels.get(k, 0)) for k, v in InstitutionResident.CARE_LEVELS],
        "today": clock.today(), "projects": row.projects.all(),
        "bed_changes": row.bed_changes.all()[:20], "kinds": Institution.KINDS,
        "operators": Institution.OPERATORS,
        "can_edit": in_scope(request.user, row.area_code, roles.MANAGE_INSTITUTIONS)})


@login_required
def home_care(request: HttpRequest) -> HttpResponse:
    """居家养老服务 recorded per month and person."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        try:
            person = person_by_id(request, "未找到该身份证号的人员")
            services.record_home_care(
                by=request.user, person=person,
                month=dt.date.fromisoformat(request.POST.get("month", "") + "-01"),
                provider=request.POST.get("provider", ""), items=request.POST.get("items", ""),
                hours=request.POST.get("hours", ""),
                amount_fen=parse_yuan(request.POST.get("amount"), field="amount",
                                      label="购买服务金额"))
            messages.success(request, "已登记居家养老服务")
            return redirect("home_care")
        except ValueError as exc:
            error = str(exc) if isinstance(exc, AmountError) else "请填写服务月份"
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    rows = HomeCareService.objects.filter(area_code__startswith=request.user.scope_prefix) \
        .select_related("person")[:300]
    return render(request, "doudi/home_care.html", {
        "rows": rows, "error": error, "month": clock.today().strftime("%Y-%m")})


@login_required
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    """The district generates this month's visit tasks (also `doudi care tasks`)."""
    require_capability(request, roles.GENERATE_VISIT_TASKS)
    out = services.generate_tasks(clock.today(), request.user.scope_prefix)
    messages.success(request, f"已生成探访任务 {out.created} 条（已有 {out.existing} 条）")
    return redirect("care_home")


@login_required
def cross_province(request: HttpRequest) -> HttpResponse:
    """孤儿、事实无人抚养儿童认定 跨省通办: cases received for, or sent to, another province."""
    require_capability(request, roles.VIEW_REGISTRY)
    fields = ("direction", "province", "reference", "child_name", "child_id_number", "kind",
              "received_on", "note")
    form = {k: request.POST.get(k, "") for k in fields}
    error = ""
    if request.method == "POST":
        try:
            case = services.record_cross_province(
                by=request.user, **{**form, "received_on": dt.date.fromisoformat(
                    form["received_on"])})
            messages.success(request, "已登记" + ("，并受理儿童基本生活保障申请"
                                                 if case.application_id else ""))
            return redirect("cross_province")
        except ValueError:
            error = "请填写受理/转出日期"
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc)
    rows = CrossProvinceCase.objects.filter(area_code__startswith=request.user.scope_prefix) \
        .select_related("application")[:300]
    return render(request, "doudi/cross_province.html", {
        "rows": rows, "form": form, "error": error, "today": clock.today(),
        "directions": CrossProvinceCase.DIRECTIONS,
        "kinds": CrossProvinceCase._meta.get_field("kind").choices,
        "can_edit": request.user.can(roles.EDIT_REGISTRY)
        and len(request.user.scope_prefix) <= 9})


@login_required
@require_GET
def visit_photo(request: HttpRequest, visit_id: int, photo_id: int) -> HttpResponse:
    """A visit's photo, for those who may see the visit; each view is audited."""
    from doudi.audit import services as audit
    from doudi.audit.models import AuditEvent
    from doudi.casework.attachments import SIGNATURES, storage_path

    _may_read(request)
    photo = (VisitPhoto.objects.visible_to(request.user, assigned=True)
             .filter(visit_id=visit_id, pk=photo_id).select_related("visit").first())
    if photo is None:
        raise Http404("照片不存在或不在您的管辖范围内")
    audit.record(AuditEvent.VIEW, object_type="care.visitphoto", object_id=photo.pk,
                 object_label=f"查看探访照片（{photo.visit}）", area_code=photo.area_code)
    suffix = next(s for _, t, s in SIGNATURES if t == photo.content_type)
    response = HttpResponse(storage_path(photo.sha256, suffix).read_bytes(),
                            content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def visitors(request: HttpRequest) -> HttpResponse:
    """探访人员: for a visitor, the persons assigned to them (masked) with their open tasks;
    for a town or district officer, the assignments of their area, and the form that gives a
    person (`?person=`) to a visitor's account."""
    from doudi.accounts.models import User
    from doudi.accounts.services import accounts_holding
    from doudi.care import assignments
    from doudi.care.models import VISITOR_KINDS, VisitorAssignment

    _may_read(request)
    user, today, error = request.user, clock.today(), ""
    manages = user.can(roles.ASSIGN_VISITORS)
    raw = request.POST.get("person") or request.GET.get("person", "")
    person = (Person.objects.visible_to(user, roles.EDIT_REGISTRY).filter(pk=int(raw)).first()
              if manages and raw.isdigit() else None)
    if request.method == "POST":
        try:
            action = request.POST.get("action", "")
            if action == "assign":
                if person is None:
                    raise services.CareError("请从人员的关爱信息页选择探访对象")
                visitor_id = request.POST.get("visitor", "")
                visitor = (User.objects.filter(pk=int(visitor_id)).first()
                           if visitor_id.isdigit() else None)
                until = request.POST.get("valid_to", "")
                assignments.assign(
                    by=user, visitor=visitor, person=person,
                    visitor_kind=request.POST.get("visitor_kind", ""),
                    valid_from=dt.date.fromisoformat(request.POST.get("valid_from", "")),
                    valid_to=dt.date.fromisoformat(until) if until else None)
                messages.success(request, "已分配探访对象")
                return redirect("visitors")
            if action == "end":
                found = VisitorAssignment.objects.visible_to(user).filter(
                    pk=int(request.POST.get("assignment", "0") or 0)).first()
                if found is None:
                    raise services.CareError("分配不存在或不在您的管辖范围内")
                assignments.end(by=user, assignment=found)
                messages.success(request, "已结束分配")
                return redirect("visitors")
            raise services.CareError("未知操作")
        except ValueError:
            error = "请填写开始日期"
        except (services.CareError, PermissionDenied) as exc:
            error = str(exc) or "无权分配探访对象"
    mine = assignments.active_for(user).select_related("person").order_by("person_id")
    open_tasks = VisitTask.objects.visible_to(user, assigned=True).filter(
        status=VisitTask.OPEN, person_id__in=[a.person_id for a in mine])
    tasks: dict[int, list[VisitTask]] = defaultdict(list)
    for task in open_tasks.order_by("due_on"):
        tasks[task.person_id].append(task)
    running = Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    return render(request, "doudi/visitors.html", {
        "mine": [(a, tasks.get(a.person_id, [])) for a in mine], "today": today,
        "error": error, "manages": manages, "person": person, "kinds": VISITOR_KINDS,
        "rows": VisitorAssignment.objects.visible_to(user).filter(running)
        .select_related("visitor", "person")[:500] if manages else [],
        "accounts": accounts_holding({roles.VIEW_ASSIGNED, roles.RECORD_VISIT},
                                     under=user.scope_prefix or "\0",
                                     without={roles.VIEW_REGISTRY}) if manages else []})

"""Thin views: read through `visible_to`, write through services, render Chinese pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from doudi.accounts import roles
from doudi.accounts.models import User
from doudi.areas.models import Area
from doudi.areas.scoping import by_area
from doudi.audit import labels as audit_labels
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import coverage
from doudi.core import areacode, clock
from doudi.registry import choices, exports, queries, services
from doudi.registry.categories import CATEGORY_CHOICES
from doudi.registry.models import CategoryAssignment, Household, Observation, Person
from doudi.registry.services import RegistryError
from doudi.reports import snapshots
from doudi.web import household_form, registry_forms
from doudi.web.access import render_household, require_capability, visible_household
from doudi.web.errors import add_to_form


def _area_options(user: User) -> list[Area]:
    """The towns and villages under the user's area, for the area filter."""
    if user.area is None:
        return []
    return list(
        Area.objects.filter(code__startswith=user.area.prefix, level__gt=user.area.level,
                            level__lte=min(user.area.level + 2, 5))
        .order_by("code")
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict = {"today": clock.today()}
    if user.can(roles.VIEW_REGISTRY):
        # the area's counts depend on the area (and on reading it by area) only: kept per area
        # for the statistics' staleness, as 统计分析 keeps the month under way
        key = f"home:{user.scope_prefix or '-'}:{by_area(user, roles.VIEW_REGISTRY)}"
        context.update(snapshots.recent(key, lambda: _registry_counts(user, context["today"])))
        context["staleness_minutes"] = settings.DOUDI_STATISTICS_CACHE_SECONDS // 60
        from doudi.casework.services import overdue, work_queue

        queue = work_queue(user)
        context["queue_count"], context["queue_overdue"] = len(queue), overdue(queue)
    if user.can(roles.VIEW_RURAL_WATCH) and not user.can(roles.VIEW_REGISTRY):
        from doudi.registry import rural_watch

        context["rural_totals"] = rural_watch.totals(user.scope_prefix, context["today"])
    if user.can(roles.VIEW_AUDIT):
        context["recent_audit"] = AuditEvent.objects.visible_to(user)[:10]
    if user.can(roles.MANAGE_USERS) or user.can(roles.MANAGE_SECURITY):
        context["user_count"] = User.objects.filter(area__code__startswith=user.area.prefix).count()
    return render(request, "doudi/home.html", context)


def _registry_counts(user: User, today: dt.date) -> dict:
    """The home page's counts of the user's area: households, persons, 在保 and categories."""
    households = Household.objects.visible_to(user)
    # a paid programme's category follows its enrollment: counted by `coverage`, not here
    counted = {p.category for p in coverage.paid_statuses()}
    labels = dict(CATEGORY_CHOICES)
    return {
        "household_count": households.count(),
        "person_count": Person.objects.visible_to(user).count(),
        # 在保 as every page counts it; 低保 and 特困 are those figures, not category counts
        "coverage": [(coverage.FIGURES[k], n, k) for k, n in coverage.totals(
            user.scope_prefix, today).items()],
        "category_counts": [
            (labels[r["category"]], r["n"], r["category"]) for r in
            CategoryAssignment.objects.visible_to(user).filter(end_date__isnull=True)
            .exclude(category__in=counted).values("category").annotate(n=Count("id"))
            .order_by("-n")],
        "by_child": _count_by_child_area(user, households),
        "counted_at": timezone.now(),
    }


def _count_by_child_area(user: User, households) -> list[tuple[Area, int]]:  # noqa: ANN001
    """Households per town (for a district), per village (for a town) and so on."""
    if user.area.level >= areacode.VILLAGE:
        return []
    length = areacode.PREFIX_LENGTH[user.area.level + 1]
    counts = dict(
        households.annotate(child=Substr("area_code", 1, length)).order_by()
        .values("child").annotate(n=Count("id")).values_list("child", "n")
    )
    names = {a.prefix: a for a in Area.objects.filter(prefix__in=list(counts))}
    return sorted(((names[p], n) for p, n in counts.items() if p in names),
                  key=lambda item: item[0].code)


def _filtered_households(request: HttpRequest):  # noqa: ANN202
    g = request.GET
    return queries.search_households(
        Household.objects.visible_to(request.user), q=g.get("q", "").strip(),
        area_prefix=g.get("area", ""), category=g.get("category", ""),
        hukou_type=g.get("hukou", ""), user=request.user,
    )


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    search_error = ""
    try:
        households = _filtered_households(request)
    except queries.SearchRefused as exc:
        households, search_error = Household.objects.none(), exc.message
    paginator = Paginator(households.order_by("number"), settings.DOUDI_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(queries.with_list_columns(
        Household.objects.filter(pk__in=[h.pk for h in page.object_list]).order_by("number")))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "query": query.urlencode(), "areas": _area_options(request.user),
        "categories": CATEGORY_CHOICES, "hukou_choices": choices.HUKOU_CHOICES,
        "category_labels": dict(CATEGORY_CHOICES), "g": request.GET,
        "can_export": request.user.can(roles.EXPORT_REGISTRY),
        "can_edit": request.user.can(roles.EDIT_REGISTRY), "search_error": search_error,
        "can_search_names": request.user.can(roles.VIEW_FULL_PII),
    }
    template = "doudi/_household_rows.html" if request.htmx else "doudi/household_list.html"
    return render(request, template, context)


@login_required
def household_export(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.EXPORT_REGISTRY)
    households = queries.with_list_columns(_filtered_households(request).order_by("number"))
    content, count = exports.households_xlsx(households)
    audit.record(
        AuditEvent.EXPORT, object_type="registry.household",
        object_label=f"导出家庭名单 {count} 户（脱敏）", area_code=request.user.area.code,
        changes={"filters": request.GET.dict(), "rows": count},
    )
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''households-{clock.today():%Y%m%d}.xlsx"
    )
    return response


def _villages_for(user: User) -> list[Area]:
    return list(Area.objects.filter(code__startswith=user.area.prefix, level=areacode.VILLAGE)
                .select_related("parent").order_by("code"))


@login_required
def household_new(request: HttpRequest) -> HttpResponse:
    """登记家庭: household and members in one form; errors keep everything typed."""
    require_capability(request, roles.EDIT_REGISTRY)
    villages = _villages_for(request.user)
    form = {"area_code": villages[0].code if len(villages) == 1 else "",
            "hukou_type": "", "address": ""}
    rows = [household_form.blank_row()]
    general: list[str] = []
    per_row: dict[int, list[str]] = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in ("area_code", "hukou_type", "address")}
        rows = household_form.member_rows(request) or rows
        members, errors = household_form.to_members(rows)
        if not errors:
            try:
                household = services.create_household(
                    by=request.user, area_code=form["area_code"], hukou_type=form["hukou_type"],
                    address=form["address"], members=members,
                )
            except RegistryError as exc:
                errors = exc.errors
            else:
                messages.success(request, f"已登记家庭 {household.number}")
                return redirect("household_detail", household_id=household.pk)
        general, per_row = household_form.errors_by_row(errors)
    return render(request, "doudi/household_form.html", {
        "villages": villages, "form": form,
        "rows": [(i, row, per_row.get(i, [])) for i, row in enumerate(rows)],
        "general_errors": general, **household_form.CHOICES,
    })


@login_required
def household_member_row(request: HttpRequest) -> HttpResponse:
    """One more empty member row for the 登记家庭 form (htmx)."""
    require_capability(request, roles.EDIT_REGISTRY)
    try:
        index = min(int(request.GET.get("i", "1")), household_form.MAX_MEMBERS - 1)
    except ValueError:
        index = 1
    return render(request, "doudi/_member_row.html", {
        "i": index, "row": household_form.blank_row("child"), "row_errors": [],
        **household_form.CHOICES,
    })


@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    """家庭档案: the panels the apps registered (doudi.web.household_page)."""
    require_capability(request, roles.VIEW_REGISTRY)
    return render_household(request, visible_household(request, household_id))


def _editable_household(request: HttpRequest, household_id: int) -> Household:
    require_capability(request, roles.EDIT_REGISTRY)
    return visible_household(request, household_id)


def _submit(request: HttpRequest, household: Household, form: object, form_key: str,
            act: Callable[[dict], object], done: str) -> HttpResponse:
    """Validate, call the service, redirect on success; otherwise show the household page
    again with the form as typed and the reasons (nothing the user entered is lost)."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except RegistryError as exc:
            add_to_form(form, exc)
        else:
            messages.success(request, done)
            return redirect("household_detail", household_id=household.pk)
    return render_household(request, household, **{form_key: form})


@login_required
@require_POST
def household_observation_add(request: HttpRequest, household_id: int) -> HttpResponse:
    """记录经济状况: a new dated row of a current member or of the household."""
    household = _editable_household(request, household_id)
    form = registry_forms.ObservationForm(request.POST,
                                          members=list(household.current_memberships()))
    return _submit(request, household, form, "observation_form", lambda _: (
        services.record_observation(by=request.user, household=household,
                                    **form.service_kwargs())), "已记录经济状况")


def _change_fact(request: HttpRequest, household: Household, form: forms.Form,
                 act: Callable[[Observation, dict], object], done: str) -> HttpResponse:
    """更正 or 终止 one of the household's facts; a refusal shows the page with the reasons."""
    errors: list[str] = []
    if form.is_valid():
        row = Observation.objects.visible_to(request.user).filter(
            household=household, pk=form.cleaned_data["observation_id"]).first()
        if row is None:
            errors.append("该记录不存在或不在您的管辖范围内")
        else:
            try:
                act(row, form.cleaned_data)
            except RegistryError as exc:
                errors += exc.messages
            else:
                messages.success(request, done)
                return redirect("household_detail", household_id=household.pk)
    else:
        errors += [f"{form.fields[k].label or ''}：{'；'.join(v)}" if k in form.fields
                   else "；".join(v) for k, v in form.errors.items()]
    return render_household(request, household, fact_errors=errors)


@login_required
@require_POST
def household_observation_correct(request: HttpRequest, household_id: int) -> HttpResponse:
    """更正经济状况: a new row supersedes the wrong one, with the reason; both are kept."""
    household = _editable_household(request, household_id)
    form = registry_forms.CorrectObservationForm(
        request.POST, members=list(household.current_memberships()))
    return _change_fact(request, household, form, lambda row, data: (
        services.correct_observation(
            by=request.user, observation=row, reason=data["reason"],
            amount_fen=data["amount_yuan"], quantity=data["quantity"],
            person=form.person())),
        "已更正经济状况，原记录保留在历史中")


@login_required
@require_POST
def household_observation_end(request: HttpRequest, household_id: int) -> HttpResponse:
    """终止经济状况: the fact stops counting from the day given."""
    household = _editable_household(request, household_id)
    form = registry_forms.EndObservationForm(request.POST)
    return _change_fact(request, household, form, lambda row, data: (
        services.end_observation(by=request.user, observation=row,
                                 ended_on=data["ended_on"], reason=data["reason"])),
        "已终止经济状况")


@login_required
@require_POST
def household_category_add(request: HttpRequest, household_id: int) -> HttpResponse:
    """认定类别 for the household or one of its current members."""
    household = _editable_household(request, household_id)
    current = list(household.current_memberships())

    def assign(data: dict) -> object:
        person = form.person()
        return services.assign_category(
            by=request.user, category=data["category"], start_date=data["start_date"],
            household=household if person is None else None, person=person, note=data["note"])

    form = registry_forms.CategoryForm(request.POST, members=current)
    return _submit(request, household, form, "category_form", assign, "已认定类别")


@login_required
@require_POST
def household_category_end(request: HttpRequest, household_id: int) -> HttpResponse:
    """终止类别 shown on this household's page."""
    household = _editable_household(request, household_id)
    form = registry_forms.EndCategoryForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        row = CategoryAssignment.objects.visible_to(request.user).filter(
            Q(household=household) | Q(person__memberships__household=household,
                                       person__memberships__end_date__isnull=True),
            pk=form.cleaned_data["category_id"]).first()
        if row is None:
            errors.append("该类别不存在或不在您的管辖范围内")
        else:
            try:
                services.end_category(by=request.user, assignment=row,
                                      end_date=form.cleaned_data["end_date"],
                                      note=form.cleaned_data["note"])
            except RegistryError as exc:
                errors += exc.messages
            else:
                messages.success(request, "已终止类别")
                return redirect("household_detail", household_id=household.pk)
    else:
        errors.append("请填写终止日期")
    return render_household(request, household, end_form_errors=errors)


@login_required
@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    person = Person.objects.visible_to(request.user).filter(pk=person_id).first()
    if person is None:
        raise Http404("人员不存在或不在您的管辖范围内")
    full = services.reveal_person(by=request.user, person=person)
    return render(request, "doudi/_person_full.html", {"person": person, "full": full})


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_AUDIT)
    g = request.GET
    events = AuditEvent.objects.visible_to(request.user)
    if g.get("actor"):
        events = events.filter(actor_name=g["actor"].strip())
    if g.get("action"):
        events = events.filter(action=g["action"])
    if g.get("object_type"):
        events = events.filter(object_type=g["object_type"])
    for key, lookup in (("since", "at__date__gte"), ("until", "at__date__lte")):
        try:
            if g.get(key):
                events = events.filter(**{lookup: dt.date.fromisoformat(g[key])})
        except ValueError:
            pass
    paginator = Paginator(events, 50)
    query = g.copy()
    query.pop("page", None)
    return render(request, "doudi/audit_list.html", {
        "page": paginator.get_page(g.get("page")), "g": g, "query": query.urlencode(),
        "actions": AuditEvent.ACTION_CHOICES,
        "object_types": [(t, audit_labels.label(t)) for t in sorted(set(
            AuditEvent.objects.visible_to(request.user)
            .values_list("object_type", flat=True).distinct()))],
    })

"""社会力量 and 基层治理 pages: the register of organisations (with workers, projects, 结对帮扶)
and what each delivered by town; needs published from a household and an organisation's
queue (masked: no name, no number, only the village); consultations; points ledgers."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from doudi.accounts import roles
from doudi.areas.models import Area, area_names
from doudi.areas.scoping import along_chain
from doudi.community import services
from doudi.community.models import (
    DONATION_KINDS,
    NEED_KINDS,
    ORG_KINDS,
    Consultation,
    Donation,
    Need,
    Organisation,
    PointBalance,
    PointRule,
    Worker,
)
from doudi.core import clock
from doudi.core.excel import one_sheet
from doudi.core.money import AmountError, parse_optional_yuan, parse_whole
from doudi.registry import queries
from doudi.registry.models import Household
from doudi.web.access import require_capability
from doudi.web.excel import download


def _village_names(codes: set[str]) -> dict[str, str]:
    return dict(Area.objects.filter(code__in=codes).values_list("code", "name"))


@login_required
def organisations(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    error = ""
    if request.method == "POST":
        try:
            row = services.save_organisation(by=request.user, organisation=Organisation(), **{
                k: request.POST.get(k, "") for k in ("name", "kind", "credit_code", "contact",
                                                      "phone", "services", "area_code")})
            messages.success(request, f"已登记“{row.name}”")
            return redirect("organisations")
        except (services.CommunityError, PermissionDenied) as exc:
            error = str(exc)
    rows = services.organisations_for(scope).annotate(
        workers_n=Count("workers", distinct=True), projects_n=Count("projects", distinct=True),
        pairings_n=Count("pairings", distinct=True))
    if request.GET.get("format") == "xlsx":
        return download(organisations_xlsx(rows), "社会力量.xlsx")
    towns = dict((c[:9], n) for c, n in Area.objects.filter(
        code__startswith=scope[:6], level=4).values_list("code", "name"))
    return render(request, "doudi/organisations.html", {
        "rows": rows, "error": error, "kinds": ORG_KINDS,
        "delivered": services.delivered_by_town(scope), "towns": towns,
        "areas": [(code[:6] if level == 3 else code[:9], name) for code, name, level in
                  Area.objects.filter(code__startswith=scope, level__in=(3, 4))
                  .order_by("code").values_list("code", "name", "level")],
        "can_edit": request.user.can(roles.EDIT_REGISTRY) and len(scope) <= 9})


def parse_signed_points(raw: str) -> int:
    """积分 of a rule: a whole number, negative for a deduction, within ±100000."""
    raw = (raw or "").strip()
    sign = -1 if raw.startswith("-") else 1
    return sign * parse_whole(raw.lstrip("+-") or "0", field="points", label="分值",
                              maximum=100_000)


def _digits(raw: str) -> int:
    return int(raw) if raw.isdigit() else 0


@login_required
def needs(request: HttpRequest) -> HttpResponse:
    """Needs in the staff's area; for an organisation's account, the needs published to it,
    masked, with 认领 and 反馈."""
    if request.user.can(roles.SERVE_NEEDS):
        error = ""
        if request.method == "POST":
            raw_id = request.POST.get("need", "")
            need = services.queue(request.user).filter(
                pk=int(raw_id) if raw_id.isdigit() else 0).first()
            try:
                if need is None:
                    raise services.CommunityError("该需求未发布给本组织")
                if request.POST.get("action") == "take":
                    services.take(by=request.user, need=need)
                else:
                    raw = request.POST.get("delivered", "").strip()
                    services.complete(by=request.user, need=need,
                                      outcome=request.POST.get("outcome", ""),
                                      delivered_fen=parse_optional_yuan(
                                          raw, field="delivered", label="帮扶金额"))
                return redirect("needs")
            except (services.CommunityError, PermissionDenied, ValueError) as exc:
                error = str(exc)
        rows = list(services.queue(request.user))
        villages = _village_names({n.area_code for n in rows})
        return render(request, "doudi/needs_queue.html", {
            "rows": [(n, villages.get(n.area_code, n.area_code[:9])) for n in rows],
            "organisation": services.organisation_of(request.user), "error": error})
    require_capability(request, roles.VIEW_REGISTRY)
    rows = Need.objects.visible_to(request.user).select_related("household", "taken_by") \
        .prefetch_related("organisations")[:300]
    return render(request, "doudi/needs.html", {"rows": rows})


@login_required
def need_new(request: HttpRequest, household_id: int) -> HttpResponse:
    """救助需求统一发布 from a household (with the family's consent)."""
    require_capability(request, roles.EDIT_REGISTRY)
    household = Household.objects.visible_to(request.user).filter(pk=household_id).first()
    if household is None:
        raise Http404("家庭不存在或不在您的管辖范围内")
    choices = services.organisations_for(household.area_code)
    form = {k: request.POST.get(k, "") for k in ("kind", "summary", "amount", "consent_on")}
    error = ""
    if request.method == "POST":
        try:
            services.publish(
                by=request.user, household=household, kind=form["kind"],
                summary=form["summary"],
                organisations=list(choices.filter(pk__in=request.POST.getlist("orgs"))),
                consent_on=(dt.date.fromisoformat(form["consent_on"]) if form["consent_on"]
                            else None),
                amount_fen=parse_optional_yuan(form["amount"], field="amount",
                                               label="所需金额"))
            messages.success(request, "已发布救助需求")
            return redirect("household_detail", household_id=household.pk)
        except (services.CommunityError, PermissionDenied, ValueError) as exc:
            error = str(exc)
    return render(request, "doudi/need_form.html", {
        "household": household, "orgs": choices, "kinds": NEED_KINDS, "form": form,
        "error": error, "today": clock.today()})


DONATION_FIELDS = ("direction", "organisation", "household", "kind", "amount", "goods",
                   "value", "donated_on", "note", "area_code")


@login_required
def donations(request: HttpRequest) -> HttpResponse:
    """慈善资金/物资: what the area received from social forces and gave to households, per
    organisation and listed (?month=YYYY-MM narrows the list); towns and districts record
    both (`community.record_donation`)."""
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    form = {k: request.POST.get(k, request.GET.get(k, "")) for k in DONATION_FIELDS}
    error = ""
    if request.method == "POST":
        try:
            organisation = services.organisations_for(scope).filter(
                pk=_digits(form["organisation"])).first()
            if organisation is None:
                raise services.CommunityError("请选择社会力量", field="organisation")
            values = {
                "organisation": organisation, "kind": form["kind"], "note": form["note"],
                "donated_on": (dt.date.fromisoformat(form["donated_on"])
                               if form["donated_on"] else None),
                "amount_fen": parse_optional_yuan(form["amount"], field="amount",
                                                  label="资金金额"),
                "goods": form["goods"],
                "value_fen": parse_optional_yuan(form["value"], field="value",
                                                 label="物资估值")}
            if form["direction"] == Donation.GIVEN:
                household = Household.objects.visible_to(request.user).filter(
                    number=form["household"].strip()).first()
                if household is None:
                    raise services.CommunityError("家庭编号不存在或不在您的管辖范围内",
                                                  field="household")
                row = services.record_given(by=request.user, household=household, **values)
            else:
                row = services.record_received(by=request.user,
                                               area_code=form["area_code"] or scope, **values)
            messages.success(request, f"已登记：{row}")
            return redirect("donations")
        except (services.CommunityError, PermissionDenied, ValueError) as exc:
            error = str(exc) or "无权登记"
    rows = Donation.objects.visible_to(request.user).select_related("organisation",
                                                                    "household")
    month = request.GET.get("month", "")
    try:
        first = dt.date.fromisoformat(month + "-01") if month else None
    except ValueError:
        first = None
    if first is not None:
        rows = rows.filter(donated_on__year=first.year, donated_on__month=first.month)
    return render(request, "doudi/donations.html", {
        "rows": rows[:300], "by_organisation": services.donations_by_organisation(rows),
        "month": first, "form": form, "error": error, "kinds": DONATION_KINDS,
        "organisations": services.organisations_for(scope),
        "areas": [(code[:6] if level == 3 else code[:9], name) for code, name, level in
                  Area.objects.filter(code__startswith=scope, level__in=(3, 4))
                  .order_by("code").values_list("code", "name", "level")],
        "can_record": request.user.can(roles.RECORD_DONATION) and len(scope) <= 9,
        "today": clock.today()})


@login_required
def consultations(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    error = ""
    if request.method == "POST":
        try:
            follow = []
            for i in range(3):
                task = request.POST.get(f"task_{i}", "").strip()
                if task:
                    follow.append((task, request.POST.get(f"owner_{i}", ""),
                                   dt.date.fromisoformat(request.POST.get(f"due_{i}", ""))))
            services.record_consultation(
                by=request.user, area_code=request.POST.get("area_code", scope),
                held_on=dt.date.fromisoformat(request.POST.get("held_on", "")),
                topic=request.POST.get("topic", ""),
                participants=request.POST.get("participants", ""),
                outcome=request.POST.get("outcome", ""), follow_ups=follow)
            messages.success(request, "已登记议事协商")
            return redirect("consultations")
        except ValueError:
            error = "请填写日期（落实事项须填写期限）"
        except (services.CommunityError, PermissionDenied) as exc:
            error = str(exc)
    rows = Consultation.objects.visible_to(request.user).prefetch_related("follow_ups")[:200]
    return render(request, "doudi/consultations.html", {
        "rows": rows, "error": error, "today": clock.today(),
        "villages": Area.objects.filter(code__startswith=scope, level=5).order_by("code")[:500],
        "counts": Consultation.objects.visible_to(request.user).aggregate(
            n=Count("id"), tasks=Count("follow_ups"))})


@login_required
def points(request: HttpRequest) -> HttpResponse:
    """村规民约积分制: the rules of the area and each household's ledger balance."""
    require_capability(request, roles.VIEW_REGISTRY)
    scope = request.user.scope_prefix
    error = ""
    if request.method == "POST" and request.POST.get("action") == "rule":
        try:
            services.add_rule(by=request.user, code=request.POST.get("code", ""),
                              name=request.POST.get("name", ""),
                              points=parse_signed_points(request.POST.get("points", "")))
            return redirect("points")
        except ValueError:
            error = "分值应为整数"
        except (services.CommunityError, PermissionDenied) as exc:
            error = str(exc)
    elif request.method == "POST":
        try:
            household = queries.household_by_number(
                request.user, request.POST.get("household_number", ""), roles.EDIT_REGISTRY)
            rule = PointRule.objects.filter(along_chain(scope), active=True,
                                            pk=_digits(request.POST.get("rule", ""))).first()
            if household is None:
                raise services.CommunityError(queries.NOT_FOUND_HERE)
            if rule is None:
                raise services.CommunityError("请选择积分事项")
            services.add_points(by=request.user, household=household, rule=rule,
                                occurred_on=dt.date.fromisoformat(request.POST.get("day", "")),
                                note=request.POST.get("note", ""))
            messages.success(request, "已登记积分")
            return redirect("points")
        except ValueError:
            error = "请填写日期"
        except (services.CommunityError, PermissionDenied) as exc:
            error = str(exc)
    rules = PointRule.objects.filter(along_chain(scope), active=True)
    balances = PointBalance.objects.filter(area_code__startswith=scope) \
        .select_related("household").order_by("-balance")[:200]
    return render(request, "doudi/points.html", {
        "rules": rules, "balances": balances, "error": error,
        "today": clock.today(), "places": area_names([r.area_code for r in rules]),
        "total": PointBalance.objects.filter(area_code__startswith=scope).aggregate(
            households=Count("id"), points=Sum("balance"))})


@login_required
def organisation_detail(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """An organisation with its workers (社工, 志愿者), projects and 结对帮扶; towns and
    districts add to them."""
    require_capability(request, roles.VIEW_REGISTRY)
    row = services.organisations_for(request.user.scope_prefix).filter(
        pk=organisation_id).first()
    if row is None:
        raise Http404("社会力量不存在或不在您的管辖范围内")
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "worker":
                services.add_worker(by=request.user, organisation=row,
                                    name=request.POST.get("name", ""),
                                    kind=request.POST.get("kind", ""),
                                    certificate=request.POST.get("certificate", ""),
                                    hours=request.POST.get("hours", "0"))
            elif action == "project":
                services.add_project(
                    by=request.user, organisation=row, name=request.POST.get("name", ""),
                    budget_fen=parse_optional_yuan(request.POST.get("budget"),
                                                   field="budget", label="项目资金") or 0,
                    starts_on=dt.date.fromisoformat(request.POST.get("starts_on", "")),
                    description=request.POST.get("description", ""))
            elif action == "pairing":
                services.add_pairing(
                    by=request.user, organisation=row, county=request.POST.get("county", ""),
                    since=dt.date.fromisoformat(request.POST.get("since", "")),
                    content=request.POST.get("content", ""))
            else:
                raise services.CommunityError("未知操作")
            return redirect("organisation_detail", organisation_id=row.pk)
        except ValueError as exc:
            error = str(exc) if isinstance(exc, AmountError) else "请填写日期"
        except (services.CommunityError, PermissionDenied) as exc:
            error = str(exc)
    return render(request, "doudi/organisation_detail.html", {
        "row": row, "workers": row.workers.all(), "projects": row.projects.all(),
        "pairings": row.pairings.all(), "error": error, "kinds": Worker.KINDS,
        "today": clock.today(),
        "can_edit": request.user.can(roles.EDIT_REGISTRY)
        and len(request.user.scope_prefix) <= 9})


def organisations_xlsx(rows) -> bytes:  # noqa: ANN001
    return one_sheet("社会力量", ["名称", "类型", "区划代码", "统一社会信用代码", "联系人",
                                 "服务领域", "社工/志愿者", "项目", "结对帮扶"],
                     ([o.name, o.get_kind_display(), o.area_code, o.credit_code, o.contact,
                       o.services, o.workers_n, o.projects_n, o.pairings_n] for o in rows))

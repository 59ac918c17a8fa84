"""资金发放 pages: payment runs (build, review, bank file, bank result), failed payments, and an
enrollment with its changes and payments."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.areas.models import Area, area_names, area_names_under
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import (
    bank_files,
    bank_layouts,
    banks,
    one_off,
    payees,
    recalculation,
    reviews,
    services,
    spending,
)
from doudi.benefits.models import (
    BankLayout,
    Enrollment,
    EnrollmentEvent,
    OneOffPayment,
    PayeeChange,
    PaymentLine,
    PaymentRun,
    Recalculation,
    ReviewTask,
)
from doudi.core import clock
from doudi.core.excel import new_workbook
from doudi.core.masking import mask_name
from doudi.core.money import BUDGET_MAX_FEN, MONTHLY_MAX_FEN, parse_optional_yuan, parse_yuan
from doudi.core.shares import percent
from doudi.programmes import catalogue
from doudi.web.access import require_capability
from doudi.web.excel import Column, Listing, search_households, yuan


def _runs(request: HttpRequest):  # noqa: ANN202
    return PaymentRun.objects.visible_to(request.user).select_related("built_by", "approved_by")


@login_required
def payments(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        try:
            month = dt.date.fromisoformat(request.POST.get("month", "") + "-01")
            built = services.build_run(by=request.user, month=month,
                                       area_code=request.user.area_code)
            messages.success(request, f"已生成 {built.run}：{built.lines} 人次")
            return redirect("payment_run", run_id=built.run.pk)
        except ValueError:
            error = "请选择发放月份"
        except (PermissionDenied, services.BenefitsError) as exc:
            error = str(exc) or "无权生成花名册"
    return render(request, "doudi/payments.html", {
        "runs": _runs(request)[:36], "error": error,
        "month": clock.today().strftime("%Y-%m"),
        "can_build": request.user.can(roles.BUILD_RUN),
        "failed": PaymentLine.objects.visible_to(request.user)
        .filter(status=PaymentLine.FAILED).count(),
        "payee_pending": PayeeChange.objects.visible_to(request.user)
        .filter(status=PayeeChange.PENDING).count()})


def _run(request: HttpRequest, run_id: int) -> PaymentRun:
    require_capability(request, roles.VIEW_REGISTRY)
    run = _runs(request).filter(pk=run_id).first()
    if run is None:
        raise Http404("发放批次不存在或不在您的管辖范围内")
    return run


def _roster_columns(run: PaymentRun, places: dict[str, str]) -> list[Column]:
    """花名册 as the page lists it: before approval the payee in force, afterwards the payee
    the line froze when approved; names and accounts masked."""
    draft = run.status in (PaymentRun.DRAFT, PaymentRun.RETURNED)
    return [
        Column("家庭编号", lambda ln: ln.enrollment.household.number),
        Column("镇街", lambda ln: places.get(ln.area_code[:9], "")),
        Column("村（社区）", lambda ln: places.get(ln.area_code, "")),
        Column("项目", lambda ln: ln.enrollment.programme_label),
        Column("收款人", lambda ln: mask_name(ln.enrollment.payee_name if draft
                                              else ln.payee_name)),
        Column("账号", lambda ln: ln.enrollment.masked_account if draft
               else ln.masked_account),
        Column("当月（元）", lambda ln: yuan(ln.regular_fen)),
        Column("补发（元）", lambda ln: yuan(ln.arrears_fen)),
        Column("追回（元）", lambda ln: yuan(ln.recovery_fen)),
        Column("实发（元）", lambda ln: yuan(ln.total_fen)),
        Column("状态", lambda ln: ln.get_status_display()
               + (f"（{ln.failure}）" if ln.failure else "")),
    ]


def _comparison_columns(places: dict[str, str]) -> list[Column]:
    """与上月比较 as the approval page shows it: per town and programme, for each kind of
    change, households, persons and amount."""
    names = catalogue.labels()
    columns = [Column("镇街", lambda r: places.get(r["town"], r["town"])),
               Column("项目", lambda r: names.get(r["programme"], r["programme"]))]
    for kind, label in services.CHANGE_KINDS.items():
        columns += [
            Column(f"{label}户数", lambda r, k=kind: r[k]["households"]),
            Column(f"{label}人数", lambda r, k=kind: r[k]["persons"]),
            Column(f"{label}金额（元）", lambda r, k=kind: yuan(r[k]["amount_fen"]))]
        if kind == "changed":
            columns.append(Column("变化前金额（元）", lambda r: yuan(r["changed"]["before_fen"])))
    return columns


def roster_filters(request: HttpRequest, run: PaymentRun):  # noqa: ANN201
    """The run's lines under the page's filters (区划, 项目, 状态, 家庭), and the refusal of
    a search the user may not make ("" when none)."""
    g = request.GET
    lines = run.month_lines()
    area = g.get("area", "")
    if area.isdigit() and len(area) in (9, 12):
        lines = lines.filter(area_code__startswith=area)
    if catalogue.is_programme(g.get("programme", "")):
        lines = lines.filter(enrollment__programme=g["programme"])
    if g.get("status", "") in dict(PaymentLine.STATUS_CHOICES):
        lines = lines.filter(status=g["status"])
    return search_households(request, lines, "enrollment__household")


def _render_run(request: HttpRequest, run: PaymentRun, error: str = "",
                confirm_opinion: str = "") -> HttpResponse:
    places = area_names_under(request.user.scope_prefix)
    lines, search_error = roster_filters(request, run)
    listing = Listing(request, lines.order_by("id"), _roster_columns(run, places),
                      title=f"{run.month:%Y年%m月}发放花名册", object_type="benefits.paymentline",
                      related=("enrollment", "enrollment__household"))
    if listing.exporting:
        return listing.export()
    held = (run.lines.filter(status=PaymentLine.AWAITING_ACCOUNT)
            .select_related("enrollment", "enrollment__household").order_by("id"))
    comparison = services.compare_to_previous(run)
    summary = Listing(request, comparison["rows"], _comparison_columns(places),
                      title=f"{run.month:%Y年%m月}发放批次与上月比较",
                      object_type="benefits.paymentrun", key="summary")
    if summary.exporting:
        return summary.export()
    return render(request, "doudi/payment_run.html", {
        **listing.context(), "run": run, "error": error, "search_error": search_error,
        "layouts": bank_files.layouts_for(request.user), "held": held[:200],
        "g": request.GET, "statuses": PaymentLine.STATUS_CHOICES,
        "programme_choices": catalogue.choices(), "programmes": catalogue.labels(),
        "areas": Area.objects.filter(code__startswith=request.user.scope_prefix or "-",
                                     level__in=(4, 5)).order_by("code"),
        "towns": places, "comparison": comparison,
        "events": run.events.select_related("by"),
        "can_approve": request.user.can(roles.APPROVE_RUN)
        and run.built_by_id != request.user.pk,
        "can_return": request.user.can(roles.RETURN_RUN)
        and run.built_by_id != request.user.pk,
        "can_rebuild": request.user.can(roles.BUILD_RUN),
        "confirm_opinion": confirm_opinion, "kinds": services.CHANGE_KINDS,
        "summary_export_url": summary.context("summary")["summary_export_url"],
        "can_export": request.user.can(roles.EXPORT_BANK_FILE)})


@login_required
@require_GET
def payment_run(request: HttpRequest, run_id: int) -> HttpResponse:
    return _render_run(request, _run(request, run_id))


@login_required
@require_POST
def payment_run_act(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    action = request.POST.get("action", "")
    try:
        if action == "approve":
            opinion = request.POST.get("opinion", "")
            if not opinion.strip():
                raise services.BenefitsError("请填写审核意见")
            if request.POST.get("confirm") != "1":  # the confirmation step: totals and changes
                services.check_checker(request.user, run, "审核", roles.APPROVE_RUN)
                return _render_run(request, run, confirm_opinion=opinion.strip())
            services.approve_run(by=request.user, run=run, opinion=opinion)
            messages.success(request, f"已审核锁定{run}")
        elif action == "return":
            services.return_run(by=request.user, run=run, reason=request.POST.get("reason", ""))
            messages.success(request, f"已退回{run}，由生成人重新生成后再审核")
        elif action == "rebuild":
            if run.status != PaymentRun.RETURNED:
                raise services.BenefitsError("只有已退回的批次需要重新生成")
            built = services.build_run(by=request.user, month=run.month,
                                       area_code=run.area_code)
            messages.success(request, f"已重新生成{built.run}：{built.lines} 人次，待审核")
        elif action == "bank_file":
            data, name, content_type = bank_files.bank_file(
                by=request.user, run=run, layout=request.POST.get("layout", "default"))
            response = HttpResponse(data, content_type=content_type)
            response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
            return response
        elif action == "bank_result":
            upload = request.FILES.get("file")
            if upload is None:
                raise services.BenefitsError("请选择银行回盘文件")
            counts = bank_files.bank_result(by=request.user, run=run, data=upload.read())
            messages.success(request, f"回盘：成功 {counts['paid']}，失败 {counts['failed']}，"
                                      f"无法对应 {counts['unknown']}")
        else:
            raise services.BenefitsError("未知操作")
    except (PermissionDenied, services.BenefitsError) as exc:
        return _render_run(request, run, str(exc) or "无权执行此操作")
    return redirect("payment_run", run_id=run.pk)


@login_required
def one_off_payments(request: HttpRequest) -> HttpResponse:
    """一次性救助发放 (临时救助): the one-off payments in the user's area by status; the bank
    ones a second person approved are written to a bank file here and settled with the bank's
    answer (cash and 实物 are recorded as paid on the case's page)."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        layout = request.POST.get("layout", "default")
        area = request.user.scope_prefix or "-"
        try:
            if request.POST.get("action") == "bank_file":
                data, name, content_type, _ = one_off.bank_file(by=request.user, area_code=area,
                                                                layout=layout)
                response = HttpResponse(data, content_type=content_type)
                response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
                return response
            upload = request.FILES.get("file")
            if upload is None:
                raise services.BenefitsError("请选择银行回盘文件")
            counts = one_off.bank_result(by=request.user, area_code=area, data=upload.read(),
                                         layout=layout)
            messages.success(request, f"回盘：成功 {counts['paid']}，失败 {counts['failed']}，"
                                      f"无法对应 {counts['unknown']}")
            return redirect("one_off_payments")
        except (PermissionDenied, services.BenefitsError) as exc:
            error = str(exc) or "无权执行此操作"
    status = request.GET.get("status", "")
    rows = (OneOffPayment.objects.visible_to(request.user)
            .select_related("application", "household"))
    if status in dict(OneOffPayment.STATUS_CHOICES):
        rows = rows.filter(status=status)
    return render(request, "doudi/one_off_payments.html", {
        "rows": rows[:200], "error": error, "status": status,
        "statuses": OneOffPayment.STATUS_CHOICES,
        "can_export": request.user.can(roles.EXPORT_BANK_FILE),
        "layouts": bank_files.layouts_for(request.user),
        "approved": OneOffPayment.objects.visible_to(request.user)
        .filter(status=OneOffPayment.APPROVED).count()})


@login_required
@require_GET
def failed_payments(request: HttpRequest) -> HttpResponse:
    """发放失败 work queue: returned payments whose account needs fixing; they are owed again in
    the next month's roster."""
    require_capability(request, roles.VIEW_REGISTRY)
    lines = (PaymentLine.objects.visible_to(request.user).filter(status=PaymentLine.FAILED)
             .select_related("enrollment", "enrollment__household").order_by("-month", "id"))
    return render(request, "doudi/failed_payments.html", {"lines": lines[:500]})


def _enrollment(request: HttpRequest, enrollment_id: int) -> Enrollment:
    require_capability(request, roles.VIEW_REGISTRY)
    e = (Enrollment.objects.visible_to(request.user).select_related("household", "person")
         .filter(pk=enrollment_id).first())
    if e is None:
        raise Http404("保障对象不存在或不在您的管辖范围内")
    return e


PAYEE_FIELDS = ("holder", "person", "agent_name", "agent_id_number", "agent_reason", "bank",
                "account_kind", "account", "reason")


def _render_enrollment(request: HttpRequest, e: Enrollment, error: str = "",
                       payee_form: dict[str, str] | None = None,
                       payee_errors: dict[str, str] | None = None) -> HttpResponse:
    changes = list(e.payee_changes.select_related("requested_by", "decided_by")[:20])
    pending = next((c for c in changes if c.status == PayeeChange.PENDING), None)
    return render(request, "doudi/enrollment_detail.html", {
        "e": e, "events": e.events.select_related("actor"), "error": error,
        "lines": e.lines.select_related("run").order_by("-month")[:36],
        "kinds": [k for k in EnrollmentEvent.KIND_CHOICES if k[0] != "start"],
        "can_edit": request.user.can(roles.EDIT_REGISTRY), "today": clock.today(),
        # 收款人: the payee in force, the request waiting for a second person, the history
        "payee_changes": changes, "payee_pending": pending,
        "may_decide": pending is not None and payees.may_decide(request.user, pending),
        "can_request_payee": pending is None and request.user.can(roles.REQUEST_PAYEE_CHANGE),
        "members": payees.members(e), "banks": banks.BANKS, "account_kinds": banks.KIND_CHOICES,
        "agent_reasons": payees.AGENT_REASONS,
        "payee_form": payee_form or {"holder": PayeeChange.MEMBER,
                                     "person": str(e.payee_person_id or ""),
                                     "bank": e.bank, "account_kind": e.account_kind},
        "payee_errors": payee_errors or {}})


@login_required
@require_GET
def enrollment_detail(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    return _render_enrollment(request, _enrollment(request, enrollment_id))


@login_required
@require_POST
def enrollment_change(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    e = _enrollment(request, enrollment_id)
    try:
        amount = request.POST.get("amount", "").strip()
        services.change(by=request.user, enrollment=e, kind=request.POST.get("kind", ""),
                        effective_date=dt.date.fromisoformat(request.POST.get("day", "")),
                        amount_fen=parse_optional_yuan(
                            amount, field="amount", label="变更后月保障金",
                            max_fen=MONTHLY_MAX_FEN),
                        reason=request.POST.get("reason", ""))
    except ValueError as exc:
        return _render_enrollment(request, e, str(exc) or "请填写生效日期")
    except (PermissionDenied, services.BenefitsError) as exc:
        return _render_enrollment(request, e, str(exc) or "无权执行此操作")
    return redirect("enrollment_detail", enrollment_id=e.pk)


@login_required
@require_POST
def enrollment_payee(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    """收款人: request a change (action=request), or decide one (approve / reject), or take
    one's own request back (withdraw). The services check who may."""
    if not (request.user.can(roles.REQUEST_PAYEE_CHANGE)
            or request.user.can(roles.APPROVE_PAYEE_CHANGE)):
        raise PermissionDenied("无权申请或审批收款人变更")
    e = _enrollment(request, enrollment_id)
    action = request.POST.get("action", "")
    form = {k: request.POST.get(k, "").strip() for k in PAYEE_FIELDS}
    try:
        if action == "request":
            payees.request_change(
                by=request.user, enrollment=e, holder=form["holder"], person_id=form["person"],
                agent_name=form["agent_name"], agent_id_number=form["agent_id_number"],
                agent_reason=form["agent_reason"], bank=form["bank"],
                account_kind=form["account_kind"], account=request.POST.get("account", ""),
                reason=form["reason"])
            messages.success(request, "已提交收款人变更申请，经另一名审批人员批准后生效")
        elif action in ("approve", "reject", "withdraw"):
            change = e.payee_changes.filter(pk=request.POST.get("change") or 0).first()
            if change is None:
                raise services.BenefitsError("收款人变更申请不存在")
            if action == "approve":
                payees.approve_change(by=request.user, change=change,
                                      note=request.POST.get("note", ""))
                messages.success(request, "已批准收款人变更：此后审核的发放批次按新收款人发放")
            elif action == "reject":
                payees.reject_change(by=request.user, change=change,
                                     note=request.POST.get("note", ""))
                messages.success(request, "已驳回收款人变更，原收款人不变")
            else:
                payees.withdraw_change(by=request.user, change=change)
                messages.success(request, "已撤回收款人变更申请")
        else:
            raise services.BenefitsError("未知操作")
    except (PermissionDenied, services.BenefitsError) as exc:
        if action != "request" and request.POST.get("back") == "queue":
            messages.error(request, str(exc) or "无权执行此操作")
            return redirect("payee_changes")
        if isinstance(exc, PermissionDenied):
            return _render_enrollment(request, e, str(exc) or "无权执行此操作",
                                      payee_form=form)
        return _render_enrollment(
            request, e, "；".join(x.message for x in exc.general_errors()), payee_form=form,
            payee_errors={x.field: x.message for x in exc.field_errors()})
    if request.POST.get("back") == "queue":
        return redirect("payee_changes")
    return redirect(f"{reverse('enrollment_detail', args=[e.pk])}#payee")


@login_required
@require_GET
def payee_changes(request: HttpRequest) -> HttpResponse:
    """收款人变更审批: requests waiting in the user's area, oldest first; an approver decides
    here (never their own), anyone else sees what waits."""
    require_capability(request, roles.VIEW_REGISTRY)
    pending = (PayeeChange.objects.visible_to(request.user).filter(status=PayeeChange.PENDING)
               .select_related("enrollment", "enrollment__household", "requested_by")
               .order_by("requested_at", "id"))
    decided = (PayeeChange.objects.visible_to(request.user).exclude(status=PayeeChange.PENDING)
               .select_related("enrollment", "enrollment__household", "requested_by",
                               "decided_by").order_by("-decided_at", "-id"))
    return render(request, "doudi/payee_changes.html", {
        "pending": [(c, payees.may_decide(request.user, c)) for c in pending[:200]],
        "decided": decided[:50]})


@login_required
def recalculations(request: HttpRequest) -> HttpResponse:
    """调标重算: start one (district officers), review and apply (a second district approver)."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "apply":
                recalc = (Recalculation.objects.visible_to(request.user)
                          .filter(pk=request.POST.get("recalc")).first())
                if recalc is None:
                    raise Http404("重算不存在或不在您的管辖范围内")
                n = recalculation.apply(by=request.user, recalc=recalc)
                messages.success(request, f"已执行 {recalc}：{n} 户")
            else:
                recalc = recalculation.recalculate(
                    by=request.user, programme=request.POST.get("programme", ""),
                    effective_date=dt.date.fromisoformat(request.POST.get("day", "")),
                    area_code=request.user.area_code, reason=request.POST.get("reason", ""))
                messages.success(request, f"已测算 {recalc}：{recalc.lines.count()} 户变化")
            return redirect("recalculations")
        except ValueError:
            error = "请填写生效日期"
        except (PermissionDenied, services.BenefitsError) as exc:
            error = str(exc) or "无权执行此操作"
    items = Recalculation.objects.visible_to(request.user).select_related(
        "built_by", "applied_by")[:20]
    return render(request, "doudi/recalculations.html", {
        "items": items, "error": error, "today": clock.today(),
        "programmes": [(p.code, p.label) for p in catalogue.recalculable()],
        "can_build": request.user.can(roles.RECALCULATE),
        "can_apply": request.user.can(roles.APPLY_RECALCULATION)})


@login_required
def review_tasks(request: HttpRequest) -> HttpResponse:
    """复核任务: open reviews in the user's area by due date; record the outcome."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        task = (ReviewTask.objects.visible_to(request.user, roles.EDIT_REGISTRY)
                .select_related("enrollment").filter(pk=request.POST.get("task")).first())
        try:
            if task is None:
                raise services.BenefitsError("复核任务不存在或不在您的管辖范围内")
            amount = request.POST.get("amount", "").strip()
            reviews.record(by=request.user, task=task, outcome=request.POST.get("outcome", ""),
                           findings=request.POST.get("findings", ""),
                           day=clock.today(),
                           amount_fen=parse_optional_yuan(
                               amount, field="amount", label="调整后月保障金",
                               max_fen=MONTHLY_MAX_FEN))
            messages.success(request, "已登记复核结论")
            return redirect("review_tasks")
        except ValueError as exc:
            error = str(exc)
        except (PermissionDenied, services.BenefitsError) as exc:
            error = str(exc) or "无权执行此操作"
    tasks = (ReviewTask.objects.visible_to(request.user).filter(status=ReviewTask.OPEN)
             .select_related("enrollment", "enrollment__household", "enrollment__household__area")
             .order_by("due_date")[:200])
    return render(request, "doudi/review_tasks.html", {
        "tasks": tasks, "error": error, "today": clock.today(),
        "outcomes": ReviewTask.OUTCOMES,
        "can_record": request.user.can(roles.EDIT_REGISTRY)})


@login_required
def funds(request: HttpRequest) -> HttpResponse:
    """资金使用: spending by programme and town against budget, by month; Excel export."""
    require_capability(request, roles.VIEW_REGISTRY)
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or
                   clock.today().year)
    except ValueError:
        year = clock.today().year
    error = ""
    if request.method == "POST":
        try:
            services.set_budget(
                by=request.user, year=year, area_code=request.POST.get("area", ""),
                programme=request.POST.get("programme", ""),
                amount_fen=parse_yuan(request.POST.get("amount"), field="amount",
                                      label="年度预算", max_fen=BUDGET_MAX_FEN),
                note=request.POST.get("note", ""))
            return redirect(f"{request.path}?year={year}")
        except (ValueError, services.BenefitsError) as exc:
            error = str(exc)
    result = spending.spending(request.user.scope_prefix or "-", year)
    if request.GET.get("format") == "xlsx":
        return _funds_xlsx(request, result, year)
    towns = Area.objects.filter(code__startswith=request.user.scope_prefix or "-",
                                level__in=(3, 4)).order_by("code")
    return render(request, "doudi/funds.html", {
        "year": year, "rows": result.by_programme.to_dicts(),
        "months": result.by_month.to_dicts(), "error": error, "towns": towns,
        "programmes": catalogue.choices(), "names": catalogue.labels(),
        "places": area_names(result.by_programme["town"].to_list()
                             + result.by_month["town"].to_list()),
        "can_budget": request.user.can(roles.SET_BUDGET)})


def _funds_xlsx(request: HttpRequest, result, year: int) -> HttpResponse:  # noqa: ANN001
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    names = catalogue.labels()
    places = area_names(result.by_programme["town"].to_list() + result.by_month["town"].to_list())
    sheet = book.add_worksheet("按项目和镇街")
    sheet.write_row(0, 0, ["镇街", "项目", "已发放（元）", "待回盘（元）", "预算（元）",
                           "执行率"], bold)
    for n, r in enumerate(result.by_programme.iter_rows(named=True), start=1):
        sheet.write(n, 0, places.get(r["town"], r["town"]))
        sheet.write(n, 1, names.get(r["programme"], r["programme"]))
        for col, key in ((2, "paid_fen"), (3, "pending_fen"), (4, "budget_fen")):
            sheet.write_number(n, col, r[key] / 100, money)  # display only; totals are fen
        sheet.write(n, 5, percent(r["share_bp"]) if r["share_bp"] is not None else "")
    months = book.add_worksheet("按月")
    months.write_row(0, 0, ["月份", "镇街", "项目", "人次", "已发放（元）", "待回盘（元）"],
                     bold)
    for n, r in enumerate(result.by_month.iter_rows(named=True), start=1):
        months.write_row(n, 0, [f"{r['month']:%Y-%m}", places.get(r["town"], r["town"]),
                                names.get(r["programme"], r["programme"]), r["lines"]])
        months.write_number(n, 4, r["paid_fen"] / 100, money)
        months.write_number(n, 5, r["pending_fen"] / 100, money)
    sheet.write(result.by_programme.height + 2, 0,
                f"导出：{request.user.username} {timezone.localtime():%Y-%m-%d %H:%M}")
    book.close()
    audit.record(AuditEvent.EXPORT, object_type="benefits.budget",
                 object_label=f"导出 {year} 年资金使用", area_code=request.user.area_code)
    response = HttpResponse(buffer.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'资金使用_{year}.xlsx')}")
    return response


@login_required
def bank_layout_list(request: HttpRequest) -> HttpResponse:
    """银行文件格式: the shipped layouts and the district's own."""
    require_capability(request, roles.VIEW_REGISTRY)
    layouts = bank_files.layouts_for(request.user, active_only=False)
    return render(request, "doudi/bank_layouts.html", {
        "layouts": layouts,
        "places": area_names(layout.area_code for layout in layouts),
        "can_edit": request.user.can(bank_files.EDIT_LAYOUTS)})


@login_required
def bank_layout_edit(request: HttpRequest, layout_id: int | None = None) -> HttpResponse:
    """A layout's page; a district administrator adds or changes the district's own."""
    require_capability(request, roles.VIEW_REGISTRY)
    can_edit = request.user.can(bank_files.EDIT_LAYOUTS)
    if layout_id is None:
        if not can_edit:
            raise PermissionDenied("无权设置银行文件格式")
        row = BankLayout(columns=[], codes=bank_layouts.default_codes())
    else:
        row = bank_files.layouts_for(request.user, active_only=False).filter(pk=layout_id).first()
        if row is None:
            raise Http404("银行文件格式不存在或不在您的管辖范围内")
    editable = can_edit and (row.pk is None or row.area_code == request.user.scope_prefix)
    names = catalogue.labels() | dict(catalogue.part_choices())
    form = {"code": row.code, "name": row.name, "encoding": row.encoding or "utf-8-sig",
            "file_format": row.file_format or "csv", "columns": bank_layouts.columns_text(
                row.columns or [["流水号", "line"], ["账号", "account"], ["户名", "name"],
                                ["金额", "amount"]]),
            "codes": "\n".join(f"{names.get(k, k)}={v}" for k, v in (row.codes or {}).items()),
            "result_line": row.result_line, "result_status": row.result_status,
            "result_reason": row.result_reason, "success_values": row.success_values,
            "active": row.active}
    error = ""
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form} | {"active": "active" in request.POST}
        try:
            if not editable:
                raise PermissionDenied("系统提供或上级设定的格式不能修改，可另建格式")
            saved = bank_files.save_layout(
                by=request.user, layout=row, **{**form, "codes": bank_layouts.parse_codes(
                    form["codes"])})
            messages.success(request, f"已保存银行文件格式“{saved.name}”")
            return redirect("bank_layouts")
        except (bank_layouts.LayoutError, PermissionDenied) as exc:
            error = str(exc)
    return render(request, "doudi/bank_layout_form.html", {
        "row": row, "form": form, "error": error, "editable": editable,
        "fields": list(bank_layouts.FIELDS), "encodings": bank_layouts.ENCODINGS,
        "formats": bank_layouts.FORMATS})

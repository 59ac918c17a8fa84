"""申请审核 pages: intake from a household, the application with its timeline and the actions
the user may take, the work queue (待办), the 公示 list and the printed decision notice."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.accounts.client_address import client_address
from doudi.areas.models import Area, area_names_under
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import banks, one_off
from doudi.benefits.models import OneOffPayment
from doudi.casework import (
    attachments,
    calendar_days,
    documents,
    filing,
    filing_risk,
    online,
    services,
    workflow,
)
from doudi.casework import reserve_fund as fund
from doudi.casework.models import (
    Application,
    Attachment,
    CalendarDay,
    CalendarYear,
    FilingRecord,
    FundEntry,
    OnlineRequest,
)
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.excel import new_workbook
from doudi.core.money import parse_optional_yuan, parse_yuan
from doudi.core.workdays import LIBRARY_YEARS
from doudi.programmes import catalogue
from doudi.web.access import render_household, require_capability, visible_household
from doudi.web.excel import Column, Listing, search_households
from doudi.web.rules_views import rules_context


def _application(request: HttpRequest, application_id: int) -> Application:
    require_capability(request, roles.VIEW_REGISTRY)
    app = (Application.objects.visible_to(request.user)
           .select_related("household", "household__area", "applicant", "created_by")
           .filter(pk=application_id).first())
    if app is None:
        raise Http404("申请不存在或不在您的管辖范围内")
    return app


@login_required
@require_POST
def application_new(request: HttpRequest, household_id: int) -> HttpResponse:
    household = visible_household(request, household_id)
    programme = request.POST.get("programme", "")
    # a one-off programme (临时救助) states its type and need on the intake form
    one_off = catalogue.request_of(programme) is not None
    try:
        need = (parse_optional_yuan(request.POST.get("need"), field="need", label="救助需求金额")
                if one_off else None)
        applicant = services.chosen_applicant(household, programme,
                                              request.POST.get(f"applicant_{programme}"),
                                              clock.today())
        app = services.create_application(
            by=request.user, household=household, programme=programme, applicant=applicant,
            channel=request.POST.get("channel", "village"),
            reason=request.POST.get("reason", ""), emergency=request.POST.get("emergency") == "1",
            reference=request.POST.get("reference", ""),
            aid_type=request.POST.get("aid_type", "") if one_off else None,
            need_fen=need, parts=request.POST.getlist(f"parts_{programme}"))
    except ServiceError as exc:
        return render_household(request, household, application_error=str(exc))
    messages.success(request, f"已受理申请 {app.number}")
    return redirect("application_detail", application_id=app.pk)


def _render(request: HttpRequest, app: Application, error: str = "") -> HttpResponse:
    today = clock.today()
    actions = workflow.actions_for(app.state, request.user.capabilities,
                                   delegated=services.delegated(app, today),
                                   conditions=services.conditions(app, today))
    request_kinds = catalogue.request_of(app.programme)
    payment = OneOffPayment.objects.filter(application=app).first()
    return render(request, "doudi/application_detail.html", {
        "app": app, "actions": actions, "error": error, "today": today,
        "events": app.events.select_related("actor"), "visits": app.visits.all(),
        "overdue": bool(app.step_due and app.step_due < today and app.open),
        # 事后补查 is a step only of the cases that took the 急难小额 short path
        "steps": [(k, v) for k, v in workflow.STATES.items() if k not in workflow.TERMINAL
                  and (k != "post_review" or app.shortened)],
        "request_kinds": request_kinds.kinds.items() if request_kinds else (),
        "can_state_request": (request_kinds is not None and app.open and not app.decision
                              and request.user.can(roles.INTAKE)),
        "town_limit": services.town_limit(app, today) if app.one_off else None,
        "payment": payment,
        "can_pay": (payment is not None and request.user.can(roles.PAY_ONE_OFF)
                    and payment.status in (OneOffPayment.DUE, OneOffPayment.FAILED)),
        "can_approve_payment": (payment is not None
                                and payment.status == OneOffPayment.AWAITING_APPROVAL
                                and request.user.can(roles.APPROVE_RUN)
                                and payment.recorded_by_id != request.user.pk),
        "pay_methods": OneOffPayment.METHOD_CHOICES,
        "banks": banks.names(), "account_kinds": banks.KIND_CHOICES,
        "show_rules": app.state in ("town_review", "decision", "notice"),
        "can_advance": (catalogue.advance_relief(app.programme) and app.emergency
                        and app.state in fund.ADVANCE_STATES
                        and request.user.can(roles.ADVANCE_PAYMENT)
                        and not app.fund_entries.exists()),
        "advances": app.fund_entries.all(),
        "attachments": app.attachments.all(),
        "reports": app.household.verification_reports.select_related("requested_by")[:5],
        "can_verify": request.user.can(roles.VERIFY),
        "attachment_kinds": Attachment.KIND_CHOICES,
    })


@login_required
@require_GET
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    return _render(request, _application(request, application_id))


@login_required
@require_POST
def application_act(request: HttpRequest, application_id: int) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    app = _application(request, application_id)
    action = request.POST.get("action", "")
    data = {k: request.POST.get(k, "") for k in ("members_present", "living_conditions",
                                                  "visited_on", "recommendation", "missing")
            if request.POST.get(k)}
    try:
        services.act(by=request.user, application=app, action=action,
                     opinion=request.POST.get("opinion", ""), data=data)
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except (services.CaseworkError, ValueError) as exc:
        return _render(request, app, error=str(exc))
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_POST
def application_request(request: HttpRequest, application_id: int) -> HttpResponse:
    """登记救助类型与需求金额 of a one-off case (one opened from a warning, a hotline ticket,
    a visit or the online form, or corrected before the decision)."""
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    app = _application(request, application_id)
    try:
        services.record_request(
            by=request.user, application=app, aid_type=request.POST.get("aid_type", ""),
            need_fen=parse_optional_yuan(request.POST.get("need"), field="need",
                                         label="救助需求金额"))
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except ServiceError as exc:
        return _render(request, app, error=str(exc))
    messages.success(request, "已登记救助类型与需求金额")
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_POST
def application_pay(request: HttpRequest, application_id: int) -> HttpResponse:
    """登记一次性救助的发放 (现金、实物、银行账户), or 复核 a bank account recorded by another."""
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    app = _application(request, application_id)
    payment = OneOffPayment.objects.filter(application=app).first()
    if payment is None:
        return _render(request, app, error="该申请尚无一次性救助发放记录（批准并送达通知后生成）")
    try:
        if request.POST.get("action") == "approve":
            one_off.approve_bank(by=request.user, payment=payment)
            messages.success(request, "已复核收款账户，待生成银行文件")
        else:
            paid_on = request.POST.get("paid_on", "").strip()
            try:
                day = dt.date.fromisoformat(paid_on) if paid_on else None
            except ValueError as exc:
                raise ServiceError("发放日期应为日期（年-月-日）", field="paid_on") from exc
            one_off.pay(by=request.user, payment=payment, method=request.POST.get("method", ""),
                        paid_on=day, payee_name=request.POST.get("payee_name", ""),
                        goods=request.POST.get("goods", ""),
                        account=request.POST.get("account", ""),
                        bank=request.POST.get("bank", ""),
                        account_kind=request.POST.get("account_kind", banks.CARD),
                        note=request.POST.get("note", ""))
            messages.success(request, "已登记发放")
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except ServiceError as exc:
        return _render(request, app, error=str(exc))
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_GET
def work_queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


def _queue_columns(places: dict[str, str], today: dt.date, mine: bool) -> list[Column]:
    """待办 and 辖区内的申请 as the page lists them."""
    def due(a: Application) -> str:
        if not a.step_due:
            return ""
        return f"{a.step_due:%Y-%m-%d}" + (" 超期" if mine and a.step_due < today else "")

    first = [Column("办理期限", due)] if mine else []
    last = [] if mine else [Column("申请日期", lambda a: a.submitted_on),
                            Column("办理期限", due)]
    return [*first,
            Column("申请编号", lambda a: a.number + ("（急难）" if a.emergency else "")),
            Column("项目", lambda a: a.get_programme_display()),
            Column("家庭编号", lambda a: a.household.number),
            Column("所在村（社区）", lambda a: places.get(a.household.area_code, "")),
            Column("当前环节", lambda a: a.state_label), *last]


def _queue_filtered(request: HttpRequest):  # noqa: ANN202
    """The applications the queue's filters keep (项目, 区划, 环节, 家庭或申请编号), and the
    refusal of a search the user may not make."""
    g = request.GET
    rows = Application.objects.visible_to(request.user)
    if catalogue.is_programme(g.get("programme", "")):
        rows = rows.filter(programme=g["programme"])
    area = g.get("area", "")
    if area.isdigit() and area.startswith(request.user.scope_prefix or "-"):
        rows = rows.filter(area_code__startswith=area)
    q = g.get("q", "").strip()
    if q and rows.filter(number=q).exists():
        return rows.filter(number=q), ""
    return search_households(request, rows)


def _render_queue(request: HttpRequest, error: str = "") -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    today = clock.today()
    filtered, search_error = _queue_filtered(request)
    mine = services.work_queue(request.user, within=filtered)
    places = area_names_under(request.user.scope_prefix)
    mine_list = Listing(request, mine, _queue_columns(places, today, mine=True),
                        title="待办", object_type="casework.application", key="mine")
    state = request.GET.get("state", "")
    everything = filtered.select_related("household").order_by("-created_at", "-id")
    if state in workflow.STATES:
        everything = everything.filter(state=state)
    all_list = Listing(request, everything, _queue_columns(places, today, mine=False),
                       title="辖区内的申请", object_type="casework.application", key="all")
    for listing in (mine_list, all_list):
        if listing.exporting:
            return listing.export()
    return render(request, "doudi/work_queue.html", {
        **mine_list.context("mine"), **all_list.context("everything"),
        "mine_total": len(mine), "overdue": services.overdue(mine), "today": today,
        "has_decisions": any(a.state == "decision" for a in mine),
        # pending, and accepted ones whose sender's identity is still to be verified
        "online": (OnlineRequest.objects.visible_to(request.user, roles.EDIT_REGISTRY)
                   .filter(Q(status=OnlineRequest.PENDING) | Q(
                       status=OnlineRequest.ACCEPTED, identity_verified_at__isnull=True))
                   if request.user.can(roles.ACCEPT_ONLINE) else []),
        "identity_methods": OnlineRequest.IDENTITY_METHODS, "g": request.GET,
        "states": workflow.STATES.items(), "state": state, "places": places,
        "programme_choices": catalogue.choices(), "search_error": search_error,
        "areas": Area.objects.filter(code__startswith=request.user.scope_prefix or "-",
                                     level__in=(4, 5)).order_by("code"),
        "error": error})


@login_required
@require_GET
def publicity_list(request: HttpRequest) -> HttpResponse:
    """公示名单 of a month in the user's area: only the people aided, masked names, the
    programme and the amount; never an ID number or a health detail."""
    require_capability(request, roles.VIEW_REGISTRY)
    try:
        month = dt.date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        month = clock.today().replace(day=1)
    end = (month + dt.timedelta(days=32)).replace(day=1)
    rows = (Application.objects.visible_to(request.user)
            .filter(publicity_ends_on__gte=month + dt.timedelta(days=7),
                    publicity_ends_on__lt=end + dt.timedelta(days=7))
            .exclude(state__in=("withdrawn", "refused"))
            .select_related("household__area", "applicant").order_by("household__area__code"))
    bodies = documents.publishing_bodies(request.user.area) if request.user.area else []
    if request.GET.get("format") == "xlsx":
        return _publicity_xlsx(request, list(rows), month, bodies)
    return render(request, "doudi/publicity_list.html",
                  {"rows": rows, "month": month, "bodies": bodies})


def _publicity_xlsx(request: HttpRequest, rows: list[Application], month: dt.date,
                    bodies: list[tuple[str, str]]) -> HttpResponse:
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    sheet = book.add_worksheet("公示名单")
    bold = book.add_format({"bold": True})
    title = f"{request.user.area.name} {month:%Y年%m月} 社会救助公示名单"
    sheet.write(0, 0, title, bold)
    sheet.write_row(1, 0, ["序号", "村（社区）", "姓名", "救助项目", "公示截止"], bold)
    for n, a in enumerate(rows, start=1):
        sheet.write_row(n + 1, 0, [n, a.household.area.name, a.applicant.masked_name,
                                   a.get_programme_display(), a.publicity_ends_on.isoformat()])
    for n, (body, phone) in enumerate(bodies):
        sheet.write(len(rows) + 3 + n, 0, f"{'公示单位' if n == 0 else '监督单位'}：{body}　"
                                          f"监督电话：{phone or '（未登记）'}")
    sheet.write(len(rows) + 4 + len(bodies), 0, f"导出：{request.user.username} "
                                                f"{timezone.localtime():%Y-%m-%d %H:%M}")
    sheet.set_column(1, 3, 24)
    book.close()
    audit.record(AuditEvent.EXPORT, object_type="casework.application",
                 object_label=f"导出公示名单 {month:%Y-%m}（{len(rows)} 人）",
                 area_code=request.user.area_code)
    response = HttpResponse(buffer.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'公示名单_{month:%Y-%m}.xlsx')}")
    return response


def _notice_sheet(request: HttpRequest, app: Application) -> dict:
    """One 书面通知 (with its 存根): the decision, its 文号, issuing body, basis, remedies and
    contact; the applicant named in full for a role that may see it (audited)."""
    if not app.decision:
        raise Http404(f"申请 {app.number} 尚未作出审批决定")
    return {"app": app, "notice": documents.notice(app),
            "addressee": documents.addressee(request.user, app),
            "payment": OneOffPayment.objects.filter(application=app).first()}


def _form_sheet(request: HttpRequest, app: Application) -> dict:
    """One 申请审批表 for the case file: the application, the home visits, every step's opinion
    and the rules' reasoning on the decision day (or today), no parameter keys; names and IDs
    in full for a role that may see them (audited), masked for any other."""
    day = app.decided_on or clock.today()
    context = rules_context(app.household, day)
    purpose = f"打印申请审批表 {app.number}"
    members = [(m, *documents.printed_identity(request.user, m.person, purpose))
               for m in app.household.memberships.filter(end_date__isnull=True)
               .select_related("person")]
    applicant = next((name for m, name, _ in members if m.person_id == app.applicant_id), None)
    if applicant is None and app.applicant is not None:
        applicant = documents.printed_identity(request.user, app.applicant, purpose)[0]
    return {"app": app, "day": day, "error": context["error"],
            "rules": documents.printed_rules(context["explanations"], app.programme),
            "events": app.events.select_related("actor"), "visits": app.visits.all(),
            "members": members, "applicant": applicant or "",
            "report": app.household.verification_reports.first()}


SHEETS = {"notice": ("书面通知", "doudi/_notice_sheet.html"),
          "form": ("申请审批表", "doudi/_form_sheet.html")}


def _print(request: HttpRequest, kind: str, apps: list[Application]) -> HttpResponse:
    title, template = SHEETS[kind]
    sheet = _notice_sheet if kind == "notice" else _form_sheet
    sheets = [sheet(request, a) for a in apps]
    return render(request, "doudi/documents_print.html", {
        "title": title, "template": template, "sheets": sheets,
        "back": (reverse("application_detail", args=[apps[0].pk]) if len(apps) == 1
                 else reverse("work_queue"))})  # none chosen: a page saying how to choose


@login_required
@require_GET
def application_notice(request: HttpRequest, application_id: int) -> HttpResponse:
    """书面通知 (approval or refusal with reasons), for printing."""
    return _print(request, "notice", [_application(request, application_id)])


MAX_BATCH = 100


@login_required
@require_GET
def documents_print(request: HttpRequest) -> HttpResponse:
    """批量打印: the notices (or 审批表) of the chosen applications, one per A4 page. Every one
    must be in the user's area (and, for notices, decided): otherwise nothing is printed."""
    require_capability(request, roles.VIEW_REGISTRY)
    kind = request.GET.get("doc", "notice")
    if kind not in SHEETS:
        raise Http404("没有这种文书")
    ids = list(dict.fromkeys(int(i) for i in request.GET.getlist("application") if i.isdigit()))
    if not ids:
        return _print(request, kind, [])
    if len(ids) > MAX_BATCH:
        messages.error(request, f"一次最多打印 {MAX_BATCH} 件")
        return redirect("work_queue")
    found = {a.pk: a for a in Application.objects.visible_to(request.user)
             .select_related("household", "household__area", "applicant").filter(pk__in=ids)}
    if len(found) != len(ids):
        raise Http404("所选申请中有不存在或不在您的管辖范围内的，未打印")
    return _print(request, kind, [found[i] for i in ids])


@login_required
def reserve_fund(request: HttpRequest) -> HttpResponse:
    """临时救助备用金: the ledger and balance of each town in the user's area; the district
    tops up; a town approver pays 先行救助 from an urgent case's page."""
    require_capability(request, roles.VIEW_REGISTRY)
    error = ""
    if request.method == "POST":
        try:
            amount = parse_yuan(request.POST.get("amount"), field="amount", label="拨付金额")
            fund.top_up(by=request.user, town=request.POST.get("town", ""), amount_fen=amount,
                        note=request.POST.get("note", ""))
            messages.success(request, "已登记拨付")
            return redirect("reserve_fund")
        except PermissionDenied as exc:
            error = str(exc)
        except (services.CaseworkError, ValueError) as exc:
            error = str(exc)
    prefix = request.user.scope_prefix or "-"
    towns = Area.objects.filter(code__startswith=prefix[:9], level=4).order_by("code") \
        if len(prefix) <= 9 else Area.objects.none()
    rows = [{"town": t, "balance": fund.balance(t.code)} for t in towns
            if t.code.startswith(prefix)]
    entries = (FundEntry.objects.visible_to(request.user)
               .select_related("application", "recorded_by")[:100])
    return render(request, "doudi/reserve_fund.html", {
        "rows": rows, "entries": entries, "error": error,
        "can_top_up": request.user.can(roles.TOP_UP_FUND)})


@login_required
@require_POST
def application_advance(request: HttpRequest, application_id: int) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    app = _application(request, application_id)
    try:
        fund.advance(by=request.user, application=app,
                     amount_fen=parse_yuan(request.POST.get("amount"), field="amount",
                                           label="先行救助金额"),
                     note=request.POST.get("note", ""))
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except (services.CaseworkError, ValueError) as exc:
        return _render(request, app, error=str(exc))
    messages.success(request, "已先行救助")
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """批量审批: approve the chosen applications waiting for a decision, one opinion for all;
    each goes through the same checks as one at a time, and any refused is named."""
    require_capability(request, roles.VIEW_REGISTRY)
    ids = [int(i) for i in request.POST.getlist("application") if i.isdigit()]
    opinion = request.POST.get("opinion", "").strip()
    done, refused = [], []
    for app in Application.objects.visible_to(request.user).filter(pk__in=ids):
        try:
            services.act(by=request.user, application=app, action="approve", opinion=opinion)
            done.append(app.number)
        except (PermissionDenied, services.CaseworkError) as exc:
            refused.append(f"{app.number}：{exc}")
    if done:
        messages.success(request, f"已批准 {len(done)} 件：{'、'.join(done)}")
    for line in refused:
        messages.error(request, line)
    if not ids:
        messages.error(request, "请勾选要批准的申请")
    return redirect("work_queue")


@login_required
@require_POST
def application_attach(request: HttpRequest, application_id: int) -> HttpResponse:
    require_capability(request, roles.EDIT_REGISTRY)  # a viewer has no button: a crafted POST
    app = _application(request, application_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise services.CaseworkError("请选择要上传的文件")
        if upload.size > settings.DOUDI_ATTACHMENT_MAX_BYTES:
            raise services.CaseworkError("文件过大")
        attachments.add(by=request.user, application=app, data=upload.read(),
                        file_name=upload.name or "附件", kind=request.POST.get("kind", ""))
    except PermissionDenied as exc:
        return _render(request, app, error=str(exc) or "无权执行此操作")
    except services.CaseworkError as exc:
        return _render(request, app, error=str(exc))
    return redirect("application_detail", application_id=app.pk)


@login_required
@require_GET
def attachment_file(request: HttpRequest, application_id: int, attachment_id: int) -> HttpResponse:
    app = _application(request, application_id)
    item = app.attachments.filter(pk=attachment_id).first()
    if item is None:
        raise Http404("附件不存在")
    audit.record(AuditEvent.VIEW, object_type="casework.attachment", object_id=item.pk,
                 object_label=f"查看附件 {item.file_name}（申请 {app.number}）",
                 area_code=app.area_code, instance=item)
    response = HttpResponse(attachments.read(item), content_type=item.content_type)
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(item.file_name)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def application_print(request: HttpRequest, application_id: int) -> HttpResponse:
    """申请审批表 for the case file."""
    return _print(request, "form", [_application(request, application_id)])


def _one_off_kinds() -> list[tuple[str, str]]:
    """The types one may state for the one-off programmes (临时救助: 急难型, 支出型)."""
    kinds: dict[str, str] = {}
    for p in catalogue.one_off_programmes():
        request = catalogue.request_of(p.code)
        kinds.update(request.kinds if request else {})
    return list(kinds.items())


def _public_towns() -> list[Area]:
    return list(online.served_areas(4).order_by("code"))


def public_apply(request: HttpRequest) -> HttpResponse:
    """网上申请 (no login): the resident's own application with the 授权书."""
    error, done = "", None
    values = {k: request.POST.get(k, "") for k in (
        "programme", "name", "id_number", "phone", "village", "address", "hukou_type", "reason",
        "origin")}
    values["aid_type"], values["need"] = (request.POST.get("aid_type", ""),
                                          request.POST.get("need", ""))
    if request.method == "POST":
        try:
            one_off = catalogue.request_of(values["programme"]) is not None
            need = (parse_optional_yuan(values["need"], field="need", label="救助需求金额")
                    if one_off else None)
            done = online.submit(**{k: v for k, v in values.items() if k != "need"},
                                 need_fen=need, consent=request.POST.get("consent") == "1",
                                 ip=client_address(request))
        except ServiceError as exc:
            error = str(exc)
    return render(request, "doudi/public_apply.html", {
        "error": error, "done": done, "values": values, "towns": _public_towns(),
        "programmes": [(p.code, p.label) for p in catalogue.public_intake()],
        "one_off_kinds": _one_off_kinds(),
        "limits": {name: OnlineRequest._meta.get_field(name).max_length
                   for name in ("name", "id_number", "phone", "address", "origin", "reason")}})


@require_GET
def public_villages(request: HttpRequest) -> HttpResponse:
    town = request.GET.get("town", "")
    villages = (Area.objects.filter(code__startswith=town[:9], level=5).order_by("code")
                if len(town) >= 9 and town[:9].isdigit() and online.serves(town[:9])
                else Area.objects.none())
    return render(request, "doudi/_village_options.html", {"villages": villages})


def _online(request: HttpRequest, request_id: int) -> OnlineRequest:
    require_capability(request, roles.EDIT_REGISTRY)
    item = OnlineRequest.objects.visible_to(request.user).filter(pk=request_id).first()
    if item is None:
        raise Http404("网上申请不存在或不在您的管辖范围内")
    return item


@login_required
@require_POST
def online_accept(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _online(request, request_id)
    try:
        item = online.accept(by=request.user, request=item)
    except (PermissionDenied, ServiceError) as exc:  # a case or a registry refusal
        return _render_queue(request, str(exc) or "无权受理")
    return redirect("application_detail", application_id=item.application_id)


@login_required
@require_POST
def online_verify(request: HttpRequest, request_id: int) -> HttpResponse:
    """身份核验 of an online applicant (the form's 授权书 counts from then on)."""
    item = _online(request, request_id)
    try:
        online.verify_identity(by=request.user, request=item,
                               method=request.POST.get("method", ""),
                               note=request.POST.get("note", ""))
    except (PermissionDenied, services.CaseworkError) as exc:
        return _render_queue(request, str(exc) or "无权办理")
    messages.success(request, "已记录身份核验，网上申请的授权书自此有效")
    return redirect("work_queue")


@login_required
@require_POST
def online_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _online(request, request_id)
    try:
        online.decline(by=request.user, request=item, reason=request.POST.get("reason", ""))
    except (PermissionDenied, services.CaseworkError) as exc:
        return _render_queue(request, str(exc) or "无权办理")
    return redirect("work_queue")


@login_required
def offices(request: HttpRequest) -> HttpResponse:
    """发文机关: the 机关代字, contact phone and 监督电话 the notices and 公示 lists of the
    user's area print (the district's 业务管理员 enters them)."""
    require_capability(request, roles.EDIT_POLICY)
    rows = documents.offices_of(request.user)
    error = ""
    if request.method == "POST":
        area = next((o.area for o in rows if o.area_id == request.POST.get("area")), None)
        try:
            if area is None:
                raise ValueError("请选择辖区内的发文机关")
            documents.set_office(by=request.user, area=area,
                                 document_prefix=request.POST.get("document_prefix", ""),
                                 phone=request.POST.get("phone", ""),
                                 supervision_phone=request.POST.get("supervision_phone", ""))
            messages.success(request, f"已保存 {documents.body_name(area)}")
            return redirect("offices")
        except (PermissionDenied, ValueError) as exc:
            error = str(exc) or "无权执行此操作"
    return render(request, "doudi/offices.html", {
        "rows": [(o, documents.body_name(o.area)) for o in rows], "error": error})


@login_required
def holiday_calendar(request: HttpRequest) -> HttpResponse:
    """节假日安排: the years the calendar library covers, those entered, and a form to enter a
    year from the State Council's notice (district administrators)."""
    can_edit = request.user.can(roles.EDIT_POLICY)
    error, text, source = "", request.POST.get("days", ""), request.POST.get("source", "")
    year = request.POST.get("year", "")
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("只有业务管理员可以录入节假日安排")
        try:
            n = calendar_days.enter_year(int(year), text, source)
            messages.success(request, f"已录入 {year} 年节假日安排 {n} 天")
            return redirect("holiday_calendar")
        except (calendar_days.CalendarError, ValueError) as exc:
            error = str(exc) if str(exc) else "请填写年度"
    return render(request, "doudi/holiday_calendar.html", {
        "library": LIBRARY_YEARS, "years": CalendarYear.objects.all(), "can_edit": can_edit,
        "days": CalendarDay.objects.filter(day__year__gte=clock.today().year),
        "error": error, "text": text, "source": source, "year": year})


# -- 备案审查 (放权后监管) ----------------------------------------------------------------------

def _filing_record(request: HttpRequest, record_id: int,
                   capability: str = roles.REVIEW_FILING) -> FilingRecord:
    require_capability(request, capability)
    record = filing.visible(request.user).filter(pk=record_id).first()
    if record is None:
        raise Http404("备案记录不存在或不在您的管辖范围内")
    return record


@login_required
@require_GET
def filing_reviews(request: HttpRequest) -> HttpResponse:
    """备案审查: the decisions towns took under delegated power, in the user's area, with the
    district's review. A reviewer sees why each was selected; a town sees its own decisions'
    outcome and the corrections it owes."""
    require_capability(request, roles.VIEW_REGISTRY)
    reviewer = request.user.can(roles.REVIEW_FILING)
    status = request.GET.get("status", "pending" if reviewer else "")
    reason = request.GET.get("reason", "") if reviewer else ""
    town = request.GET.get("town", "")
    selected_only = reviewer and request.GET.get("all", "") != "1"
    base = filing.visible(request.user)
    rows = filing.filtered(base, status=status, reason=reason, town=town,
                           selected_only=selected_only)
    today = clock.today()
    names = area_names_under(request.user.scope_prefix[:6])
    return render(request, "doudi/filing_reviews.html", {
        "rows": rows.select_related("application__applicant")[:300],
        "summary": filing.summary(base, today), "names": names,
        "statuses": FilingRecord.STATUS_CHOICES, "reasons": filing_risk.REASONS.items(),
        "reason_labels": filing_risk.REASONS,
        "status": status, "reason": reason, "town": town, "show_all": not selected_only,
        "reviewer": reviewer, "today": today,
        "towns": sorted({r for r in base.values_list("town", flat=True)})})


@login_required
def filing_review(request: HttpRequest, filing_record_id: int) -> HttpResponse:
    """One filed decision: the case, why it was selected, and the review (确认 / 要求纠正)."""
    record = _filing_record(request, filing_record_id)
    error = ""
    if request.method == "POST":
        try:
            filing.review(by=request.user, record=record,
                          outcome=request.POST.get("outcome", ""),
                          note=request.POST.get("note", ""), day=clock.today())
            return redirect("filing_review", filing_record_id=record.pk)
        except PermissionDenied as exc:
            error = str(exc) or "无权审查"
        except filing.FilingError as exc:
            error = str(exc)
    app = record.application
    return render(request, "doudi/filing_review.html", {
        "record": record, "app": app, "error": error,
        "reasons": filing_risk.reason_labels(record.reasons),
        "may_review": filing.may_review(request.user, record)
        and record.status == FilingRecord.PENDING,
        "outcomes": filing.REVIEW_OUTCOMES.items(),
        "decision_event": app.events.filter(action__in=documents.DECIDING_ACTIONS)
        .order_by("-at", "-id").first(),
        "names": area_names_under(record.area_code[:6])})


@login_required
@require_POST
def filing_correct(request: HttpRequest, filing_record_id: int) -> HttpResponse:
    """The town records what it did about a correction the district asked for (纠正情况)."""
    record = _filing_record(request, filing_record_id, roles.EDIT_REGISTRY)
    try:
        filing.record_correction(by=request.user, record=record,
                                 correction=request.POST.get("correction", ""),
                                 day=clock.today())
    except (PermissionDenied, filing.FilingError) as exc:
        household = visible_household(request, record.household_id)
        return render_household(request, household, filing_error=str(exc) or "无权登记")
    return redirect(reverse("household_detail", args=[record.household_id]) + "#filings")

"""申请进度查询 pages (no login): the look-up form, the status of the case it opens, and the
applicant's three acts there — withdraw, add a document, print the served 书面通知. The case
comes only from the signed token in the session (`casework.case_status`), never from the URL
or the form; every page answers 200 with the look-up form when there is none."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from doudi.accounts.client_address import client_address
from doudi.benefits.models import OneOffPayment
from doudi.casework import case_status
from doudi.casework.models import Application
from doudi.casework.services import CaseworkError

SESSION_KEY = "doudi_case_status"


def _case(request: HttpRequest) -> Application | None:
    return case_status.read_token(request.session.get(SESSION_KEY))


def _lookup(request: HttpRequest, error: str = "", number: str = "") -> HttpResponse:
    return render(request, "doudi/case_status.html", {
        "error": error, "number": number, "tail_length": case_status.TAIL_LENGTH,
        "failures": settings.DOUDI_CASE_STATUS_FAILURES})


def _expired(request: HttpRequest) -> HttpResponse:
    """No case open (never looked up, or the token expired): the look-up form again."""
    had = request.session.pop(SESSION_KEY, None) is not None
    return _lookup(request, case_status.EXPIRED if had else "")


def _status(request: HttpRequest, app: Application, error: str = "") -> HttpResponse:
    return render(request, "doudi/case_status.html", {
        "st": case_status.status(app), "error": error,
        "max_mb": settings.DOUDI_ATTACHMENT_MAX_BYTES // 1024 // 1024,
        "minutes": settings.DOUDI_CASE_STATUS_MINUTES})


@never_cache
@require_http_methods(["GET", "POST"])
def case_status_page(request: HttpRequest) -> HttpResponse:
    """GET: the open case's status, else the form. POST: a look-up, or 退出查询."""
    if request.method == "POST":
        if request.POST.get("action") == "exit":
            request.session.pop(SESSION_KEY, None)
            return _lookup(request)
        number = request.POST.get("number", "")
        try:
            app = case_status.lookup(number, request.POST.get("tail", ""),
                                     client_address(request))
        except case_status.LookupRefused as exc:
            request.session.pop(SESSION_KEY, None)
            return _lookup(request, str(exc), number.strip()[:24])
        request.session.cycle_key()  # a new session id for the opened case
        request.session[SESSION_KEY] = case_status.issue_token(app)
        return redirect("case_status")
    app = _case(request)
    return _status(request, app) if app is not None else _expired(request)


@never_cache
@require_POST
def case_status_withdraw(request: HttpRequest) -> HttpResponse:
    """撤回申请, after the applicant ticked the confirmation."""
    app = _case(request)
    if app is None:
        return _expired(request)
    if request.POST.get("confirm") != "1":
        return _status(request, app, "请勾选“我确认撤回本申请”后再提交")
    try:
        case_status.withdraw(app, request.POST.get("reason", ""))
    except CaseworkError as exc:
        return _status(request, app, str(exc))
    messages.success(request, "您的申请已撤回")
    return redirect("case_status")


@never_cache
@require_POST
def case_status_upload(request: HttpRequest) -> HttpResponse:
    """补充材料: one JPG, PNG or PDF, checked like every attachment."""
    app = _case(request)
    if app is None:
        return _expired(request)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise CaseworkError("请选择要上传的文件")
        if upload.size > settings.DOUDI_ATTACHMENT_MAX_BYTES:
            raise CaseworkError(
                f"文件过大（上限 {settings.DOUDI_ATTACHMENT_MAX_BYTES // 1024 // 1024} MB）")
        case_status.add_document(app, upload.read(), upload.name or "材料")
    except CaseworkError as exc:
        return _status(request, app, str(exc))
    messages.success(request, "材料已提交，镇（街道）经办人员将一并审核")
    return redirect("case_status")


@never_cache
@require_GET
def case_status_notice(request: HttpRequest) -> HttpResponse:
    """书面通知 of the open case, once served, to print or save as PDF (the applicant's name
    masked: the page proves who asks only by the ID's tail)."""
    app = _case(request)
    if app is None:
        return _expired(request)
    if not case_status.notice_issued(app):
        return _status(request, app, "书面通知尚未送达，暂不能下载")
    sheet = {"app": app, "notice": case_status.served_notice(app),
             "addressee": app.applicant.masked_name if app.applicant else "申请人",
             "payment": OneOffPayment.objects.filter(application=app).first()}
    return render(request, "doudi/documents_print.html", {
        "title": "书面通知", "template": "doudi/_notice_sheet.html", "sheets": [sheet],
        "back": reverse("case_status")})

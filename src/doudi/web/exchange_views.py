"""部门数据 pages: feed types, upload with progress, column mapping, error reports, batches, the
inbox of files waiting, feed-type definitions; and the household's 授权书 and 核对报告."""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.areas.scoping import require
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core.checksums import sha256_file
from doudi.core.excel import new_workbook
from doudi.engine.feeds.feedspec import FIELD_TYPE_LABELS, FeedSpecError
from doudi.exchange import feed_types, jobs
from doudi.exchange.imports import report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob, VerificationReport
from doudi.exchange.readers import SUFFIXES
from doudi.exchange.verification import (
    ConsentError,
    ConsentRequired,
    record_consent,
    request_report,
)
from doudi.registry.models import Person
from doudi.web.access import render_household, require_capability, visible_household


def _jobs_for(user) -> object:  # noqa: ANN001
    return ImportJob.objects.select_related("feed_type", "batch", "created_by").filter(
        area_code__startswith=user.scope_prefix)


def _inbox_files(with_batches: bool = False) -> list[dict]:
    """Files waiting in the inbox; with `with_batches`, the batch each was already imported as
    (same SHA-256), so a file is not imported twice by mistake."""
    inbox = settings.FEEDS_INBOX
    if not inbox.is_dir():
        return []
    files = [{"name": p.name, "size": p.stat().st_size, "path": p}
             for p in sorted(inbox.iterdir()) if p.is_file() and p.suffix.lower() in SUFFIXES]
    if with_batches:
        for f in files:
            f["batch"] = (FeedBatch.objects.filter(checksum=sha256_file(f["path"]))
                          .select_related("feed_type").first())
    return files


def _guess_feed(name: str) -> FeedType | None:
    for ft in FeedType.objects.filter(is_active=True):
        if f"{ft.department}_{ft.name}" in name or ft.key in name:
            return ft
    return None


@login_required
@require_GET
def exchange_home(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.IMPORT_FEEDS)
    types = []
    for ft in FeedType.objects.filter(is_active=True):
        latest = ft.batches.filter(area_code__startswith=request.user.scope_prefix).first()
        types.append({"ft": ft, "latest": latest,
                      "batches": ft.batches.filter(
                          area_code__startswith=request.user.scope_prefix).count()})
    inbox = [{**f, "feed": _guess_feed(f["name"])} for f in _inbox_files(with_batches=True)]
    return render(request, "doudi/exchange_home.html", {
        "types": types, "jobs": _jobs_for(request.user)[:20], "inbox": inbox,
        "inbox_waiting": sum(1 for f in inbox if f["batch"] is None),
        "can_manage": request.user.can(roles.MANAGE_FEEDS)})


@login_required
def exchange_upload(request: HttpRequest, feed_key: str) -> HttpResponse:
    require_capability(request, roles.IMPORT_FEEDS)
    feed = get_object_or_404(FeedType, key=feed_key, is_active=True)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择要上传的文件"
        elif upload.size > settings.DOUDI_UPLOAD_MAX_BYTES:
            error = f"文件过大（上限 {settings.DOUDI_UPLOAD_MAX_BYTES // 1024 // 1024} MB）"
        elif not upload.name.lower().endswith(SUFFIXES):
            error = "请上传 Excel（xlsx/xls）、CSV 或 Parquet 文件"
        else:
            job = jobs.submit(feed, upload.read(), upload.name, user=request.user, channel="ui",
                              source=request.POST.get("source", "").strip() or feed.department,
                              period=request.POST.get("period", "").strip())
            return redirect("exchange_job", job_id=job.pk)
    return render(request, "doudi/exchange_upload.html", {
        "feed": feed, "spec": feed.parsed(), "error": error, "type_labels": FIELD_TYPE_LABELS})


@login_required
@require_POST
def exchange_inbox_import(request: HttpRequest) -> HttpResponse:
    """Import a file waiting in the inbox (FEEDS_INBOX) as the chosen feed type."""
    require_capability(request, roles.IMPORT_FEEDS)
    name = request.POST.get("name", "")
    feed = get_object_or_404(FeedType, key=request.POST.get("feed", ""), is_active=True)
    if name not in {f["name"] for f in _inbox_files()}:
        raise Http404("收件箱中没有该文件")
    data = (settings.FEEDS_INBOX / name).read_bytes()
    job = jobs.submit(feed, data, name, user=request.user, channel="ui",
                      source=f"收件箱 {feed.department}")
    return redirect("exchange_job", job_id=job.pk)


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    require_capability(request, roles.IMPORT_FEEDS)
    job = _jobs_for(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404("导入任务不存在或不在您的管辖范围内")
    return job


@login_required
@require_GET
def exchange_job(request: HttpRequest, job_id: int) -> HttpResponse:
    return _render_job(request, _job(request, job_id))


def _render_job(request: HttpRequest, job: ImportJob, error: str = "") -> HttpResponse:
    report = report_rows(job)
    spec = job.feed_type.parsed()
    context = {"job": job, "report": report.head(200).to_dicts(), "report_total": report.height,
               "spec": spec, "headers": job.counts.get("headers", []) if job.counts else [],
               "missing": set(job.counts.get("missing", [])) if job.counts else set(),
               "error": error}
    template = ("doudi/_exchange_job_status.html" if request.headers.get("HX-Request")
                else "doudi/exchange_job.html")
    return render(request, template, context)


@login_required
@require_POST
def exchange_job_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    spec = job.feed_type.parsed()
    headers = set(job.counts.get("headers", []))
    mapping = {f.key: request.POST.get(f"map_{f.key}", "") for f in spec.fields}
    mapping = {k: v for k, v in mapping.items() if v and v in headers}
    if request.POST.get("remember") == "1":
        for key, header in mapping.items():
            try:
                feed_types.add_alias(job.feed_type, key, header)
            except FeedSpecError as exc:
                messages.error(request, str(exc))
    try:
        jobs.retry(job, mapping)
    except ValueError as exc:
        return _render_job(request, job, error=str(exc))
    return redirect("exchange_job", job_id=job.pk)


@login_required
@require_GET
def exchange_job_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    """The error report as Excel: 工作表、行号、列名、原值、原因、处理 (IDs masked)."""
    job = _job(request, job_id)
    report = report_rows(job)
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    sheet = book.add_worksheet("错误报告")
    bold = book.add_format({"bold": True})
    sheet.write(0, 0, f"{job.feed_type} · 文件：{job.file_name}", bold)
    sheet.write_row(1, 0, ["工作表", "行号", "列名", "原值", "原因", "处理"], bold)
    for n, r in enumerate(report.iter_rows(named=True), start=2):
        sheet.write_row(n, 0, [r.get("sheet") or "", r["row"], r["label"], r["value"] or "",
                               r["reason"], r.get("level") or "拒收"])
    sheet.set_column(0, 1, 8)
    sheet.set_column(2, 4, 28)
    stamp = f"{request.user.username} {timezone.localtime():%Y-%m-%d %H:%M}"
    sheet.write(len(report) + 3, 0, f"导出：{stamp}")
    book.close()
    audit.record(AuditEvent.EXPORT, object_type="exchange.importjob", object_id=job.pk,
                 object_label=f"下载错误报告 {job.file_name}（{report.height} 条）",
                 area_code=job.area_code)
    response = HttpResponse(buffer.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    name = f"错误报告_{job.pk}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@login_required
@require_GET
def exchange_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    require_capability(request, roles.IMPORT_FEEDS)
    batch = get_object_or_404(FeedBatch.objects.select_related("feed_type", "imported_by"),
                              pk=batch_id, area_code__startswith=request.user.scope_prefix)
    return render(request, "doudi/exchange_batch.html", {
        "batch": batch, "jobs": batch.jobs.all(), "spec": batch.feed_type.parsed()})


@login_required
def exchange_type_new(request: HttpRequest) -> HttpResponse:
    require_capability(request, roles.MANAGE_FEEDS)
    error, text = "", request.POST.get("spec", "")
    if request.method == "POST":
        try:
            saved = [feed_types.save(d) for d in feed_types.read_documents(text, "定义")]
        except FeedSpecError as exc:
            error = str(exc)
        else:
            messages.success(request, "已保存数据接口类型：" + "、".join(str(s) for s in saved))
            return redirect("exchange_home")
    return render(request, "doudi/exchange_type_new.html", {
        "error": error, "text": text or _EXAMPLE, "type_labels": FIELD_TYPE_LABELS})


_EXAMPLE = """key: civil_servant_salary
department: 财政
name: 财政供养人员工资
mode: events
record_key: [id_number, month]
person: {id_number: id_number, name: name}
verification: wage
fields:
  - {key: id_number, label: 身份证号, type: id_number}
  - {key: name, label: 姓名, type: text}
  - {key: month, label: 发放年月, type: text}
  - {key: base, label: 应发工资, type: money}
"""


# --- 授权书 and 核对报告 on the household -------------------------------------------------

@login_required
@require_POST
def consent_add(request: HttpRequest, household_id: int) -> HttpResponse:
    household = visible_household(request, household_id)
    require(request.user, household.area_code, roles.EDIT_REGISTRY)
    try:
        signed_on = dt.date.fromisoformat(request.POST.get("signed_on", ""))
    except ValueError:
        return render_household(request, household, consent_error="请填写授权书签署日期")
    raw = request.POST.get("signer", "")
    signer = (Person.objects.filter(pk=int(raw), memberships__household=household).first()
              if raw.isdigit() else None)
    upload = request.FILES.get("scan")
    if upload is not None and upload.size > settings.DOUDI_ATTACHMENT_MAX_BYTES:
        return render_household(request, household, consent_error="扫描件过大")
    try:
        record_consent(by=request.user, household=household, signed_on=signed_on,
                       signer=signer, evidence=request.POST.get("evidence", ""),
                       scan=upload.read() if upload is not None else None,
                       scan_name=upload.name if upload is not None else "",
                       attested=request.POST.get("attested") == "1",
                       note=request.POST.get("note", ""))
    except ConsentError as exc:
        return render_household(request, household, consent_error=exc.message)
    messages.success(request, "已登记授权书")
    return redirect("household_detail", household_id=household.pk)


@login_required
@require_POST
def verification_request(request: HttpRequest, household_id: int) -> HttpResponse:
    household = visible_household(request, household_id)
    require(request.user, household.area_code, roles.VERIFY)
    try:
        day = dt.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        return render_household(request, household,
                                verification_error="请填写核对基准日（年-月-日）")
    try:
        report = request_report(request.user, household, day)
    except ConsentRequired as exc:
        return render_household(request, household, verification_error=str(exc))
    return redirect("verification_report", report_id=report.pk)


@login_required
@require_GET
def verification_report(request: HttpRequest, report_id: int) -> HttpResponse:
    report = VerificationReport.objects.visible_to(request.user, roles.VERIFY).select_related(
        "household", "requested_by", "consent").filter(pk=report_id).first()
    if report is None:
        raise Http404("核对报告不存在或不在您的管辖范围内")
    audit.record(AuditEvent.VIEW, object_type="exchange.verificationreport", object_id=report.pk,
                 object_label=f"查阅{report}", area_code=report.area_code)
    return render(request, "doudi/verification_report.html", {"report": report,
                                                               "c": report.content})

"""上线迁移 › 在保数据 and 上线对账: the district administrator uploads the old system's
caseload files for a dry run (试导入: the plan, household by household, and every refused row),
imports them for real from the dry run that found nothing wrong (the same files, planned again
against the registry as it is then), then uploads the old system's last roster and reconciles.
Views validate and show; `golive.caseload` and `golive.reconcile` act."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.areas.models import area_names
from doudi.core import clock, excel
from doudi.core.errors import ServiceError
from doudi.exchange import storage
from doudi.exchange.readers import SUFFIXES
from doudi.golive import caseload, reconcile
from doudi.golive.models import GoliveImport, Reconciliation
from doudi.web.access import require_capability
from doudi.web.golive_views import district_asked

SHOWN = 200  # rows of a plan or a report shown on the page; the Excel file has them all


def _uploads_dir(record: GoliveImport) -> Path:
    return storage.root() / "golive" / "uploads" / str(record.pk)


def _scoped(request: HttpRequest, import_id: int, what: str) -> GoliveImport:
    require_capability(request, roles.GO_LIVE)
    found = GoliveImport.objects.filter(
        pk=import_id, what=what, area_code__startswith=request.user.scope_prefix or "").first()
    if found is None:
        raise Http404("导入记录不存在或不在您的管辖范围内")
    return found


def _files(request: HttpRequest) -> tuple[list[tuple[str, bytes]], str]:
    uploads = request.FILES.getlist("files") or request.FILES.getlist("file")
    if not uploads:
        return [], "请选择要上传的文件"
    for f in uploads:
        if f.size > settings.DOUDI_UPLOAD_MAX_BYTES:
            return [], f"文件“{f.name}”过大（上限 {settings.DOUDI_UPLOAD_MAX_BYTES >> 20} MB）"
        if not f.name.lower().endswith(SUFFIXES):
            return [], f"文件“{f.name}”不是 Excel（xlsx/xls）或 CSV 文件"
    return [(Path(f.name).name, f.read()) for f in uploads], ""


def _district_or_choose(request: HttpRequest) -> str:
    district, _choices = district_asked(request)
    if district is None:
        raise Http404("请从上线检查页选择区县")
    return district


@login_required
def caseload_page(request: HttpRequest) -> HttpResponse:
    """Upload → dry run; the district's caseload imports so far."""
    require_capability(request, roles.GO_LIVE)
    district = _district_or_choose(request)
    error = ""
    if request.method == "POST":
        files, error = _files(request)
        if files:
            try:
                plan = caseload.plan(files, district_code=district, day=clock.today())
            except ServiceError as exc:
                error = str(exc)
            else:
                record = caseload.record_dry_run(plan, by=request.user)
                folder = _uploads_dir(record)
                folder.mkdir(parents=True, exist_ok=True)
                for name, data in files:
                    (folder / name).write_bytes(data)
                return redirect("golive:caseload_import", import_id=record.pk)
    return render(request, "doudi/golive_caseload.html", {
        "district": district, "name": area_names([district]).get(district, district),
        "error": error, "imports": GoliveImport.objects.filter(
            what=GoliveImport.CASELOAD, area_code=district.ljust(12, "0"))[:20]})


@login_required
@require_GET
def caseload_import(request: HttpRequest, import_id: int) -> HttpResponse:
    return _render_import(request, _scoped(request, import_id, GoliveImport.CASELOAD))


def _importable(record: GoliveImport) -> bool:
    """A dry run that found nothing wrong, its files kept, and no real run since."""
    later = GoliveImport.objects.filter(what=GoliveImport.CASELOAD, mode=GoliveImport.REAL,
                                        area_code=record.area_code, at__gt=record.at).exists()
    return (record.mode == GoliveImport.DRY and record.status == GoliveImport.PLANNED
            and not later and _uploads_dir(record).is_dir())


def _render_import(request: HttpRequest, record: GoliveImport, error: str = "") -> HttpResponse:
    lines, report = caseload.kept(record)
    return render(request, "doudi/golive_caseload_import.html", {
        "record": record, "report": report.head(SHOWN).to_dicts(), "report_total": report.height,
        "lines": lines.head(SHOWN).to_dicts(), "lines_total": lines.height,
        "can_import": _importable(record), "district": record.area_code[:6], "error": error})


@login_required
@require_GET
def caseload_report(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _scoped(request, import_id, GoliveImport.CASELOAD)
    lines, report = caseload.kept(record)
    response = HttpResponse(caseload.report_workbook(lines, report),
                            content_type=excel.CONTENT_TYPE)
    response["Content-Disposition"] = (f"attachment; filename*=UTF-8''golive-caseload-"
                                       f"{record.pk}.xlsx")
    return response


@login_required
@require_POST
def caseload_real(request: HttpRequest, import_id: int) -> HttpResponse:
    """正式导入 the files of a dry run that found nothing wrong, planned again now."""
    record = _scoped(request, import_id, GoliveImport.CASELOAD)
    if not _importable(record):
        return _render_import(request, record, "只能正式导入最近一次无错误的试导入；"
                                               "如文件已导入或已不在，请重新上传试导入")
    folder = _uploads_dir(record)
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
    plan = caseload.plan(files, district_code=record.area_code[:6], day=clock.today())
    try:
        applied = caseload.apply(plan, by=request.user)
    except caseload.CaseloadError:
        made = GoliveImport.objects.filter(what=GoliveImport.CASELOAD,
                                           area_code=record.area_code).first()
        return redirect("golive:caseload_import", import_id=made.pk)
    shutil.rmtree(folder, ignore_errors=True)  # the registry holds it now
    return redirect("golive:caseload_import", import_id=applied.record.pk)


@login_required
def reconcile_page(request: HttpRequest) -> HttpResponse:
    """Upload the last roster; reconcile; the latest reconciliation, town by town."""
    require_capability(request, roles.GO_LIVE)
    district = _district_or_choose(request)
    error, roster_report = "", []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "roster":
                files, error = _files(request)
                if files:
                    name, data = files[0]
                    _record, got = reconcile.import_roster(name, data, district_code=district,
                                                           by=request.user)
                    roster_report = got.report.head(SHOWN).to_dicts()
                    if got.ok:
                        return redirect(f"{request.path}?district={district}")
                    error = f"花名册有 {got.report.height} 处错误，未导入，请改正后重新上传"
            else:
                reconcile.reconcile(district_code=district, by=request.user, day=clock.today())
                return redirect(f"{request.path}?district={district}")
        except ServiceError as exc:
            error = str(exc)
    code = district.ljust(12, "0")
    latest = Reconciliation.objects.filter(area_code=code).first()
    return render(request, "doudi/golive_reconcile.html", {
        "district": district, "name": area_names([district]).get(district, district),
        "error": error, "roster_report": roster_report,
        "roster": reconcile.latest_roster(district), "latest": latest,
        "differences": (latest.differences[:SHOWN] if latest else []),
        "differences_total": len(latest.differences) if latest else 0})

"""上线：工作人员账号 — the system administrator uploads the staff spreadsheet, reads the dry
run's plan row by row, confirms the real run, and prints the first-login passwords, shown
this once (`golive.staff`, `golive.staff_sheet`). The page also lists the villages and towns
still without a 村协理员 or an approver (`golive.staff_coverage`)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from doudi.accounts import roles
from doudi.accounts.models import User
from doudi.areas.models import Area
from doudi.core import areacode
from doudi.golive import layouts, staff, staff_coverage, staff_sheet
from doudi.golive.models import GoliveImport
from doudi.web.access import require_capability

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt")


def _districts(user: User) -> list[Area]:
    """The districts (县/区) the administrator's area covers."""
    prefix = user.scope_prefix or "\0"
    if user.area.level == areacode.COUNTY:
        return [user.area]
    return list(Area.objects.filter(level=areacode.COUNTY, code__startswith=prefix))


def _record(user: User, import_id: str) -> GoliveImport:
    found = (GoliveImport.objects.filter(what=GoliveImport.STAFF,
                                         area_code__startswith=user.scope_prefix or "\0",
                                         pk=import_id).first()
             if str(import_id).isdigit() else None)
    if found is None:
        raise Http404("导入记录不存在或不在您的管辖范围内")
    return found


def _gaps(district: Area | None) -> dict:
    """The district's gaps, and the same by town for the page: whether the town lacks an
    approver, which of its villages lack an assistant."""
    gaps = staff_coverage.gaps(district.code) if district else []
    towns: dict[str, dict] = {}
    for gap in gaps:
        town = towns.setdefault(gap.area_code[:9], {"name": gap.town_name, "no_approver": False,
                                                    "villages": []})
        if gap.level == areacode.TOWN:
            town["no_approver"] = True
        else:
            town["villages"].append(gap.area_name)
    return {"gaps": gaps, "gap_towns": list(towns.values())}


def _upload_error(request: HttpRequest) -> str:
    upload = request.FILES.get("file")
    if upload is None:
        return "请选择工作人员名单文件"
    if upload.size > settings.DOUDI_UPLOAD_MAX_BYTES:
        return f"文件过大（上限 {settings.DOUDI_UPLOAD_MAX_BYTES // 1024 // 1024} MB）"
    if not upload.name.lower().endswith(SUFFIXES):
        return "请上传 Excel（xlsx/xls）或 CSV 文件"
    return ""


def _page(request: HttpRequest, districts: list[Area], *, error: str = "",
          shown: GoliveImport | None = None,
          outcome: staff.StaffOutcome | None = None) -> HttpResponse:
    """The page; a refused form is shown again with its reason (200, as the other forms)."""
    chosen = request.POST.get("district") or request.GET.get("district", "")
    district = next((d for d in districts if d.code[:6] == chosen[:6]), None) or (
        districts[0] if districts else None)
    rows = outcome.plan.rows if outcome else (staff.plan_rows(shown) if shown else [])
    return render(request, "doudi/golive_staff.html", {
        "districts": districts, "district": district, "error": error, "shown": shown,
        "outcome": outcome, "rows": rows, "spec": layouts.get(staff.LAYOUT_KEY).spec,
        "confirmable": bool(shown and shown.mode == GoliveImport.DRY
                            and shown.status == GoliveImport.PLANNED),
        **_gaps(district),
        "records": staff.records_for(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def golive_staff(request: HttpRequest) -> HttpResponse:
    """GET: the upload form, a recorded plan (?import=), the gaps. POST action=plan: the dry
    run, then its plan. POST action=real with the dry run's id: the real run from the same file,
    answered with the password sheet (not stored anywhere, not cached)."""
    require_capability(request, roles.MANAGE_USERS)
    districts = _districts(request.user)
    if request.method == "GET":
        shown = _record(request.user, request.GET["import"]) if "import" in request.GET else None
        return _page(request, districts, shown=shown)
    if request.POST.get("action") == "real":
        return _real(request, districts, _record(request.user, request.POST.get("import", "")))
    error = _upload_error(request)
    district = next((d for d in districts if d.code[:6] == request.POST.get("district", "")[:6]),
                    None)
    if not error and district is None:
        error = "请选择区县"
    if error:
        return _page(request, districts, error=error)
    upload = request.FILES["file"]
    try:
        outcome = staff.import_staff(upload.read(), Path(upload.name).name,
                                     district_code=district.code, by=request.user)
    except staff.StaffImportError as exc:
        return _page(request, districts, error=exc.message)
    return redirect(f"{reverse('golive:staff')}?import={outcome.record.pk}")


def _real(request: HttpRequest, districts: list[Area], dry: GoliveImport) -> HttpResponse:
    if dry.mode != GoliveImport.DRY or dry.status != GoliveImport.PLANNED:
        return _page(request, districts, shown=dry,
                     error="只能对无错误的试导入确认正式导入，请重新上传")
    try:
        data, name = staff.kept_file(dry)
        outcome = staff.import_staff(data, name, district_code=dry.area_code, real=True,
                                     by=request.user)
    except staff.StaffImportError as exc:
        return _page(request, districts, shown=dry, error=exc.message)
    if not outcome.issued:
        return _page(request, districts, shown=outcome.record, outcome=outcome,
                     error="" if outcome.ok else outcome.plan.summary())
    sheet = staff_sheet.render(outcome.issued, outcome.plan.district,
                               back=f"{reverse('golive:staff')}?import={outcome.record.pk}")
    response = HttpResponse(sheet)
    response["Cache-Control"] = "no-store"
    return response

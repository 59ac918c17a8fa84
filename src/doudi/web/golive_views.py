"""上线迁移 pages: the go-live checklist of the user's district, each item ✓/✗ with what to do
and where, and the steps of going live (docs/going-live.md)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from doudi.accounts import roles
from doudi.areas.models import area_names
from doudi.core import clock
from doudi.golive import checklist
from doudi.web.access import require_capability

# The go-live steps' pages (上线迁移 › 工作人员 / 在保数据 / 对账) by path.
STAFF_PAGE, CASELOAD_PAGE, RECONCILE_PAGE = "/golive/staff/", "/golive/caseload/", \
    "/golive/reconcile/"  # the same addresses as golive_urls gives them


def _fix_links() -> dict[str, tuple[str, str]]:
    """Item key → (page label, address) where it is put right; items done on the server
    (the key backup, the scheduled backups) have none."""
    return {
        "policy": ("政策参数", reverse("policy_list")),
        "calendar": ("节假日安排", reverse("holiday_calendar")),
        "bank_layout": ("银行文件格式", reverse("bank_layouts")),
        "accounts": ("工作人员账号", STAFF_PAGE),
        "caseload": ("在保数据导入", CASELOAD_PAGE),
        "reconciled": ("上线对账", RECONCILE_PAGE),
        "first_payment": ("资金发放", reverse("payments")),
    }


def _steps() -> list[tuple[str, str, str]]:
    return [
        ("工作人员账号", STAFF_PAGE, "导入工作人员名单，为各镇街、村（社区）建立账号"),
        ("在保数据", CASELOAD_PAGE, "先试导入原系统导出的在保数据，处理被拒的行，再正式导入"),
        ("上线对账", RECONCILE_PAGE, "导入原系统末次花名册，与导入的在保数据和现行规则逐户比对"),
    ]


def district_asked(request: HttpRequest) -> tuple[str | None, list[str]]:
    """The district asked for (?district=), the user's own, or the only one under the user's
    area; None with the candidates when the user must choose."""
    scope = request.user.scope_prefix or ""
    given = request.GET.get("district", "").strip()
    if given:
        if not (given.isdigit() and len(given) == 6 and given.startswith(scope[:6])):
            raise Http404("区县不存在或不在您的管辖范围内")
        return given, []
    if len(scope) >= 6:
        return scope[:6], []
    found = [d for d in checklist.districts() if d.startswith(scope)]
    return (found[0], []) if len(found) == 1 else (None, found)


@login_required
@require_GET
def checklist_page(request: HttpRequest) -> HttpResponse:
    """上线检查: each item ✓/✗ with what it found and what to do."""
    require_capability(request, roles.GO_LIVE)
    district, choices = district_asked(request)
    if district is None:
        return render(request, "doudi/golive_checklist.html", {
            "choices": [(d, area_names([d]).get(d, d)) for d in choices]})
    day = clock.today()
    items = checklist.check(district, day)
    links = _fix_links()
    return render(request, "doudi/golive_checklist.html", {
        "district": district, "name": area_names([district]).get(district, district),
        "day": day, "rows": [(i, links.get(i.key)) for i in items],
        "ready": checklist.ready(items), "todo": sum(i.required and not i.ok for i in items),
        "steps": _steps()})

"""Reports a district owes upward (报表报送): templates as data (report_templates.yaml), the
periods each is due for, filling from the statistics, review and submission by the district,
receipt by the upper level, and the bureau's Excel layout. A period past its due date without
a submitted report shows as 逾期."""

from __future__ import annotations

import calendar
import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.excel import new_workbook
from doudi.reports import statistics
from doudi.reports.models import ReportInstance

TEMPLATES_FILE = Path(__file__).with_name("report_templates.yaml")


class FilingError(ServiceError):
    """A refused report action; the message is Chinese."""


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    period: str
    rows: tuple[tuple[str, str], ...]
    due_day: int = 10
    due_dates: tuple[str, ...] = ()
    # who receives it: 民政's level above always; 乡村振兴 too for a 双线报送 report
    lines: tuple[str, ...] = ("civil_affairs",)

    @property
    def rural(self) -> bool:
        return RURAL in self.lines


CIVIL_AFFAIRS, RURAL = "civil_affairs", "rural"
LINES = {CIVIL_AFFAIRS: "民政", RURAL: "乡村振兴"}


@lru_cache(maxsize=1)
def templates() -> dict[str, Template]:
    docs = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))["templates"]
    out = {}
    for d in docs:
        rows = tuple((r["label"], r["figure"]) for r in d["rows"])
        unknown = [f for _, f in rows if f not in statistics.FIGURES]
        lines = tuple(d.get("lines", [CIVIL_AFFAIRS]))
        if unknown or d["period"] not in ("month", "dates") or CIVIL_AFFAIRS not in lines \
                or set(lines) - set(LINES):
            raise ValueError(f"报表模板 {d['code']}：未知的统计项、报告期或报送条线 "
                             f"{unknown or lines}")
        out[d["code"]] = Template(d["code"], d["name"], d["period"], rows,
                                  int(d.get("due_day", 10)), tuple(d.get("due_dates", ())),
                                  lines)
    return out


@dataclass(frozen=True)
class Due:
    template: Template
    period: str  # what the report is for: 2026-10, or its due date for a dates template
    month: dt.date  # the month whose figures fill it
    due_on: dt.date


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def periods(today: dt.date, months: int = 12) -> list[Due]:
    """Every report due from `months` months ago up to the next due date, latest first."""
    out: list[Due] = []
    start = today.replace(day=1)
    for t in templates().values():
        if t.period == "month":
            month = start
            for _ in range(months + 1):
                nxt = _next_month(month)
                due = nxt.replace(day=min(t.due_day, calendar.monthrange(nxt.year,
                                                                         nxt.month)[1]))
                if due <= _next_month(_next_month(today)):
                    out.append(Due(t, f"{month:%Y-%m}", month, due))
                month = (month - dt.timedelta(days=1)).replace(day=1)
        else:
            for year in (today.year - 1, today.year):
                for md in t.due_dates:
                    due = dt.date.fromisoformat(f"{year}-{md}")
                    if today - dt.timedelta(days=31 * months) <= due <= today + dt.timedelta(
                            days=92):
                        month = (due.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
                        out.append(Due(t, due.isoformat(), month, due))
    return sorted(out, key=lambda d: (d.due_on, d.template.code), reverse=True)


def _area_of(by) -> str:  # noqa: ANN001
    area = getattr(by, "scope_prefix", "")
    if len(area) != 6:
        raise PermissionDenied("报表由县（区）民政部门填报")
    return area


def fill(*, by, code: str, period: str) -> ReportInstance:  # noqa: ANN001
    """Fill (or refill, while not yet submitted) a report from the statistics."""
    if not by.can(roles.SUBMIT_FILING):
        raise PermissionDenied("报表由区县经办或审批人员填报")
    area = _area_of(by)
    due = next((d for d in periods(clock.today(), 24)
                if d.template.code == code and d.period == period), None)
    if due is None:
        raise FilingError("没有该期报表")
    # filled from the records as they are now (a clerk refills after correcting one), unless
    # the month has closed: then from its snapshot, as every page shows it
    table = statistics.month_table(area, due.month, fresh=True)
    names = {c[:9]: n for c, n in Area.objects.filter(code__startswith=area, level=4)
             .values_list("code", "name")}
    data = {"month": f"{due.month:%Y-%m}", "columns": [names.get(c, c) for c in table.rows],
            "rows": [{"label": label, "figure": figure, "total": table.total.get(figure),
                      "by_area": [table.rows[c].get(figure) for c in table.rows]}
                     for label, figure in due.template.rows]}
    with transaction.atomic():
        row = ReportInstance.objects.filter(template=code, period=period,
                                            area_code=area).first()
        if row is not None and row.status != ReportInstance.DRAFT:
            raise FilingError("已报送的报表不能重新填报")
        row = row or ReportInstance(template=code, period=period, area_code=area,
                                    due_on=due.due_on)
        row.data = data
        row.save()
    return row


def submit(*, by, report: ReportInstance) -> ReportInstance:  # noqa: ANN001
    if not by.can(roles.SUBMIT_FILING) or _area_of(by) != report.area_code:
        raise PermissionDenied("报表由本区县审核报送")
    if report.status != ReportInstance.DRAFT:
        raise FilingError("报表已报送")
    report.status, report.submitted_by, report.submitted_at = (
        ReportInstance.SUBMITTED, by, timezone.now())
    report.save()
    return report


def receive(*, by, report: ReportInstance) -> ReportInstance:  # noqa: ANN001
    """The upper level (a city or province above the district) acknowledges receipt: an
    officer holding `reports.receive_filing` (上级经办), not whoever can read the report."""
    scope = getattr(by, "scope_prefix", None)
    if not by.can(roles.RECEIVE_FILING) or scope is None or \
            len(scope) >= len(report.area_code) or \
            not report.area_code.startswith(scope):
        raise PermissionDenied("报表由市、省的上级经办人员接收")
    if report.status != ReportInstance.SUBMITTED:
        raise FilingError("报表尚未报送")
    report.status, report.received_by, report.received_at = (
        ReportInstance.RECEIVED, by, timezone.now())
    report.save()
    return report


def may_receive_rural(by, report: ReportInstance) -> bool:  # noqa: ANN001
    """乡村振兴 staff of the district or above receive a 双线报送 report of their area."""
    scope = getattr(by, "scope_prefix", None)
    template = templates().get(report.template)
    return (template is not None and template.rural and by.can(roles.RECEIVE_RURAL_FILING)
            and scope is not None and len(scope) <= len(report.area_code)
            and report.area_code.startswith(scope))


def receive_rural(*, by, report: ReportInstance) -> ReportInstance:  # noqa: ANN001
    """双线报送: the 乡村振兴 line acknowledges a submitted report (民政's receipt is `receive`;
    the two are independent)."""
    if not may_receive_rural(by, report):
        raise PermissionDenied("该报表由乡村振兴部门工作人员接收")
    if report.status == ReportInstance.DRAFT:
        raise FilingError("报表尚未报送")
    if report.rural_received_at is not None:
        raise FilingError("乡村振兴部门已接收该报表")
    report.rural_received_by, report.rural_received_at = by, timezone.now()
    report.save()
    return report


def rural_reports(by) -> list[ReportInstance]:  # noqa: ANN001
    """The submitted 双线报送 reports of the user's area (what 乡村振兴 staff see)."""
    codes = [t.code for t in templates().values() if t.rural]
    return list(ReportInstance.objects.filter(
        template__in=codes, area_code__startswith=by.scope_prefix).exclude(
        status=ReportInstance.DRAFT).order_by("-due_on", "template", "area_code")[:200])


def xlsx(report: ReportInstance, area_name: str) -> bytes:
    """The report in the bureau's layout: title, period, rows of figures, a column per town."""
    t = templates()[report.template]
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    sheet = book.add_worksheet(t.name[:31])
    bold = book.add_format({"bold": True})
    money = {f for _, f in t.rows if f in statistics.MONEY}
    sheet.write(0, 0, t.name, bold)
    month = report.data.get("month", "")
    sheet.write(1, 0, f"填报单位：{area_name}　报告期：{report.period}（数据月份 {month}）"
                      f"　状态：{report.get_status_display()}")
    sheet.write_row(3, 0, ["项目", "合计", *report.data.get("columns", [])], bold)

    def cell(figure: str, value: int | None) -> object:
        if value is None:
            return "—"
        return round(value / 100, 2) if figure in money else value

    for n, r in enumerate(report.data.get("rows", []), start=4):
        sheet.write_row(n, 0, [r["label"], cell(r["figure"], r["total"]),
                               *(cell(r["figure"], v) for v in r["by_area"])])
    book.close()
    return buffer.getvalue()

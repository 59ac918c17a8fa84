"""Reports owed upward: due dates from the templates, filled from the statistics (never typed
in), submitted by the district, received by the city; a period past due shows late."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from python_calamine import CalamineWorkbook

from doudi.benefits import services as benefits
from doudi.reports import filing, statistics
from doudi.reports.models import ReportInstance
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
D = dt.date


def test_due_dates_follow_the_templates() -> None:
    due = {(d.template.code, d.period): d for d in filing.periods(D(2026, 11, 30))}
    october = due[("monthly_assistance", "2026-10")]
    assert (october.month, october.due_on) == (D(2026, 10, 1), D(2026, 11, 10))
    assert due[("monthly_assistance", "2026-11")].due_on == D(2026, 12, 10)
    progress = due[("monitoring_progress", "2026-10-10")]
    assert (progress.month, progress.due_on) == (D(2026, 9, 1), D(2026, 10, 10))
    assert ("monitoring_progress", "2026-12-10") in due and (
        "monitoring_progress", "2026-07-14") in due


def test_fill_submit_receive(world, users) -> None:
    benefits.enroll(by=users.district_approver, household=world.village_hh, programme="dibao",
                    amount_fen=50_000, start_date=D(2026, 9, 1))
    with pytest.raises(PermissionDenied):
        filing.fill(by=users.town_officer, code="monthly_assistance", period="2026-10")
    report = filing.fill(by=users.district_officer, code="monthly_assistance",
                         period="2026-10")
    table = statistics.month_table("341002", D(2026, 10, 1))
    rows = {r["figure"]: r for r in report.data["rows"]}
    assert rows["covered_households"]["total"] == table.total["covered_households"] == 1
    assert report.due_on == D(2026, 11, 10) and report.status == ReportInstance.DRAFT
    with pytest.raises(PermissionDenied):
        filing.receive(by=users.district_approver, report=report)
    filing.submit(by=users.district_approver, report=report)
    with pytest.raises(filing.FilingError, match="不能重新填报"):
        filing.fill(by=users.district_officer, code="monthly_assistance", period="2026-10")
    with pytest.raises(PermissionDenied):  # the read-only supervisor reads, never receives
        filing.receive(by=users.supervisor, report=report)
    assert report.status == ReportInstance.SUBMITTED
    filing.receive(by=users.upper_officer, report=report)  # 上级经办 (reports.receive_filing)
    assert report.status == ReportInstance.RECEIVED
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(filing.xlsx(report, "屯溪区"))) \
        .get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "社会救助工作月报表" and sheet[4][:2] == ["在保户数", 1]


def test_the_list_shows_late_reports(client, world) -> None:
    client.login(username="district_officer", password=PASSWORD)
    page = client.get("/reports/filings/").content.decode()
    assert "社会救助工作月报表" in page and "逾期" in page  # past periods not submitted
    made = client.post("/reports/filings/", {"template": "monthly_assistance",
                                             "period": "2026-10"})
    assert made.status_code == 302
    detail = client.get(made["Location"]).content.decode()
    assert "审核并报送" in detail and "在保户数" in detail
    client.login(username="supervisor", password=PASSWORD)
    assert "屯溪区" in client.get("/reports/filings/").content.decode()

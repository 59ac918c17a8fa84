"""The payment pages: build, maker-checker review, bank file and bank result, failed payments,
and an enrollment's changes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from doudi.benefits import services
from doudi.benefits.models import Enrollment, PaymentLine, PaymentRun
from tests.conftest import PASSWORD
from tests.payees import card

ACCOUNT = card("621700123456789")

pytestmark = pytest.mark.django_db


def test_a_month_through_the_pages(client, world, shipped_parameters) -> None:
    e = services.enroll(by=world.users.district_approver, household=world.village_hh,
                        programme="dibao", amount_fen=61_050, start_date=dt.date(2026, 1, 1))
    client.login(username="district_officer", password=PASSWORD)
    spaced = " ".join(ACCOUNT[i:i + 4] for i in range(0, 16, 4))  # as printed on the card
    page = client.post(f"/enrollments/{e.pk}/payee/", {
        "action": "request", "holder": "member", "person": str(e.payee_person_id),
        "bank": "徽商银行", "account_kind": "card", "account": spaced, "reason": "补登账号"})
    assert page.status_code == 302
    change = e.payee_changes.get()
    client.login(username="district_approver", password=PASSWORD)
    page = client.post(f"/enrollments/{e.pk}/payee/", {"action": "approve",
                                                       "change": str(change.pk)})
    assert page.status_code == 302
    e.refresh_from_db()
    assert e.payee_account == ACCOUNT
    client.login(username="district_officer", password=PASSWORD)
    response = client.post("/payments/", {"month": "2026-03"})
    run = PaymentRun.objects.get()
    assert response["Location"].endswith(f"/payments/{run.pk}/")
    page = client.get(f"/payments/{run.pk}/").content.decode()
    assert "610.50" in page and ACCOUNT not in page  # account masked
    approve = {"action": "approve", "opinion": "同意", "confirm": "1"}
    page = client.post(f"/payments/{run.pk}/act/", approve).content.decode()
    assert "待另一名区县审批人员审核" in page or "双人复核" in page  # the maker cannot approve
    client.login(username="district_approver", password=PASSWORD)
    assert client.post(f"/payments/{run.pk}/act/", approve).status_code == 302
    client.login(username="district_officer", password=PASSWORD)
    bank = client.post(f"/payments/{run.pk}/act/", {"action": "bank_file", "layout": "default"})
    text = bank.content.decode("utf-8-sig")
    assert ACCOUNT in text and "610.50" in text
    line = PaymentLine.objects.get()
    result = f"流水号,结果,失败原因\n{line.pk},失败,账户已冻结\n".encode("gb18030")
    client.post(f"/payments/{run.pk}/act/", {"action": "bank_result",
                                             "file": SimpleUploadedFile("回盘.csv", result)})
    assert client.get("/payments/failed/").content.decode().count("账户已冻结") == 1
    page = client.post(f"/enrollments/{e.pk}/change/", {
        "kind": "decrease", "day": "2026-04-01", "amount": "500", "reason": "收入增加"})
    e.refresh_from_db()
    assert page.status_code == 302 and e.amount_fen == 50_000
    client.post("/payments/", {"month": "2026-04"})
    april = PaymentLine.objects.get(month=dt.date(2026, 4, 1))
    assert (april.regular_fen, april.arrears_fen) == (50_000, 61_050)  # March paid again


def test_village_assistant_cannot_build_or_change(client, world, shipped_parameters) -> None:
    e = services.enroll(by=world.users.district_approver, household=world.village_hh,
                        programme="dibao", amount_fen=10_000, start_date=dt.date(2026, 1, 1))
    client.login(username="village_assistant", password=PASSWORD)
    assert "区县民政部门" in client.post("/payments/", {"month": "2026-03"}).content.decode()
    assert not PaymentRun.objects.exists()
    page = client.post(f"/enrollments/{e.pk}/change/", {
        "kind": "stop", "day": "2026-04-01", "reason": "测试"}).content.decode()
    assert "保障金变更由镇街审批或区县民政部门办理" in page
    assert Enrollment.objects.get(pk=e.pk).status == "active"


def test_funds_report_equals_the_rosters(client, world, shipped_parameters) -> None:


    u = world.users
    services.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                    amount_fen=50_000, start_date=dt.date(2026, 1, 1))
    services.enroll(by=u.district_approver, household=world.other_town_hh, programme="dibao",
                    amount_fen=30_000, start_date=dt.date(2026, 1, 1))
    for month in (dt.date(2026, 1, 1), dt.date(2026, 2, 1)):
        services.build_run(by=u.district_officer, month=month, area_code="341002")
    PaymentLine.objects.filter(month=dt.date(2026, 1, 1)).update(status="paid")
    client.login(username="district_officer", password=PASSWORD)
    client.post("/payments/funds/", {"year": "2026", "area": "341002102000",
                                     "programme": "dibao", "amount": "12000"})
    page = client.get("/payments/funds/?year=2026").content.decode()
    assert "500.00" in page and "300.00" in page and "12,000.00" in page
    assert "8.33%" in page  # 黎阳镇: (500 paid + 500 pending) / 12,000
    book = client.get("/payments/funds/?year=2026&format=xlsx").content
    rows = CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_name("按月").to_python()
    assert sum(float(r[4]) + float(r[5]) for r in rows[1:]) == 1_600.0

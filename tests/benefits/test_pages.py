"""The payment pages: build, maker-checker review, bank file and bank result, failed payments,
and an enrollment's changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from doudi.benefits import services
from doudi.benefits.models import Enrollment, PaymentLine, PaymentRun
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_month_through_the_pages(client, world, shipped_parameters) -> None:
    e = services.enroll(by=world.users.district_approver, household=world.village_hh,
                        programme="dibao", amount_fen=61_050, start_date=dt.date(2026, 1, 1))
    client.login(username="district_officer", password=PASSWORD)
    page = client.post(f"/enrollments/{e.pk}/change/", {
        "kind": "payee", "payee_name": "张三丰", "payee_account": "6217 0012 3456 7890",
        "bank": "徽商银行"})
    assert page.status_code == 302
    response = client.post("/payments/", {"month": "2026-03"})
    run = PaymentRun.objects.get()
    assert response["Location"].endswith(f"/payments/{run.pk}/")
    page = client.get(f"/payments/{run.pk}/").content.decode()
    assert "610.50" in page and "6217001234567890" not in page  # account masked
    page = client.post(f"/payments/{run.pk}/act/", {"action": "approve"}).content.decode()
    assert "待另一名区县审批人员审核" in page or "双人复核" in page  # the maker cannot approve
    client.login(username="district_approver", password=PASSWORD)
    assert client.post(f"/payments/{run.pk}/act/", {"action": "approve"}).status_code == 302
    client.login(username="district_officer", password=PASSWORD)
    bank = client.post(f"/payments/{run.pk}/act/", {"action": "bank_file", "layout": "default"})
    text = bank.content.decode("utf-8-sig")
    assert "6217001234567890" in text and "610.50" in text
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

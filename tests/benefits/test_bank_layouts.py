"""银行文件格式 as data: parsing what staff type, the shipped layouts, a district's own Excel
layout with its own result columns, and who may change which layout."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied
from python_calamine import CalamineWorkbook

from doudi.benefits import bank_files, bank_layouts, services
from doudi.benefits.models import BankLayout, PaymentLine, PaymentRun
from tests.conftest import PASSWORD
from tests.payees import card, give_payee

ACCOUNT = card("621700123456789")

L = bank_layouts


def test_columns_are_parsed_from_chinese_lines() -> None:
    cols = L.parse_columns("序号=流水号\n卡号：账号\n\n姓名＝户名\n发放金额=金额（分）\n")
    assert cols == (("序号", "line"), ("卡号", "account"), ("姓名", "name"),
                    ("发放金额", "amount_fen"))
    assert L.parse_columns(L.columns_text(cols)) == cols


@pytest.mark.parametrize(("text", "message"), [
    ("卡号=账号\n金额=金额", "流水号"),
    ("序号=流水号\n金额=金额", "账号"),
    ("序号=流水号\n卡号=账号\n金额=工资", "未知字段"),
    ("序号=流水号\n卡号=账号\n卡号=金额", "重复"),
    ("序号 流水号", "表头=字段"),
])
def test_bad_columns_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(L.LayoutError, match=message):
        L.parse_columns(text)


def test_codes_and_result_values() -> None:
    codes = L.parse_codes("dibao=A1\n临时救助=C3")
    assert (codes["dibao"], codes["linshi"], codes["tekun"]) == ("A1", "C3", "02")
    with pytest.raises(L.LayoutError, match="救助项目=代码"):
        L.parse_codes("没有的项目=9")
    layout = L.make_layout(columns="序号=流水号\n卡号=账号\n金额=金额",
                           success_values="ok， 00 ,", result_status="状态")
    assert layout.success_values == ("ok", "00")
    rows = L.read_result(layout, [{"流水号": "7", "状态": "00"}, {"流水号": "8", "状态": "E1"}])
    assert [(r.line, r.paid, r.reason) for r in rows] == [("7", True, "银行退回"),
                                                          ("8", False, "银行退回")]
    with pytest.raises(L.LayoutError, match="状态"):
        L.read_result(layout, [{"流水号": "7", "结果": "成功"}])


pytestmark_db = pytest.mark.django_db  # the first tests need no database


@pytestmark_db
def test_shipped_layouts_are_there_and_read_only(world) -> None:
    codes = set(bank_files.layouts_for(world.users.district_officer).values_list("code",
                                                                                   flat=True))
    assert {"default", "gbk_plain", "excel"} <= codes
    admin = world.users.district_admin
    with pytest.raises(PermissionDenied):
        bank_files.save_layout(by=admin, layout=BankLayout.objects.get(code="default"),
                               code="default", name="x", columns="a=流水号\nb=账号\nc=金额",
                               encoding="utf-8-sig", file_format="csv", result_line="流水号",
                               result_status="结果", result_reason="", success_values="成功")


def _district_layout(world) -> BankLayout:
    return bank_files.save_layout(
        by=world.users.district_admin, layout=BankLayout(), code="huishang", name="徽商银行代发",
        columns="序号=流水号\n卡号=账号\n姓名=户名\n金额分=金额（分）\n项目=项目代码",
        codes=L.parse_codes("dibao=DB"), encoding="gb18030", file_format="xlsx",
        result_line="序号", result_status="处理结果", result_reason="备注", success_values="00")


@pytestmark_db
def test_only_a_district_admin_keeps_layouts(world) -> None:
    with pytest.raises(PermissionDenied):
        bank_files.save_layout(by=world.users.district_officer, layout=BankLayout(),
                               code="x", name="x", columns="a=流水号\nb=账号\nc=金额",
                               encoding="utf-8-sig", file_format="csv", result_line="流水号",
                               result_status="结果", result_reason="", success_values="成功")
    row = _district_layout(world)
    assert row.area_code == world.users.district_admin.scope_prefix
    with pytest.raises(L.LayoutError, match="已被使用"):
        bank_files.save_layout(
            by=world.users.district_admin, layout=BankLayout(), code="huishang", name="重复",
            columns="a=流水号\nb=账号\nc=金额", encoding="utf-8-sig", file_format="csv",
            result_line="流水号", result_status="结果", result_reason="", success_values="成功")


@pytestmark_db
def test_a_district_layout_writes_excel_and_reads_its_own_answer(world,
                                                                  shipped_parameters) -> None:
    u = world.users
    _district_layout(world)
    e = services.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                        amount_fen=61_050, start_date=dt.date(2026, 1, 1))
    give_payee(u, e, ACCOUNT)
    run = services.build_run(by=u.district_officer, month=dt.date(2026, 3, 1),
                             area_code=u.district_officer.area_code).run
    services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
    data, name, content_type = bank_files.bank_file(by=u.district_officer, run=run,
                                                    layout="huishang")
    assert name.endswith(".xlsx") and "spreadsheetml" in content_type
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    header, *rows = sheet.to_python()
    assert header == ["序号", "卡号", "姓名", "金额分", "项目"]
    line = PaymentLine.objects.get()
    assert rows == [[str(line.pk), ACCOUNT, "张三丰", "61050", "DB"]]
    run.refresh_from_db()
    assert run.bank_layout == "huishang"
    # the bank answers in Excel with its own column names
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    ws = book.add_worksheet()
    ws.write_row(0, 0, ["序号", "处理结果", "备注"])
    ws.write_row(1, 0, [line.pk, "E7", "卡已挂失"])  # a number, as banks' Excel has it
    book.close()
    counts = bank_files.bank_result(by=u.district_officer, run=run, data=buffer.getvalue())
    assert counts == {"paid": 0, "failed": 1, "unknown": 0}
    line.refresh_from_db()
    assert (line.status, line.failure) == (PaymentLine.FAILED, "卡已挂失")
    assert PaymentRun.objects.get().status == PaymentRun.SETTLED


@pytestmark_db
def test_layout_pages(client, world) -> None:
    client.login(username="district_admin", password=PASSWORD)
    page = client.get("/payments/bank-layouts/").content.decode()
    assert "社保卡/一卡通 通用格式" in page and "新增格式" in page
    bad = client.post("/payments/bank-layouts/new/", {
        "code": "nb", "name": "农商行", "columns": "卡号=账号\n金额=金额", "encoding": "gb18030",
        "file_format": "csv", "codes": "", "result_line": "流水号", "result_status": "结果",
        "result_reason": "", "success_values": "成功", "active": "on"})
    assert "必须包含“流水号”" in bad.content.decode()
    assert not BankLayout.objects.filter(code="nb").exists()
    ok = client.post("/payments/bank-layouts/new/", {
        "code": "nb", "name": "农商行", "columns": "流水号=流水号\n卡号=账号\n金额=金额",
        "encoding": "gb18030", "file_format": "csv", "codes": "最低生活保障（低保）=L1",
        "result_line": "流水号", "result_status": "结果", "result_reason": "",
        "success_values": "成功", "active": "on"})
    assert ok.status_code == 302
    row = BankLayout.objects.get(code="nb")
    assert row.codes["dibao"] == "L1" and row.encoding == "gb18030"
    shipped = BankLayout.objects.get(code="default")
    refused = client.post(f"/payments/bank-layouts/{shipped.pk}/", {
        "code": "default", "name": "改名", "columns": "流水号=流水号\n卡号=账号\n金额=金额",
        "encoding": "gb18030", "file_format": "csv", "codes": "", "result_line": "流水号",
        "result_status": "结果", "result_reason": "", "success_values": "成功"})
    assert "不能修改" in refused.content.decode()
    shipped.refresh_from_db()
    assert shipped.name != "改名"
    client.login(username="district_officer", password=PASSWORD)
    assert client.get("/payments/bank-layouts/new/").status_code == 403
    assert client.get(f"/payments/bank-layouts/{row.pk}/").status_code == 200

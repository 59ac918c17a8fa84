"""Caseload import (在保数据导入): an old system's export read, checked household by household,
written all or nothing, and a second import of the same content changing nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment, EnrollmentEvent, ReviewTask
from doudi.core import idnumber
from doudi.golive import caseload
from doudi.golive.models import GoliveImport, HistoricalDecision, LegacyHousehold
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person

DAY = dt.date(2026, 11, 20)
DISTRICT = "341002"


def _id(region: str, born: dt.date, seq: int, sex: str) -> str:
    return idnumber.make(region, born, seq, sex)


def _card(prefix: str, body: int) -> str:
    """A 19-digit bank card number with its Luhn digit."""
    digits = f"{prefix}{body:0{18 - len(prefix)}d}"
    for check in "0123456789":
        from doudi.benefits.banks import luhn_ok
        if luhn_ok(digits + check):
            return digits + check
    raise AssertionError


HEAD_A = _id("341002", dt.date(1968, 4, 2), 11, "M")
WIFE_A = _id("341002", dt.date(1970, 9, 15), 22, "F")
SON_A = _id("341002", dt.date(2012, 1, 30), 31, "M")
ELDER_B = _id("341021", dt.date(1941, 7, 7), 41, "F")
HEAD_C = _id("341002", dt.date(1985, 3, 3), 51, "M")

HEADER = ["家庭编号", "乡镇（街道）", "村（社区）", "户口性质", "救助类别", "户主姓名",
          "户主身份证号",
          "享受人身份证号", "家庭月收入", "月保障金额", "保障起始日期", "审批日期", "审批文号",
          "收款人", "开户行", "银行账号", "下次复核日期", "渐退期满日期",
          "姓名", "身份证号码", "与户主关系", "性别", "残疾类别", "残疾等级", "劳动能力",
          "在校情况", "生活自理能力"]


def _rows() -> list[list[str]]:
    card = _card("621700", 123456789)
    return [
        ["TX2021000123", "黎阳镇", "隆阜（3）社区居委会", "城镇", "城市低保", "张建国", HEAD_A, "",
         "600.00", "1,380.00", "2021-05-01", "2021年4月20日", "屯民〔2021〕12号", "张建国",
         "建设银行", card, "2027-01-31", "",
         "张建国", HEAD_A, "户主", "男", "肢体残疾", "二级", "部分丧失劳动能力", "", "全自理"],
        ["TX2021000123", "黎阳镇", "隆阜（3）社区居委会", "城镇", "城市低保", "张建国", HEAD_A, "",
         "600.00", "1,380.00", "2021-05-01", "2021年4月20日", "屯民〔2021〕12号", "张建国",
         "建设银行", card, "2027-01-31", "",
         "李秀英", WIFE_A, "妻子", "女", "", "", "有劳动能力", "", ""],
        ["TX2021000123", "黎阳镇", "隆阜（3）社区居委会", "城镇", "城市低保", "张建国", HEAD_A, "",
         "600.00", "1,380.00", "2021-05-01", "2021年4月20日", "屯民〔2021〕12号", "张建国",
         "建设银行", card, "2027-01-31", "",
         "张小明", SON_A, "儿子", "男", "", "", "", "初中", ""],
        ["TX2019000456", "屯光镇", "云村村委会", "", "农村五保", "王桂兰", ELDER_B, ELDER_B,
         "", "1,250.50", "2019-01-01", "2018-12-20", "屯民〔2018〕88号", "王桂兰",
         "农商银行", "62300012345678901", "", "",
         "王桂兰", ELDER_B, "户主", "女", "", "", "无劳动能力", "", "半失能"],
        ["TX2024000789", "屯光镇", "湖边社区居委会", "非农业", "低保渐退", "陈志强", HEAD_C, "",
         "2,100.00", "300.00", "2024-03-01", "2024-02-15", "屯民〔2024〕5号", "",
         "邮储银行", "6221881234567890123"[:18], "2026-12-31", "2027-02-28",
         "陈志强", HEAD_C, "户主", "男", "", "", "有劳动能力", "", ""],
    ]


def gbk_csv(rows: list[list[str]], title: bool = True) -> bytes:
    lines = (["屯溪区在保对象花名册,,,"] if title else []) + [",".join(HEADER)] + [
        ",".join(f'"{c}"' if "," in c else c for c in r) for r in rows] + ["制表人：,,,"]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def two_sheets(rows: list[list[str]]) -> bytes:
    """The same caseload as a workbook of two sheets: households (one row per programme) and
    members, joined by 家庭编号."""
    split = HEADER.index("姓名")
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    text = book.add_format({"num_format": "@"})
    households = book.add_worksheet("保障家庭")
    members = book.add_worksheet("家庭成员")
    households.write_row(0, 0, HEADER[:split])
    members.write_row(0, 0, ["家庭编号", *HEADER[split:]])
    seen: set[str] = set()
    n = 1
    for i, r in enumerate(rows, start=1):
        if r[0] not in seen:
            seen.add(r[0])
            households.write_row(n, 0, r[:split], text)
            n += 1
        members.write_row(i, 0, [r[0], *r[split:]], text)
    book.close()
    return buf.getvalue()


@pytest.fixture
def clerk(areas, shipped_parameters, users):
    with context.job("test golive"):
        yield users.district_admin


def _import(files, user, real=False):
    p = caseload.plan(files, district_code=DISTRICT, day=DAY)
    if real:
        return p, caseload.apply(p, by=user)
    return p, caseload.record_dry_run(p, by=user)


def test_a_clean_caseload_is_planned_then_written_whole(clerk):
    files = [("在保花名册.csv", gbk_csv(_rows()))]
    p, record = _import(files, clerk)
    assert p.ok, p.sources.report
    assert p.counts()["new"] == 3 and p.counts()["persons"] == 5
    assert record.status == GoliveImport.PLANNED and not Household.objects.exists()

    p, applied = _import(files, clerk, real=True)
    assert applied.record.status == GoliveImport.DONE
    assert Household.objects.count() == 3 and Person.objects.count() == 5
    assert Membership.objects.count() == 5
    zhang = LegacyHousehold.objects.get(legacy_number="TX2021000123").household
    assert zhang.hukou_type == "urban" and zhang.area_code == "341002102002"
    assert zhang.number.startswith("341002102002")
    dibao = Enrollment.objects.get(household=zhang)
    assert (dibao.programme, dibao.amount_fen, dibao.start_date) == (
        "dibao", 138_000, dt.date(2021, 5, 1))
    assert dibao.payee_person.id_number == HEAD_A and dibao.account_kind == "card"
    assert dibao.bank == "中国建设银行"
    assert EnrollmentEvent.objects.get(enrollment=dibao, kind="start").amount_fen == 138_000
    assert ReviewTask.objects.get(enrollment=dibao).due_date == dt.date(2027, 1, 31)
    income = Observation.objects.get(household=zhang, kind="income")
    assert income.amount_fen == 60_000 and income.person is None
    head = Person.objects.get(id_number=HEAD_A)
    assert (head.disability_category, head.disability_grade, head.labour_capacity) == (
        "physical", 2, "partial")
    assert Person.objects.get(id_number=SON_A).student_status == "junior"
    assert CategoryAssignment.objects.filter(household=zhang, category="dibao").exists()
    decision = HistoricalDecision.objects.get(household=zhang)
    assert (decision.kind, decision.decided_on, decision.document_number) == (
        "approve", dt.date(2021, 4, 20), "屯民〔2021〕12号")
    assert decision.enrollment == dibao

    wang = LegacyHousehold.objects.get(legacy_number="TX2019000456").household
    tekun = Enrollment.objects.get(household=wang)
    elder = Person.objects.get(id_number=ELDER_B)
    assert tekun.programme == "tekun" and tekun.person == elder and tekun.amount_fen == 125_050
    assert wang.hukou_type == "rural" and not elder.has_supporter and elder.adl_failed == 1
    assert tekun.account_kind == "passbook"
    assert CategoryAssignment.objects.filter(person=elder, category="tekun").exists()

    chen = LegacyHousehold.objects.get(legacy_number="TX2024000789").household
    taper = Enrollment.objects.get(household=chen)
    assert taper.status == Enrollment.TAPERING and taper.end_date == dt.date(2027, 2, 28)
    stop = EnrollmentEvent.objects.get(enrollment=taper, kind="stop")
    assert stop.effective_date == dt.date(2027, 3, 1) and stop.amount_fen == 0
    assert AuditEvent.objects.filter(object_type="golive.goliveimport",
                                     action=AuditEvent.IMPORT).count() == 1

    # the same caseload again, from the other layout: nothing changes
    p, again = _import([("在保.xlsx", two_sheets(_rows()))], clerk, real=True)
    assert p.ok, p.sources.report
    assert again.record.status == GoliveImport.UNCHANGED
    assert p.counts()["unchanged"] == 3 and p.counts()["new"] == 0
    assert Household.objects.count() == 3 and Enrollment.objects.count() == 3


def _bad(rows, row, column, value):
    rows[row][HEADER.index(column)] = value


def test_bad_rows_are_each_listed_and_nothing_is_written(clerk):
    rows = _rows()
    _bad(rows, 1, "性别", "男")  # the wife's ID says female
    _bad(rows, 2, "与户主关系", "干儿子")
    _bad(rows, 3, "救助类别", "五保户口")
    _bad(rows, 4, "开户行", "花旗银行")
    bad_id = HEAD_C[:17] + ("0" if HEAD_C[17] != "0" else "1")
    extra = list(rows[4])
    extra[HEADER.index("身份证号码")] = bad_id
    extra[HEADER.index("与户主关系")] = "子"
    rows.append(extra)
    p, record = _import([("在保.csv", gbk_csv(rows))], clerk)
    report = p.sources.report_frame()
    assert not p.ok and record.status == GoliveImport.REFUSED
    reasons = dict(zip(report["row"].to_list(), report["reason"].to_list(), strict=False))
    # rows as the clerk sees them in the sheet: title on 1, header on 2, data from 3
    assert "性别" in reasons[4] and "不符" in reasons[4]
    assert "干儿子" in reasons[5]
    assert "五保户口" in reasons[6]
    assert "花旗银行" in reasons[7]
    assert "校验码" in reasons[8]
    assert p.counts()["refused"] == 3 and p.counts()["refused_rows"] == 5
    with pytest.raises(caseload.CaseloadError):
        caseload.apply(p, by=clerk)
    assert not Household.objects.exists() and not Person.objects.exists()
    assert GoliveImport.objects.filter(mode=GoliveImport.REAL,
                                       status=GoliveImport.REFUSED).count() == 1


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("乡镇（街道）", "黎阳", "不是屯溪区的乡镇"),
    ("村（社区）", "社屋前社区居委会", "不在黎阳镇"),
    ("月保障金额", "0", "应大于 0"),
    ("月保障金额", "13800000", "请核对单位"),
    ("保障起始日期", "2021", ""),
    ("保障起始日期", "2027-01-01", "不在"),
    ("户主身份证号", WIFE_A, "户主身份证号与成员中的户主"),
    ("户主姓名", "张建军", "户主姓名与成员中的户主"),
    ("收款人", "赵六", "收款人不是本户成员"),
    ("银行账号", "6217001234567890", "账号"),
    ("残疾等级", "", "同时填写"),
    ("劳动能力", "", "劳动能力未填写"),
    ("渐退期满日期", "2026-10-31", "渐退期满日期"),
])
def test_each_kind_of_doubt_refuses_the_household(clerk, column, value, reason):
    rows = _rows()[:3]
    for r in rows:
        _bad(rows, rows.index(r), column, value) if column in HEADER[:18] else None
    if column not in HEADER[:18]:
        _bad(rows, 0, column, value)
    p, _ = _import([("在保.csv", gbk_csv(rows))], clerk)
    assert not p.ok
    assert any(reason in r for r in p.sources.report_frame()["reason"].to_list()), \
        p.sources.report_frame().to_dicts()
    assert p.counts()["refused"] == 1


def test_someone_already_in_the_registry_or_in_two_households_is_refused(clerk):
    rows = _rows()
    moved = list(rows[1])
    moved[0] = "TX2024000789"
    moved[HEADER.index("与户主关系")] = "配偶"
    for k in ("乡镇（街道）", "村（社区）", "户口性质", "救助类别", "户主姓名", "户主身份证号",
              "家庭月收入", "月保障金额", "保障起始日期", "审批日期", "审批文号", "收款人",
              "开户行", "银行账号", "下次复核日期", "渐退期满日期"):
        moved[HEADER.index(k)] = rows[4][HEADER.index(k)]
    p, _ = _import([("在保.csv", gbk_csv([*rows, moved]))], clerk)
    assert any("多个家庭" in r for r in p.sources.report_frame()["reason"].to_list())

    p, _ = _import([("在保.csv", gbk_csv(rows[:3]))], clerk, real=True)
    changed = _rows()
    changed[0][0] = changed[1][0] = changed[2][0] = "TX2099000001"
    p, _ = _import([("在保.csv", gbk_csv(changed[:3]))], clerk)
    assert any("已在系统中登记" in r for r in p.sources.report_frame()["reason"].to_list())
    # the same household with other content: refused, never overwritten
    other = _rows()[:3]
    for r in other:
        r[HEADER.index("月保障金额")] = "1,400.00"
    p, _ = _import([("在保.csv", gbk_csv(other))], clerk)
    assert any("本次内容不同" in r for r in p.sources.report_frame()["reason"].to_list())


def test_a_file_of_another_kind_is_refused_whole(clerk):
    p, _ = _import([("名单.csv", "姓名,电话\r\n张三,13800000000\r\n".encode("gbk"))], clerk)
    assert not p.ok and p.sources.refused_files == ["名单.csv"]
    assert "未能识别为在保数据文件" in p.sources.report_frame()["reason"][0]


@pytest.mark.parametrize(("name", "short"), [
    ("荷花池社区居委会", {"荷花池社区"}), ("高枧村村委会", {"高枧村"}),
    ("林塘村民委员会", {"林塘", "林塘村"}), ("隆阜（3）社区居委会", {"隆阜（3）社区"}),
    ("黎阳镇", set()),
])
def test_a_village_is_known_by_its_address_name_too(name, short):
    from doudi.golive.words import place_names

    assert place_names(name) == short


def test_a_header_of_its_own_is_mapped_once_and_remembered(clerk, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    header = [("户主证件号码" if h == "户主身份证号" else h) for h in HEADER]
    lines = [",".join(header)] + [",".join(f'"{c}"' if "," in c else c for c in r)
                                  for r in _rows()]
    path = tmp_path / "在保.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("golive", "import-caseload", str(path), "--district", DISTRICT,
                     "--day", DAY.isoformat(), stdout=out)
    assert "只读到了家庭成员信息" in out.getvalue() and "户主身份证号" in out.getvalue()
    call_command("golive", "import-caseload", str(path), "--district", DISTRICT, "--day",
                 DAY.isoformat(), "--real", "--map", "head_id=户主证件号码", stdout=out)
    assert Household.objects.count() == 3
    p = caseload.plan([(path.name, path.read_bytes())], district_code=DISTRICT, day=DAY)
    assert p.ok and p.counts()["unchanged"] == 3

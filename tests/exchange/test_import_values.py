"""Never a wrong value (end to end): an ID Excel truncated into another registry person's valid
ID is refused and matched to nobody; a name that is not the ID's person's is refused; a header
unit scales the amounts or refuses the column; dates and IDs from numeric Excel cells; the
error report names sheet, row, header as written, value and reason."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest
import xlsxwriter

from doudi.audit import context
from doudi.core import idnumber
from doudi.core.masking import mask_id_number
from doudi.exchange.imports import batch_rows, import_bytes, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.registry.services import MemberInput, create_household
from tests.conftest import VILLAGE

pytestmark = pytest.mark.django_db
DEATH_HEADER = "身份证号码,姓名,死亡日期,户口注销日期,注销派出所"
EXCEL = "身份证号被 Excel 按数字保存，末位已丢失（请将该列设为文本后重新导出）"


def truncation_pair(seed: int) -> tuple[str, str]:
    """(true ID, what Excel leaves of it) where the leftover is itself a valid ID: 15
    significant digits kept, the last three become 000 and 0 happens to be the check."""
    born = dt.date(1961, 1, 1) + dt.timedelta(days=seed)
    for day in range(400):
        for seq in range(1, 500, 7):
            real = idnumber.make("341002", born + dt.timedelta(days=day), seq, "M")
            cut = real[:15] + "000"
            if idnumber.check_char(cut[:17]) == "0" and real != cut:
                return real, cut
    raise AssertionError("no pair")


@pytest.fixture
def registry(users, shipped_feed_types, shipped_parameters):
    """Four persons: 周建国 holds the ID Excel makes of 王五's; 陈阿美 and 阿卜杜拉·买买提 and
    a 15-digit-ID holder 钱多多 are as written."""
    real, cut = truncation_pair(37)
    ids = {"zhou": cut, "chen": idnumber.make("341002", dt.date(1958, 7, 3), 22, "F"),
           "abdul": idnumber.make("341002", dt.date(1949, 12, 1), 31, "M"),
           "qian": idnumber.make("341002", dt.date(1955, 2, 14), 123, "F")}
    with context.job("test registry"):
        create_household(by=users.district_approver, area_code=VILLAGE, hukou_type="rural",
                         members=[MemberInput(id_number=ids["zhou"], name="周建国",
                                              relation="head"),
                                  MemberInput(id_number=ids["chen"], name="陈阿美",
                                              relation="spouse")], address="测试路2号")
        create_household(by=users.district_approver, area_code=VILLAGE, hukou_type="rural",
                         members=[MemberInput(id_number=ids["abdul"], name="阿卜杜拉·买买提",
                                              relation="head"),
                                  MemberInput(id_number=ids["qian"], name="钱多多",
                                              relation="spouse")], address="测试路3号")
    return ids, real


def _import(key: str, data: bytes, name: str):
    return import_bytes(FeedType.objects.get(key=key), data, name, user=None, channel="cli")


def test_truncated_id_of_another_person_is_refused_and_matched_to_nobody(registry) -> None:
    ids, _ = registry
    old15 = ids["qian"][:6] + ids["qian"][8:17]  # the first-generation form of 钱多多's ID
    body = "\n".join([
        DEATH_HEADER,
        f"{ids['zhou']},王五,2026-10-01,2026-10-03,昱中派出所",  # Excel's leftover of 王五's ID
        f"{ids['chen']},陈阿美,2026年10月2日,2026.10.05,老街派出所",
        f"\u200b{ids['abdul'][:6]} {ids['abdul'][6:]},阿卜杜拉.买买提,20261003,2026/10/6 0:00:00,"
        "昱中派出所",
        f"{old15},钱多多,2026-10-04T00:00:00,2026-10-07,昱中派出所",
    ])
    out = _import("death_record", body.encode(), "死亡注销.csv")
    assert out.status == ImportJob.DONE, out.message
    rows = batch_rows(out.batch)
    # the truncated ID is refused; nobody is recorded dead under 周建国's ID
    assert ids["zhou"] not in rows["id_number"].to_list()
    assert set(rows["id_number"]) == {ids["chen"], ids["abdul"], ids["qian"]}
    assert rows["match"].to_list() == ["id", "id", "id"]
    assert rows["died_on"].to_list() == [dt.date(2026, 10, 2), dt.date(2026, 10, 3),
                                         dt.date(2026, 10, 4)]
    report = report_rows(out.job)
    refused = report.filter(pl.col("level") == "拒收")
    assert refused.select("row", "label", "value", "reason").rows() == [
        (2, "身份证号码", mask_id_number(ids["zhou"]), EXCEL)]
    notes = report.filter(pl.col("level") == "提示")
    assert notes["row"].to_list() == [5] and "升为18位" in notes["reason"][0]
    assert out.counts["upgraded_ids"] == 1 and "15位旧身份证号" in out.message


def test_a_name_that_is_not_the_ids_person_is_refused_not_matched(registry) -> None:
    ids, _ = registry
    body = "\n".join([DEATH_HEADER,
                      f"{ids['chen']},陈阿梅,2026-10-02,2026-10-05,老街派出所",
                      f"{ids['abdul']},阿卜杜拉·买买提,2026-10-03,2026-10-06,昱中派出所"])
    out = _import("death_record", body.encode(), "死亡注销.csv")
    assert out.status == ImportJob.DONE
    rows = batch_rows(out.batch)
    assert rows["id_number"].to_list() == [ids["abdul"]]
    report = report_rows(out.job)
    assert report.select("row", "label", "value", "reason").rows() == [
        (2, "姓名", "陈阿梅", "身份证号与姓名不符")]
    assert out.counts["errors"] == 1 and out.counts["name_mismatch"] == 1


def test_only_refused_rows_means_no_batch(registry) -> None:
    ids, _ = registry
    body = "\n".join([DEATH_HEADER, f"{ids['zhou']},王五,2026-10-01,2026-10-03,昱中派出所",
                      f"{ids['chen']},张冠李,2026-10-01,2026-10-03,昱中派出所"])
    out = _import("death_record", body.encode(), "死亡注销.csv")
    assert out.status == ImportJob.FAILED and FeedBatch.objects.count() == 0
    assert set(report_rows(out.job)["reason"]) == {EXCEL, "身份证号与姓名不符"}


def _business_csv(header: str, amounts: list[str], ids: dict[str, str]) -> bytes:
    lines = ["统一社会信用代码,主体名称,主体类型,经营者/法定代表人,证件号码,"
             f"{header},成立日期,登记状态"]
    for n, (amount, who) in enumerate(zip(amounts, ["chen", "abdul", "qian"], strict=False)):
        name = {"chen": "陈阿美", "abdul": "阿卜杜拉·买买提", "qian": "钱多多"}[who]
        lines.append(f"92341002MA0000{n:04d},小店{n},个体工商户,{name},{ids[who]},"
                     f"\"{amount}\",2020-01-0{n + 1},存续")
    return "\n".join(lines).encode()


@pytest.mark.parametrize(("header", "amounts", "fen"), [
    ("注册资本(万元)", ["5", "0.8", "12.35"], [5_000_000, 800_000, 12_350_000]),
    ("注册资本（元）", ["1,234.50", "￥1,200", "71.24元"], [123_450, 120_000, 7_124]),
    ("注册资本", ["1.2万元", "１２３", "1800.7199999999998"], [1_200_000, 12_300, 180_072]),
    ("注册资本(千元)", ["3", "0.5", "2.25"], [300_000, 50_000, 225_000]),
])
def test_header_units_scale_the_amounts(registry, header, amounts, fen) -> None:
    ids, _ = registry
    out = _import("business", _business_csv(header, amounts, ids), "市场主体.csv")
    assert out.status == ImportJob.DONE, out.message
    assert batch_rows(out.batch)["registered_capital"].to_list() == fen


@pytest.mark.parametrize("header", ["注册资本(万美元)", "注册资本(元/月)", "注册资本（港币）"])
def test_an_unknown_unit_refuses_the_file_naming_the_column(registry, header) -> None:
    ids, _ = registry
    out = _import("business", _business_csv(header, ["5", "6", "7"], ids), "市场主体.csv")
    assert out.status == ImportJob.FAILED and FeedBatch.objects.count() == 0
    assert f"列“{header}”" in out.message and "未导入" in out.message


def test_refused_amounts_are_reported_with_their_reasons(registry) -> None:
    ids, _ = registry
    out = _import("business", _business_csv("注册资本(元)", ["1.2.3", "约5000", "10.005"], ids),
                  "市场主体.csv")
    assert out.status == ImportJob.FAILED
    report = report_rows(out.job)
    assert report.select("row", "label", "value").rows() == [
        (2, "注册资本(元)", "1.2.3"), (3, "注册资本(元)", "约5000"), (4, "注册资本(元)", "10.005")]


def _death_xlsx(rows: list[list[object]]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("死亡注销")
    sheet.write_row(0, 0, DEATH_HEADER.split(","))
    for n, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, (int, float)):
                sheet.write_number(n, col, value)
            else:
                sheet.write_string(n, col, value)
    book.close()
    return buf.getvalue()


def test_numeric_excel_cells_ids_refused_serials_read_years_refused(registry) -> None:
    ids, _ = registry
    serial = (dt.date(2026, 10, 2) - dt.date(1899, 12, 30)).days
    data = _death_xlsx([
        [float(ids["chen"]), "陈阿美", "2026-10-02", "2026-10-05", "老街派出所"],  # ID as number
        [ids["abdul"], "阿卜杜拉·买买提", serial, "2026-10-06", "昱中派出所"],  # date serial
        [ids["qian"], "钱多多", 2008, "2026-10-07", "昱中派出所"],  # a bare year
        [ids["qian"], "钱多多", "11/05/2026", "2026-10-07", "昱中派出所"],
    ])
    out = _import("death_record", data, "死亡注销.xlsx")
    assert out.status == ImportJob.DONE, out.message
    rows = batch_rows(out.batch)
    assert rows.select("id_number", "died_on").rows() == [(ids["abdul"], dt.date(2026, 10, 2))]
    report = report_rows(out.job)
    assert report.select("sheet", "row", "label").rows() == [
        ("死亡注销", 2, "身份证号码"), ("死亡注销", 4, "死亡日期"), ("死亡注销", 5, "死亡日期")]
    reasons = report["reason"].to_list()
    assert reasons[0] == EXCEL and "只有年份" in reasons[1] and "歧义" in reasons[2]


def test_a_feed_type_document_that_a_reader_would_read_wrong_is_refused_at_load(db) -> None:
    from doudi.engine.feeds.feedspec import FeedSpecError
    from doudi.exchange import feed_types

    pension = """
key: city_pension
department: 人社
name: 城乡居民养老金发放
verification: pension
person: {id_number: id_number, name: name}
fields:
  - {key: id_number, label: 身份证号, type: id_number}
  - {key: name, label: 姓名, type: text}
  - {key: month, label: 发放年月, type: text}
  - {key: pension_amount, label: 发放金额, type: money}
"""
    with pytest.raises(FeedSpecError, match=r"养老金.*amount"):
        feed_types.read_documents(pension, "city_pension.yaml")
    with pytest.raises(FeedSpecError, match="amount"):
        feed_types.save(yaml_doc(pension))
    assert not FeedType.objects.filter(key="city_pension").exists()
    fixed = pension.replace("key: pension_amount", "key: amount")
    assert feed_types.save(yaml_doc(fixed)).key == "city_pension"
    # an indicator reads the type of its source: 受灾 needs occurred_on (a date)
    disaster = """
key: disaster_damage
department: 应急
name: 受灾人员
person: {id_number: id_number}
fields:
  - {key: id_number, label: 身份证号, type: id_number}
  - {key: happened, label: 受灾日期, type: date}
  - {key: house_damage, label: 房屋损毁情况, type: text}
"""
    with pytest.raises(FeedSpecError, match=r"预警指标“受灾”.*occurred_on"):
        feed_types.read_documents(disaster, "disaster.yaml")
    # the overlay reads the medical settlements' out-of-pocket amount as money
    medical = """
key: medical_settlement
department: 医保
name: 结算
person: {id_number: id_number}
fields:
  - {key: id_number, label: 身份证号, type: id_number}
  - {key: settled_on, label: 结算日期, type: date}
  - {key: out_of_pocket, label: 个人自付, type: text}
"""
    with pytest.raises(FeedSpecError, match="out_of_pocket"):
        feed_types.read_documents(medical, "medical.yaml")


def yaml_doc(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)

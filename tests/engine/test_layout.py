"""The header found by content, across two rows; lines that are no records left out once
(engine.feeds.headers.find_header, engine.feeds.layout)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.engine.feeds.feedspec import parse_spec
from doudi.engine.feeds.headers import combine_header_rows, find_header, find_header_row
from doudi.engine.feeds.layout import footer_kind, ignored_notice, trim

SPEC = parse_spec({
    "key": "relief", "department": "应急", "name": "受灾", "person": {"id_number": "id_number"},
    "fields": [
        {"key": "name", "label": "户主姓名", "type": "text"},
        {"key": "id_number", "label": "户主身份证号", "type": "id_number",
         "aliases": ["身份证号码"]},
        {"key": "kind", "label": "灾害种类", "type": "text"},
        {"key": "loss", "label": "直接经济损失(元)", "type": "money", "required": False},
    ]})


def test_single_header_below_a_title_and_a_filler_line():
    rows = [["2026年受灾人员名单", "", "", ""], ["填报单位：某镇", "", "填报日期：2026-07-01", ""],
            ["户主姓名", "户主身份证号", "灾害种类", "直接经济损失（元）"],
            ["张三", "1", "洪涝", "10"]]
    found = find_header(rows, SPEC)
    assert (found.at, found.span, found.found) == (2, 1, 4)
    assert find_header_row(rows, SPEC) == 2


def test_two_row_header_upper_merged_over_sub_columns():
    # 户主 spans 姓名/身份证号; the lower cell under 灾害种类 is blank (merged down)
    upper = ["序号", "户主", "", "灾害种类", "损失"]
    lower = ["", "姓名", "身份证号", "", "直接经济损失(元)"]
    found = find_header([upper, lower, ["1", "张三", "3410", "洪涝", "5"]], SPEC)
    assert (found.at, found.span, found.found) == (0, 2, 4)
    assert found.headers == ["序号", "户主姓名", "户主身份证号", "灾害种类", "直接经济损失(元)"]


def test_combined_header_prefers_what_the_spec_knows():
    known = {"户主姓名", "身份证号码", "灾害种类"}
    assert combine_header_rows(["户主", "户主", "基本情况"], ["姓名", "身份证号码", "备注"],
                               known) == ["户主姓名", "身份证号码", "备注"]
    assert combine_header_rows(["灾害种类", None], [None, "x"], known) == ["灾害种类", "x"]


def test_a_data_row_is_not_taken_for_a_second_header_row():
    rows = [["户主姓名", "户主身份证号", "灾害种类", ""],
            ["张三", "341002195003010034", "洪涝", "备注"]]
    found = find_header(rows, SPEC)
    assert (found.at, found.span) == (0, 1)


def test_linked_rows_make_a_two_row_header_even_when_the_lower_adds_nothing():
    rows = [["户主姓名", "户主身份证号", "灾害种类", "地址"], ["", "", "", "乡镇"]]
    assert find_header(rows, SPEC, linked={0}).span == 2
    assert find_header(rows, SPEC, linked={5}).span == 1  # merges elsewhere: not this pair


def test_sub_headers_under_the_gaps_of_an_unmerged_upper_row_continue_it():
    # a CSV (no merges): 住址 over 乡镇 and 村, the cell right of 住址 blank
    rows = [["户主姓名", "户主身份证号", "灾害种类", "住址", ""], ["", "", "", "乡镇", "村"],
            ["张三", "341002195003010034", "洪涝", "黎阳镇", "汪村"]]
    found = find_header(rows, SPEC, linked={7})
    assert found.span == 2
    assert found.headers == ["户主姓名", "户主身份证号", "灾害种类", "乡镇", "村"]
    data_like = [rows[0], ["", "", "", "341002195003010034", "x"]]
    assert find_header(data_like, SPEC).span == 1


def test_footer_kinds():
    assert footer_kind(["合  计", "", "1000"]) == "合计"
    assert footer_kind(["", "小计", "3"]) == "合计"
    assert footer_kind(["制表人：李明", "", "审核人：王芳"]) == "制表人"
    assert footer_kind(["审核人:", ""]) == "审核人"
    assert footer_kind(["共 12 条记录"]) == "记录数"
    assert footer_kind(["填报日期：2026年7月1日"]) == "说明"
    assert footer_kind(["注：金额单位为元"]) == "说明"
    assert footer_kind(["张三", "341002195003010034", "已签字"]) is None
    assert footer_kind(["合作医疗", "x"]) is None


def _frame(rows: list[list[str | None]]) -> pl.DataFrame:
    width = max(len(r) for r in rows)
    cols = {f"c{j}": [r[j] if j < len(r) else None for r in rows] for j in range(width)}
    return pl.DataFrame(cols, schema={k: pl.String for k in cols}).with_columns(
        (pl.int_range(pl.len()) + 10).alias("row"))


def test_trim_keeps_records_and_counts_what_it_left_out():
    rows = [["张三", "1", "洪涝"], ["", "", ""], ["小计", "", "5"], ["李四", "2", "风雹"],
            ["合计", "", "9"], [None, None, None], ["制表人：王", "", "审核人：李"],
            ["共 2 条记录", None, None]]
    out = trim(_frame(rows), ["c0", "c1", "c2"])
    assert out.frame["c0"].to_list() == ["张三", "李四"]
    assert out.frame["row"].to_list() == [10, 13]
    assert (out.totals, out.footer) == (1, 3)
    assert ignored_notice(2, out) == ("已忽略表头上方 2 行、表中合计/小计 1 行、"
                                      "表尾合计及制表人等 3 行")
    assert ignored_notice(0, trim(_frame([["张三", "1", "洪涝"]]), ["c0"])) is None


RECORD = st.tuples(st.sampled_from(["张三", "李四", "王五", "赵六"]),
                   st.from_regex(r"34100219[5-9]\d{9}[0-9X]", fullmatch=True),
                   st.sampled_from(["洪涝", "风雹", "干旱", "地震"]),
                   st.sampled_from(["", "已签字", "合计户数外", "注意"]))
FOOTER = st.sampled_from([["合计", "", "", ""], ["制表人：张", "", "审核人：", ""],
                          ["共 3 条记录", "", "", ""], ["", "", "", ""],
                          ["填报日期：2026年1月1日", "", "", ""], ["单位负责人：", "", "", ""]])


@settings(max_examples=60, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=12), st.lists(FOOTER, max_size=5))
def test_records_survive_any_footer(records, footer):
    rows = [list(r) for r in records] + footer
    out = trim(_frame(rows), ["c0", "c1", "c2", "c3"])
    assert out.frame.select("c0", "c1", "c2").rows() == [r[:3] for r in records]
    assert out.footer == sum(1 for f in footer if any(f))

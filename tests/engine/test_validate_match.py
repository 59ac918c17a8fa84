"""Row validation (doudi.engine.feeds.validate), person matching (doudi.engine.feeds.matching) and
feed spec checking (doudi.engine.feeds.feedspec.parse_spec)."""

from __future__ import annotations

import copy
import datetime as dt
import re

import polars as pl
import pytest

from doudi.core import idnumber
from doudi.engine.feeds.feedspec import FeedSpecError, parse_spec
from doudi.engine.feeds.matching import match
from doudi.engine.feeds.validate import DUPLICATE_SCHEMA, ERROR_SCHEMA, REQUIRED_REASON, validate

SPEC = {
    "key": "pension",
    "department": "人社",
    "name": "养老金发放",
    "mode": "events",
    "person": {"id_number": "id_number", "name": "name"},
    "fields": [
        {"key": "name", "label": "姓名", "type": "text"},
        {"key": "id_number", "label": "身份证号", "type": "id_number"},
        {"key": "paid_on", "label": "发放日期", "type": "date"},
        {"key": "amount", "label": "发放金额", "type": "money"},
        {"key": "months", "label": "月数", "type": "number", "required": False},
        {"key": "area", "label": "面积", "type": "decimal1", "required": False},
        {"key": "note", "label": "备注", "type": "text", "required": False},
    ],
}


def pid(n: int, born: dt.date = dt.date(1960, 1, 1), sex: str = "M") -> str:
    return idnumber.make("341002", born, n, sex)


def raw(rows: list[dict], spec) -> pl.DataFrame:
    """String columns named by the spec's keys, plus `row` numbered from 2 (header on row 1)."""
    data = {k: [r.get(k) for r in rows] for k in spec.keys}
    frame = pl.DataFrame(data, schema={k: pl.String for k in spec.keys})
    return frame.with_columns(pl.Series("row", range(2, 2 + len(rows)), dtype=pl.Int64))


def good_row(n: int, **over) -> dict:
    row = {"name": f"张{n}", "id_number": pid(n), "paid_on": "2026-03-05", "amount": "1,234.50",
           "months": "1", "area": "85.5", "note": None}
    return row | over


@pytest.fixture
def spec():
    return parse_spec(SPEC)


# ---------------------------------------------------------------------------------------------
# validate


def test_good_rows_are_typed(spec):
    out = validate(raw([good_row(1), good_row(2, months=None, area="", note=" 备注 ")], spec), spec)
    assert out.errors.height == 0 and out.duplicates.height == 0
    assert out.good.columns == ["row", *spec.keys]
    assert out.good.schema == pl.Schema({
        "row": pl.Int64, "name": pl.String, "id_number": pl.String, "paid_on": pl.Date,
        "amount": pl.Int64, "months": pl.Int64, "area": pl.Int64, "note": pl.String})
    assert out.good.row(0, named=True) == {
        "row": 2, "name": "张1", "id_number": pid(1), "paid_on": dt.date(2026, 3, 5),
        "amount": 123450, "months": 1, "area": 855, "note": None}
    assert out.good.row(1, named=True)["months"] is None
    assert out.good.row(1, named=True)["note"] == "备注"


def test_one_error_line_per_bad_cell_with_its_reason(spec):
    rows = [
        good_row(1),
        good_row(2, id_number=pid(2)[:17] + ("0" if pid(2)[17] != "0" else "1"),
                 amount="1.234", paid_on="2026年2月30日"),
        good_row(3),
        good_row(4, months="1.5", area="1.25"),
        good_row(5, id_number="12345"),
    ]
    out = validate(raw(rows, spec), spec)
    assert out.errors.schema == pl.Schema(ERROR_SCHEMA)
    assert out.errors.rows() == [
        (3, "id_number", rows[1]["id_number"], "身份证号校验码错误"),
        (3, "paid_on", "2026年2月30日", "日期无法识别"),
        (3, "amount", "1.234", "金额格式无法识别（应为元，最多两位小数）"),
        (5, "months", "1.5", "应为整数"),
        (5, "area", "1.25", "应为数值（最多一位小数）"),
        (6, "id_number", "12345", "身份证号应为18位数字（末位可为X）"),
    ]
    assert out.error_rows == 3
    assert out.good.get_column("row").to_list() == [2, 4]


def test_required_blanks_are_reported_optional_blanks_are_not(spec):
    rows = [good_row(1, name="  ", amount=None, months=None, area=None, note=""),
            good_row(2, id_number="", paid_on="\u3000")]
    out = validate(raw(rows, spec), spec)
    assert out.errors.select("row", "field", "reason").rows() == [
        (2, "name", REQUIRED_REASON), (2, "amount", REQUIRED_REASON),
        (3, "id_number", REQUIRED_REASON), (3, "paid_on", REQUIRED_REASON)]
    assert out.errors.filter(pl.col("field") == "name").get_column("value").to_list() == ["  "]
    assert out.good.height == 0


def test_exact_repeats_are_dropped_and_reported_with_first_row(spec):
    rows = [good_row(1), good_row(2), good_row(1), good_row(3), good_row(2), good_row(1)]
    out = validate(raw(rows, spec), spec)
    assert out.errors.height == 0
    assert out.good.get_column("row").to_list() == [2, 3, 5]
    assert out.duplicates.schema == pl.Schema(DUPLICATE_SCHEMA)
    assert sorted(out.duplicates.rows()) == [(4, 2), (6, 3), (7, 2)]


def test_repeats_compare_typed_values(spec):
    # the same amount written two ways, the same ID in 全角: an exact repeat once typed
    a = good_row(1, amount="1234.5", paid_on="2026/3/5")
    b = good_row(1, amount="￥1,234.50元", paid_on="20260305",
                 id_number=pid(1).translate({ord(str(d)): 0xFF10 + d for d in range(10)}))
    out = validate(raw([a, b], spec), spec)
    assert out.duplicates.rows() == [(3, 2)]
    assert out.good.height == 1


def test_rows_differing_in_one_cell_are_not_repeats(spec):
    out = validate(raw([good_row(1), good_row(1, note="x"), good_row(1, months=None)], spec),
                   spec)
    assert out.duplicates.height == 0
    assert out.good.height == 3


def test_repeat_of_a_bad_row_is_an_error_not_a_duplicate(spec):
    bad = good_row(1, amount="abc")
    out = validate(raw([bad, bad], spec), spec)
    assert out.duplicates.height == 0
    assert out.errors.get_column("row").to_list() == [2, 3]


def test_rows_stay_in_order(spec):
    rows = [good_row(n, amount="x" if n % 3 == 0 else "1") for n in range(40)]
    frame = raw(rows, spec)
    out = validate(frame, spec)
    assert out.good.get_column("row").to_list() == [n + 2 for n in range(40) if n % 3]
    assert out.good.get_column("name").to_list() == [f"张{n}" for n in range(40) if n % 3]
    assert out.errors.get_column("row").to_list() == [n + 2 for n in range(40) if n % 3 == 0]
    # row numbers need not start at 2 or be contiguous (blank rows were skipped)
    gaps = frame.with_columns((pl.col("row") * 10).alias("row"))
    assert validate(gaps, spec).good.get_column("row").to_list() == [
        (n + 2) * 10 for n in range(40) if n % 3]


def test_counts_add_up(spec):
    rows = [good_row(1), good_row(1), good_row(2, amount="bad", id_number="bad"), good_row(3)]
    out = validate(raw(rows, spec), spec)
    assert out.good.height + out.error_rows + out.duplicates.height == len(rows)


def test_no_rows(spec):
    out = validate(raw([], spec), spec)
    assert out.good.height == out.errors.height == out.duplicates.height == 0
    assert out.errors.schema == pl.Schema(ERROR_SCHEMA)


# ---------------------------------------------------------------------------------------------
# match


REGISTRY = pl.DataFrame(
    {"person_id": [1, 2, 3, 4],
     "id_number": [pid(1), pid(2, dt.date(1970, 7, 7)), pid(3, dt.date(1980, 1, 1)),
                   pid(4, dt.date(1980, 1, 1))],
     "name": ["张1", "李四", "王五", "王五"],  # two 王五 born the same day
     "birth_date": [dt.date(1960, 1, 1), dt.date(1970, 7, 7), dt.date(1980, 1, 1),
                    dt.date(1980, 1, 1)]},
    schema={"person_id": pl.Int64, "id_number": pl.String, "name": pl.String,
            "birth_date": pl.Date})


def typed(rows: list[dict], spec) -> pl.DataFrame:
    out = validate(raw(rows, spec), spec)
    assert out.errors.height == 0
    return out.good


def test_match_by_id(spec):
    rows = typed([good_row(1), good_row(2, name="李四", id_number=REGISTRY["id_number"][1])],
                 spec)
    out = match(rows, spec, REGISTRY)
    assert out.select("row", "person_id", "match").rows() == [(2, 1, "id"), (3, 2, "id")]
    assert out.columns == [*rows.columns, "person_id", "match"]


def test_weak_match_by_name_and_birth_date_of_the_id(spec):
    # the ID is nobody's, but 李四 born 1970-07-07 is unique in the registry
    rows = typed([good_row(9, name="李四", id_number=pid(99, dt.date(1970, 7, 7)))], spec)
    out = match(rows, spec, REGISTRY)
    assert out.select("person_id", "match").rows() == [(2, "name_birth")]


def test_no_weak_match_when_name_and_birth_are_not_unique(spec):
    rows = typed([good_row(9, name="王五", id_number=pid(99, dt.date(1980, 1, 1)))], spec)
    out = match(rows, spec, REGISTRY)
    assert out.select("person_id", "match").rows() == [(None, "none")]


def test_no_weak_match_when_birth_differs(spec):
    rows = typed([good_row(9, name="李四", id_number=pid(99, dt.date(1970, 7, 8)))], spec)
    assert match(rows, spec, REGISTRY).select("person_id", "match").rows() == [(None, "none")]


def test_a_name_other_than_the_ids_persons_is_matched_to_nobody(spec):
    # 张1's ID under 李四's name (李四 born as the ID says would match by name and birth):
    # neither person, the row is refused as 身份证号与姓名不符
    rows = typed([good_row(1, name="李四", id_number=pid(1)),
                  good_row(2, name="别名", id_number=REGISTRY["id_number"][1])], spec)
    assert match(rows, spec, REGISTRY).select("person_id", "match").rows() == [
        (None, "name_mismatch"), (None, "name_mismatch")]


def test_unmatched_rows_are_kept_in_order(spec):
    rows = typed([good_row(50), good_row(1), good_row(51), good_row(52, name="李四",
                  id_number=pid(52, dt.date(1970, 7, 7)))], spec)
    out = match(rows, spec, REGISTRY)
    assert out.height == rows.height
    assert out.get_column("row").to_list() == rows.get_column("row").to_list()
    assert out.select("person_id", "match").rows() == [
        (None, "none"), (1, "id"), (None, "none"), (2, "name_birth")]
    assert out.schema["person_id"] == pl.Int64


def test_match_with_empty_registry(spec):
    rows = typed([good_row(1), good_row(2)], spec)
    empty = REGISTRY.clear()
    assert match(rows, spec, empty).get_column("match").to_list() == ["none", "none"]


def test_match_a_feed_without_ids_by_name_and_birth_field():
    spec = parse_spec({
        "key": "death", "department": "民政", "name": "死亡", "person": {
            "name": "name", "birth_date": "born"},
        "fields": [{"key": "name", "label": "姓名"},
                   {"key": "born", "label": "出生日期", "type": "date"}]})
    rows = typed([{"name": "李四", "born": "1970年7月7日"}, {"name": "王五", "born": "19800101"},
                  {"name": "赵六", "born": "1990-01-01"}], spec)
    out = match(rows, spec, REGISTRY)
    assert out.select("person_id", "match").rows() == [
        (2, "name_birth"), (None, "none"), (None, "none")]


def test_match_a_feed_with_ids_only():
    spec = parse_spec({
        "key": "idonly", "department": "x", "name": "y", "person": {"id_number": "id_number"},
        "fields": [{"key": "id_number", "label": "身份证号", "type": "id_number"}]})
    rows = typed([{"id_number": pid(1)}, {"id_number": pid(77, dt.date(1970, 7, 7))}], spec)
    assert match(rows, spec, REGISTRY).select("person_id", "match").rows() == [
        (1, "id"), (None, "none")]


# ---------------------------------------------------------------------------------------------
# parse_spec


def test_shipped_spec_round_trips(spec):
    assert spec.key == "pension" and spec.id_field == "id_number" and spec.name_field == "name"
    assert parse_spec(spec.as_dict()) == spec


def bad(change) -> dict:
    doc = copy.deepcopy(SPEC)
    change(doc)
    return doc


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["fields"].append({"key": "name", "label": "别名"}), "字段 key 重复：name"),
    (lambda d: d["fields"].append({"key": "alias", "label": "姓名"}), "表头重复：姓名"),
    (lambda d: d["fields"].append({"key": "alias", "label": "别名", "aliases": ["身份证号"]}),
     "表头重复：身份证号"),
    (lambda d: d["fields"].append({"key": "x2", "label": "X", "type": "float"}),
     "类型“float”无效"),
    (lambda d: d["fields"].append({"key": "row", "label": "行"}), "key“row”为系统保留字段名"),
    (lambda d: d["fields"].append({"key": "match", "label": "匹配"}), "为系统保留字段名"),
    (lambda d: d["fields"].append({"key": "person_id", "label": "人"}), "为系统保留字段名"),
    (lambda d: d["person"].update(name="nobody"), "person.name 指向不存在的字段“nobody”"),
    (lambda d: d["person"].update(id_number="nobody"), "指向不存在的字段“nobody”"),
    (lambda d: d["person"].update(id_number="name"), "person.id_number 的字段类型应为 身份证号"),
    (lambda d: d["person"].update(spouse="name"), "person 只能包含"),
    (lambda d: d.update(person={"name": "name"}), "person 需要 id_number"),
    (lambda d: d.update(person={}), "person 需要 id_number"),
    (lambda d: d.update(fields=[]), "fields 应为非空列表"),
    (lambda d: d.pop("fields"), "fields 应为非空列表"),
    (lambda d: d.update(key="Bad-Key"), "只能由小写字母、数字和下划线组成"),
    (lambda d: d["fields"].append({"key": "9x", "label": "九"}), "只能由小写字母"),
    (lambda d: d.update(mode="full"), "mode 应为 snapshot"),
    (lambda d: d.update(record_key=["nope"]), "record_key 应为字段 key 的列表"),
    (lambda d: d.update(verification="nope"), "verification“nope”无效"),
    (lambda d: d.pop("department"), "缺少 department"),
    (lambda d: d["fields"][0].pop("label"), "第 1 个字段：缺少 label"),
    (lambda d: d["fields"][0].update(required="yes"), "required 应为 true 或 false"),
    (lambda d: d["fields"][0].update(aliases="名字"), "aliases 应为表头文本的列表"),
    (lambda d: d["fields"].append("name"), "第 8 个字段：应为键值对"),
])
def test_bad_specs_are_rejected_in_chinese(change, message):
    with pytest.raises(FeedSpecError) as err:
        parse_spec(bad(change))
    text = str(err.value)
    assert message in text
    assert re.search(r"[\u4e00-\u9fff]", text)
    if "Bad-Key" not in text:  # once the key is known, the message names the feed type
        assert text.startswith("pension：")


def test_origin_names_the_place():
    with pytest.raises(FeedSpecError, match=r"^feeds\.yaml：数据接口类型应为键值对$"):
        parse_spec(["not", "a", "mapping"], origin="feeds.yaml")

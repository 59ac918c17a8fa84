"""Never a wrong value (issue 22), pure: IDs Excel stored as numbers, 15-digit IDs, names that
are not the ID's person's, units in headers, dates without a day, float tails, and the feed
semantics checked at load."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from doudi.core import idnumber
from doudi.engine.feeds import cells
from doudi.engine.feeds.feedspec import FeedSpec, FeedSpecError, FieldSpec, parse_spec
from doudi.engine.feeds.headers import match_headers
from doudi.engine.feeds.matching import match
from doudi.engine.feeds.units import Scale
from doudi.engine.feeds.validate import UPGRADED_NOTE, validate

EXCEL = cells.ID_EXCEL


def run(parser, values, **kw) -> list[tuple]:
    value, reason = parser(pl.col("x"), **kw)
    return pl.DataFrame({"x": values}, schema={"x": pl.String}).select(
        value.alias("v"), reason.alias("r")).rows()


def ids(n: int, born=dt.date(1971, 4, 2)) -> list[str]:
    return [idnumber.make("341004", born + dt.timedelta(days=7 * i), (11 + 2 * i) % 500, "M")
            for i in range(n)]


# -- IDs ------------------------------------------------------------------------------------

def test_ids_written_every_way_a_department_writes_them_are_cleaned():
    good = ids(1)[0]
    x_id = next(i for s in range(300)
                if (i := idnumber.make("341021", dt.date(1990, 8, 8), s, "F")).endswith("X"))
    written = [f'="{good}"', f"'{good}", f"{good[:6]}\t{good[6:14]} {good[14:]}",
               "\u200b" + good + "\ufeff", good.translate(
                   {ord(str(d)): 0xFF10 + d for d in range(10)}), x_id[:17] + "x"]
    assert run(cells.parse_id_number, written) == [(good, None)] * 5 + [(x_id, None)]


@pytest.mark.parametrize("text", ["3.41002E+17", "3.41002199001011e+17", "3.41002199001011e17",
                                  "3.41002199001011E+17"])
def test_scientific_notation_is_refused_as_excel(text):
    assert run(cells.parse_id_number, [text]) == [(None, EXCEL)]


def test_a_numeric_cell_id_is_refused_even_when_its_digits_look_fine():
    good = ids(1)[0]
    flags = pl.DataFrame({"x": [good, good], "n": [True, False]})
    value, reason = cells.parse_id_number(pl.col("x"), numeric=pl.col("n"))
    assert flags.select(value, reason.alias("r")).rows() == [(None, EXCEL), (good, None)]


def test_000_tails_refused_when_the_check_fails_or_the_column_is_full_of_them():
    clean = ids(400)
    cut = [i[:15] + "000" for i in ids(40, dt.date(1982, 1, 1))]
    valid_cut = [c for c in cut if idnumber.check_char(c[:17]) == "0"]
    invalid_cut = [c for c in cut if idnumber.check_char(c[:17]) != "0"]
    assert invalid_cut
    # one bad-check "000" among many clean IDs: refused as Excel's, not as a typo
    out = run(cells.parse_id_number, clean + invalid_cut[:1])
    assert out[-1] == (None, EXCEL) and all(r is None for _, r in out[:-1])
    # a real ID ending in 000 among 2,000 clean ones (chance: 1 in 1,100) passes
    real_000 = next(i for d in range(4000) for s in range(0, 500, 50)
                    if (i := idnumber.make("341003", dt.date(1960, 1, 1) + dt.timedelta(days=d),
                                           s, "F")).endswith("000"))
    out = run(cells.parse_id_number, ids(300) * 7 + [real_000])
    assert out[-1] == (real_000, None)
    # a column where many IDs end in 000: every one of them is refused, valid check or not
    some = (valid_cut or [real_000])[:1]
    out = run(cells.parse_id_number, clean[:20] + invalid_cut[:5] + some)
    assert out[-1] == (None, EXCEL) and all(r is None for _, r in out[:20])


@pytest.mark.parametrize(("born", "seq", "sex"), [
    (dt.date(1955, 2, 14), 123, "F"), (dt.date(1930, 12, 31), 7, "M"),
    (dt.date(1999, 1, 1), 498, "F")])
def test_15_digit_ids_are_upgraded_by_gb_11643(born, seq, sex):
    full = idnumber.make("341002", born, seq, sex)
    old = full[:6] + full[8:17]
    assert run(cells.parse_id_number, [old]) == [(full, None)]
    raw = pl.DataFrame({"row": [2, 3], "id": [old, full]})
    spec = parse_spec({"key": "tt", "department": "公安", "name": "t",
                       "person": {"id_number": "id"},
                       "fields": [{"key": "id", "label": "身份证号", "type": "id_number"}]})
    v = validate(raw, spec)
    assert v.good["id"].to_list() == [full]  # the same person twice: the repeat is dropped
    assert v.duplicates.rows() == [(3, 2)]
    assert v.notes.rows() == [(2, "id", old, UPGRADED_NOTE)]


def test_15_digit_id_with_an_impossible_birth_date_is_refused():
    assert run(cells.parse_id_number, ["341002551314123"]) == [(None, "身份证号中的出生日期无效")]


# -- names ----------------------------------------------------------------------------------

def _spec():
    return parse_spec({"key": "tt", "department": "公安", "name": "t",
                       "person": {"id_number": "id", "name": "name"},
                       "fields": [{"key": "id", "label": "身份证号", "type": "id_number"},
                                  {"key": "name", "label": "姓名", "type": "text"}]})


def _persons(rows):
    return pl.DataFrame(
        [(n, i, name, idnumber.parse(i).birth_date) for n, (i, name) in enumerate(rows, 1)],
        schema={"person_id": pl.Int64, "id_number": pl.String, "name": pl.String,
                "birth_date": pl.Date}, orient="row")


@pytest.mark.parametrize(("registry", "written", "variants", "ok"), [
    ("张三", "张三", [], True),
    ("张三", "张 三", [], False), ("张三", "张 三", ["spaces"], True),
    ("张三", "张\u3000三", ["spaces"], True),
    ("阿卜杜拉·买买提", "阿卜杜拉.买买提", [], False),
    ("阿卜杜拉·买买提", "阿卜杜拉.买买提", ["dots"], True),
    ("阿卜杜拉·买买提", "阿卜杜拉•买买提", ["dots"], True),
    ("阿卜杜拉·买买提", "阿卜杜拉．买买提", ["width", "dots"], True),
    ("ALICE王", "ＡＬＩＣＥ王", ["width"], True),
    ("张伟", "張偉", ["spaces", "width", "dots"], False),
    ("张伟", "張偉", ["traditional"], True),
    ("陈阿美", "陈阿梅", ["spaces", "width", "dots", "traditional"], False),
    ("周建国", "王五", ["spaces", "width", "dots", "traditional"], False),
])
def test_a_name_not_the_ids_persons_is_a_mismatch(registry, written, variants, ok):
    person = ids(1)[0]
    rows = pl.DataFrame({"row": [2], "id": [person], "name": [written]})
    out = match(rows, _spec(), _persons([(person, registry)]), variants)
    assert out.row(0, named=True)["match"] == ("id" if ok else "name_mismatch")
    assert (out["person_id"][0] == 1) is ok


def test_a_mismatch_is_not_matched_by_name_and_birth_either():
    _, b = ids(2)
    truncated_holder = ids(1, dt.date(1971, 4, 2))[0]
    rows = pl.DataFrame({"row": [2], "id": [truncated_holder], "name": ["李四"]})
    persons = _persons([(truncated_holder, "周建国"), (b, "李四")])
    out = match(rows, _spec(), persons, ["spaces"])
    assert out.rows() == [(2, truncated_holder, "李四", None, "name_mismatch")]


def test_former_names_count_only_when_allowed():
    person = ids(1)[0]
    persons = _persons([(person, "王秀英")]).with_columns(
        pl.Series("former_names", [["王秀花", "王小英"]]))
    rows = pl.DataFrame({"row": [2, 3], "id": [person, person], "name": ["王小英", "王大英"]})
    assert match(rows, _spec(), persons, ["former_names"])["match"].to_list() == [
        "id", "name_mismatch"]
    assert match(rows, _spec(), persons, [])["match"].to_list() == ["name_mismatch"] * 2


def test_a_blank_name_is_not_checked():
    spec = parse_spec({"key": "tt", "department": "公安", "name": "t",
                       "person": {"id_number": "id", "name": "name"},
                       "fields": [{"key": "id", "label": "身份证号", "type": "id_number"},
                                  {"key": "name", "label": "姓名", "type": "text",
                                   "required": False}]})
    person = ids(1)[0]
    rows = pl.DataFrame({"row": [2], "id": [person], "name": [None]},
                        schema={"row": pl.Int64, "id": pl.String, "name": pl.String})
    assert match(rows, spec, _persons([(person, "张三")]))["match"].to_list() == ["id"]


# -- units ----------------------------------------------------------------------------------

def _money_spec(label="注册资本(元)", unit=""):
    return parse_spec({"key": "tt", "department": "市场监管", "name": "t",
                       "person": {"id_number": "id"},
                       "fields": [{"key": "id", "label": "证件号码", "type": "id_number"},
                                  {"key": "capital", "label": label, "type": "money",
                                   **({"unit": unit} if unit else {})},
                                  {"key": "area", "label": "建筑面积(㎡)", "type": "area",
                                   "required": False},
                                  {"key": "years", "label": "缴费年限", "type": "number",
                                   "unit": "月", "required": False}]})


@pytest.mark.parametrize(("header", "scale"), [
    ("注册资本(元)", Scale()), ("注册资本", Scale()), ("注册资本（万元）", Scale(4)),
    ("*注册资本 (千元)", Scale(3)), ("注册资本(亿元)", Scale(8)), ("注册资本(分)", Scale(-2))])
def test_a_money_header_unit_gives_the_scale(header, scale):
    found = match_headers(["证件号码", header], _money_spec())
    assert found.columns["capital"] == 1 and found.scales["capital"] == scale
    assert not found.unit_errors


@pytest.mark.parametrize(("header", "unit", "words"), [
    ("注册资本(万美元)", "", "无法识别"), ("注册资本(亩)", "", "无法识别"),
    ("注册资本(元/年)", "元/月", "不符"), ("注册资本(元/月)", "", "不按月计")])
def test_an_unknown_or_foreign_unit_refuses_the_column(header, unit, words):
    found = match_headers(["证件号码", header], _money_spec(unit=unit))
    assert "capital" in found.columns and words in found.unit_errors["capital"]
    assert header in found.unit_errors["capital"]


def test_area_and_number_units():
    found = match_headers(["证件号码", "注册资本", "建筑面积(公顷)", "缴费年限(年)"],
                          _money_spec())
    assert found.scales["area"] == Scale(4) and found.scales["years"] == Scale(factor=12)
    raw = pl.DataFrame({"row": [2, 3], "id": ids(2), "capital": ["1", "2"],
                        "area": ["0.0125", "1.5"], "years": ["3", "1.0"]})
    v = validate(raw, _money_spec(), found.scales)
    assert v.good.select("area", "years").rows() == [(12500, 36), (1500000, 12)]
    mu = match_headers(["证件号码", "注册资本", "建筑面积(亩)"], _money_spec())
    assert "不能精确换算" in mu.unit_errors["area"]


@pytest.mark.parametrize(("text", "exponent", "fen"), [
    ("5", 4, 5_000_000), ("0.8", 4, 800_000), ("5000元", 4, 500_000), ("1.2万", 0, 1_200_000),
    ("1,234.50", 0, 123_450), ("１２３", 0, 12_300), ("71.24元", 0, 7_124),
    ("￥1,200", 0, 120_000), ("3", 3, 300_000), ("1234", -2, 1234), ("2.5", 8, 25_000_000_000)])
def test_money_in_a_unit(text, exponent, fen):
    assert run(cells.parse_money, [text], exponent=exponent) == [(fen, None)]


@pytest.mark.parametrize("text", ["1.2.3", "约5000", "5000-6000", "10.005", "1.5元/月", "12.5分"])
def test_money_refused(text):
    exponent = -2 if text.endswith("分") else 0
    assert run(cells.parse_money, [text], exponent=exponent)[0][0] is None


# -- float tails ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fen"), [
    ("10.100000000000364", 1010), ("1800.7199999999998", 180072), ("0.30000000000000004", 30),
    ("99.99999999999", 10000), ("-12.340000000001", -1234), ("12.3400", 1234)])
def test_float_tails_within_a_thousandth_of_a_fen_round_to_the_fen(text, fen):
    assert run(cells.parse_money, [text]) == [(fen, None)]


@pytest.mark.parametrize("text", ["10.005", "10.0050000001", "10.00499999", "10.001",
                                  "10.10999"])
def test_real_third_decimals_are_still_refused(text):
    assert run(cells.parse_money, [text])[0][0] is None


@pytest.mark.parametrize(("text", "hundredths"), [
    ("89.25", 8925), ("89.25㎡", 8925), ("120", 12000), ("89.2500000000001", 8925),
    ("1,089.5 平方米", 108950)])
def test_areas_in_hundredths_of_a_square_metre(text, hundredths):
    assert run(cells.parse_area, [text]) == [(hundredths, None)]


def test_area_with_three_decimals_is_refused():
    assert run(cells.parse_area, ["89.255"])[0][0] is None


# -- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["2026年11月5日", "2026.11.05", "2026/11/5 0:00:00", "20261105",
                                  "2026-11-05T00:00:00", "２０２６年１１月５日"])
def test_text_dates(text):
    assert run(cells.parse_date, [text]) == [(dt.date(2026, 11, 5), None)]


@pytest.mark.parametrize(("text", "reason"), [
    ("2008", cells.DATE_YEAR_ONLY), ("2008年", cells.DATE_YEAR_ONLY),
    ("2026年11月", cells.DATE_NO_DAY), ("2026-11", cells.DATE_NO_DAY),
    ("202611", cells.DATE_NO_DAY), ("11/05/2026", cells.DATE_AMBIGUOUS),
    ("5.11.2026", cells.DATE_AMBIGUOUS), ("13/05/2026", cells.DATE_AMBIGUOUS),
    ("46000", cells.DATE_SERIAL)])
def test_dates_that_cannot_be_read_with_certainty(text, reason):
    assert run(cells.parse_date, [text]) == [(None, reason)]


def test_serials_only_from_numeric_cells_and_never_a_year():
    frame = pl.DataFrame({"x": ["46000", "46000", "2008", "2008.0"],
                          "n": [True, False, True, True]})
    value, reason = cells.parse_date(pl.col("x"), numeric=pl.col("n"))
    assert frame.select(value, reason.alias("r")).rows() == [
        (dt.date(2025, 12, 9), None), (None, cells.DATE_SERIAL),
        (None, cells.DATE_YEAR_ONLY), (None, cells.DATE_YEAR_ONLY)]


# -- feed semantics -------------------------------------------------------------------------

def _pension(amount_key: str, kind: str = "money") -> dict:
    return {"key": "city_pension", "department": "人社", "name": "城乡居民养老金",
            "verification": "pension", "person": {"id_number": "id_number"},
            "fields": [{"key": "id_number", "label": "身份证号", "type": "id_number"},
                       {"key": "month", "label": "发放年月", "type": "text"},
                       {"key": amount_key, "label": "发放金额", "type": kind}]}


def test_a_verification_section_field_under_another_name_is_refused_at_load():
    with pytest.raises(FeedSpecError, match="amount"):
        parse_spec(_pension("pension_amount"))
    with pytest.raises(FeedSpecError, match="金额"):
        parse_spec(_pension("amount", "number"))
    assert parse_spec(_pension("amount")).verification == "pension"


# -- validation reads each cell as the parsers do ------------------------------------------

_CELL_TEXTS = ["0", "12", "12.5", "12.50", "1,234.50", "１２３", "71.24元", "1.2万元", "0.8万",
               "10.100000000000364", "1800.7199999999998", "10.005", "-3.10", "￥ 5", "12,34",
               "2026-11-05", "2026年11月5日", "2026/11/5 0:00:00", "20261105", "2008", "45000",
               "85.25㎡", "3.5", "abc", "", " ", None]


@pytest.mark.parametrize(("kind", "parser", "kw"), [
    ("money", cells.parse_money, {}),
    ("number", cells.parse_number, {}),
    ("decimal1", cells.parse_decimal1, {}),
    ("area", cells.parse_area, {}),
    ("date", cells.parse_date, {}),
])
@pytest.mark.parametrize("seed", range(3))
def test_validation_stages_read_every_cell_as_the_parser_alone(kind, parser, kw, seed):
    """`validate` materialises intermediates and skips unit readings no cell needs; the values
    and reasons must be those of the parser evaluated cell by cell on its own."""
    import random

    texts = random.Random(seed).choices(_CELL_TEXTS, k=40)
    if seed == 0:  # a column whose cells name no unit: the short reading
        texts = [t for t in texts if t is None or not any(u in t for u in "万元圆")]
    spec = FeedSpec("tt", "公安", "t", (FieldSpec("cell", "值", kind, required=False),))
    raw = pl.DataFrame({"row": list(range(2, len(texts) + 2)), "cell": texts},
                       schema={"row": pl.Int64, "cell": pl.String})
    v = validate(raw, spec)
    staged = {r: (x, None) for r, x in v.good.select("row", "cell").rows()}
    staged |= {r: (None, why) for r, why in v.errors.select("row", "reason").rows()}
    alone = dict(zip(raw["row"], run(parser, texts, **kw), strict=True))
    for row, (value, reason) in alone.items():
        if row in staged:  # (exact repeats leave the good rows: compared where present)
            assert staged[row] == (value, reason), (texts[row - 2], staged[row], value, reason)

"""The vectorised cell parsers (doudi.engine.feeds.cells): every parser, its edge cases, and
round-trip properties over random IDs, amounts and dates (hypothesis)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from doudi.core import idnumber
from doudi.engine.feeds import cells

FAST = settings(max_examples=60, deadline=None)
ID_SHAPE = "身份证号应为18位数字（末位可为X）"
ID_CHECK = "身份证号校验码错误"
ID_BIRTH = "身份证号中的出生日期无效"
MONEY_BAD = "金额格式无法识别（应为元，最多两位小数）"
NUMBER_BAD = "应为整数"
DECIMAL_BAD = "应为数值（最多一位小数）"
DATE_BAD = "日期无法识别"


def run(parser, values: list[str | None]) -> list[tuple]:
    """(value, reason) for each cell, parsed in one vectorised pass."""
    value, reason = parser(pl.col("x"))
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    out = frame.select(value.alias("value"), reason.alias("reason"))
    return out.rows()


def one(parser, text: str | None) -> tuple:
    return run(parser, [text])[0]


def fullwidth(text: str) -> str:
    table = {ord(str(d)): 0xFF10 + d for d in range(10)}
    table |= {ord("X"): ord("Ｘ"), ord("x"): ord("ｘ"), ord("."): ord("．"), ord(","): ord("，"),
              ord("-"): ord("－"), ord("/"): ord("／")}
    return text.translate(table)


def with_check(first17: str) -> str:
    return first17 + idnumber.check_char(first17)


def wrong_check(id_number: str) -> str:
    other = "0" if id_number[17] != "0" else "1"
    return id_number[:17] + other


GOOD_ID = idnumber.make("341002", dt.date(1980, 5, 17), 10, "M")
X_ID = next(i for s in range(500)
            if (i := idnumber.make("341002", dt.date(1980, 5, 17), s, "M")).endswith("X"))


# ---------------------------------------------------------------------------------------------
# halfwidth, clean_text, blank


def test_halfwidth_turns_fullwidth_digits_punctuation_and_spaces_to_ascii_and_trims():
    frame = pl.DataFrame({"x": ["　１２３４５６７８９０　", "ｘＸ．，－／＋", " a b "]})
    out = frame.select(cells.halfwidth(pl.col("x"))).to_series().to_list()
    assert out == ["1234567890", "xX.,-/+", "a b"]


def test_halfwidth_keeps_null():
    out = pl.DataFrame({"x": [None]}, schema={"x": pl.String}).select(
        cells.halfwidth(pl.col("x"))).item()
    assert out is None


def test_clean_text_trims_and_blank_becomes_null():
    assert run(cells.parse_text, ["  张三 ", "\u3000李四\t", "", "   ", None, "a  b"]) == [
        ("张三", None), ("李四", None), (None, None), (None, None), (None, None), ("a  b", None)]


def test_blank():
    frame = pl.DataFrame({"x": [None, "", "  ", "\t", "a", " 0 "]}, schema={"x": pl.String})
    assert frame.select(cells.blank(pl.col("x"))).to_series().to_list() == [
        True, True, True, True, False, False]


# ---------------------------------------------------------------------------------------------
# parse_id_number


def test_valid_id_passes_unchanged():
    assert one(cells.parse_id_number, GOOD_ID) == (GOOD_ID, None)


def test_id_with_x_check_character():
    assert one(cells.parse_id_number, X_ID) == (X_ID, None)


def test_lowercase_x_is_upper_cased():
    assert one(cells.parse_id_number, X_ID.lower()) == (X_ID, None)


@pytest.mark.parametrize("last", ["ｘ", "Ｘ"])
def test_fullwidth_x_is_accepted(last):
    assert one(cells.parse_id_number, X_ID[:17] + last) == (X_ID, None)


def test_fullwidth_digits_are_accepted():
    assert one(cells.parse_id_number, fullwidth(GOOD_ID)) == (GOOD_ID, None)


def test_surrounding_spaces_are_trimmed():
    assert one(cells.parse_id_number, f"  {GOOD_ID}\u3000") == (GOOD_ID, None)


def test_wrong_check_digit_is_rejected_not_fixed():
    assert one(cells.parse_id_number, wrong_check(GOOD_ID)) == (None, ID_CHECK)
    assert one(cells.parse_id_number, X_ID[:17] + "0") == (None, ID_CHECK)


@pytest.mark.parametrize("first17", [
    "34100219800230001",  # 30 February
    "34100219801301001",  # month 13
    "34100219800100001",  # day 0
    "34100200000101001",  # year 0
    "34100218750101001",  # before 1880
    "34100221000101001",  # born in 2100: after today
])
def test_invalid_birth_date_in_id(first17):
    # the check digit is right, so the reason is the birth date
    assert one(cells.parse_id_number, with_check(first17)) == (None, ID_BIRTH)


def test_birth_date_boundary_1880_as_core_idnumber():
    assert one(cells.parse_id_number, with_check("34100218800101001"))[1] is None
    assert one(cells.parse_id_number, with_check("34100218791231001")) == (None, ID_BIRTH)


@pytest.mark.parametrize("text", [
    GOOD_ID[:17],  # 17 digits
    GOOD_ID + "1",  # 19 digits
    "34100219800517",  # 14 digits
    "X" + GOOD_ID[1:],  # X not at the end
    GOOD_ID[:17] + "Y",
    GOOD_ID[:6] + "-" + GOOD_ID[6:],
    "abcdefghijklmnopqr",
    "张三",
])
def test_wrong_shape(text):
    assert one(cells.parse_id_number, text) == (None, ID_SHAPE)


def test_18_digit_number_with_bad_check_is_not_an_id():
    # an 18-digit number that merely looks like an ID
    assert one(cells.parse_id_number, "123456789012345678")[0] is None


@pytest.mark.parametrize("text", [None, "", "   ", "\u3000"])
def test_blank_id_gives_null_value_and_null_reason(text):
    assert one(cells.parse_id_number, text) == (None, None)


def test_id_parser_is_row_wise():
    assert run(cells.parse_id_number, [GOOD_ID, "bad", None, X_ID.lower()]) == [
        (GOOD_ID, None), (None, ID_SHAPE), (None, None), (X_ID, None)]


def test_birth_date_of_id():
    frame = pl.DataFrame({"x": [GOOD_ID, None]}, schema={"x": pl.String})
    assert frame.select(cells.birth_date_of_id(pl.col("x"))).to_series().to_list() == [
        dt.date(1980, 5, 17), None]


def test_check_char_expression_agrees_with_core():
    ids = [idnumber.make("110105", dt.date(1950, 1, 1) + dt.timedelta(days=97 * n), n, "F")
           for n in range(60)]
    first17 = pl.DataFrame({"x": [i[:17] for i in ids]})
    got = first17.select(cells.id_check_char(pl.col("x"))).to_series().to_list()
    assert got == [i[17] for i in ids]


ids = st.builds(
    idnumber.make,
    st.from_regex(r"\A[1-9][0-9]{5}\Z"),
    st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2025, 12, 31)),
    st.integers(min_value=0, max_value=499),
    st.sampled_from(["M", "F"]),
)


@FAST
# an ID ending in 000 falls under the column rule (Excel's lost digits), tested on its own
@given(st.lists(ids.filter(lambda i: not i.endswith("000")), min_size=1, max_size=40))
def test_property_any_valid_id_survives(id_list):
    assert run(cells.parse_id_number, id_list) == [(i, None) for i in id_list]


@FAST
@given(st.lists(ids, min_size=1, max_size=40))
def test_property_any_valid_id_survives_in_fullwidth(id_list):
    written = [fullwidth(i) for i in id_list]
    assert run(cells.parse_id_number, written) == [(i, None) for i in id_list]


@FAST
@given(ids)
@example("100000200001010009")  # its check digit changed to 0 ends in 000
def test_property_a_changed_check_character_is_always_rejected(id_number):
    others = [id_number[:17] + c for c in "0123456789X" if c != id_number[17]]
    # one ending in 000 with a wrong check digit is refused as Excel's lost digits instead
    expected = [(None, cells.ID_EXCEL if o.endswith("000") else ID_CHECK) for o in others]
    assert run(cells.parse_id_number, others) == expected


# ---------------------------------------------------------------------------------------------
# parse_money (yuan → fen)


@pytest.mark.parametrize(("text", "fen"), [
    ("0", 0),
    ("12", 1200),
    ("12.3", 1230),
    ("12.34", 1234),
    ("12.", 1200),
    ("1234.5", 123450),
    ("1,234.50", 123450),
    ("1,234.50元", 123450),
    ("1234.50 元", 123450),
    ("100圆", 10000),
    ("￥1,234.50", 123450),
    ("¥5", 500),
    ("人民币100", 10000),
    ("RMB100", 10000),
    ("１，２３４．５０", 123450),
    (" 7.05 ", 705),
    ("-12.30", -1230),
    ("－12.30", -1230),
    ("-0", 0),
    ("1.2万元", 1_200_000),
    ("1.2万", 1_200_000),
    ("3万元", 3_000_000),
    ("0.000001万元", 1),  # 万元 allows 6 decimals: one fen
    ("1,000,000.01", 100_000_001),
    ("+5", 500),
])
def test_money(text, fen):
    assert one(cells.parse_money, text) == (fen, None)


@pytest.mark.parametrize("text", [
    "1.234",  # more than 2 decimals
    "0.001",
    "1.0000001万",  # more than 6 decimals of 万 (a fraction of a fen)
    "abc",
    "1e3",
    ".5",
    "1.2.3",
    "--5",
    "5-",
    "元",
    "万元",
    "12元5角",
    "$12",
    "12,34",  # not grouped by three: 12.34 or 1234? not guessed
    "1,2,3,4",
])
def test_money_rejected(text):
    assert one(cells.parse_money, text) == (None, MONEY_BAD)


@pytest.mark.parametrize("text", [None, "", "  ", "\u3000"])
def test_blank_money(text):
    assert one(cells.parse_money, text) == (None, None)


def test_money_is_exact_integer_fen_not_float():
    value, _ = cells.parse_money(pl.col("x"))
    out = pl.DataFrame({"x": ["0.1", "0.2", "19999999.99"]}).select(value.cast(pl.Int64))
    assert out.to_series().to_list() == [10, 20, 1_999_999_999]


@pytest.mark.parametrize(("parser", "text", "reason"), [
    (cells.parse_money, GOOD_ID, MONEY_BAD),  # a resident ID pasted in a money column
    (cells.parse_money, "92233720368547759", MONEY_BAD),  # just over Int64 max / 100
    (cells.parse_money, "10000000000000万", MONEY_BAD),
    (cells.parse_decimal1, GOOD_ID, DECIMAL_BAD),
])
def test_too_large_for_int64_is_rejected_not_wrapped(parser, text, reason):
    assert one(parser, text) == (None, reason)


def yuan_text(fen: int, commas: bool) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}" if commas else f"{sign}{whole}.{cents:02d}"


fen_values = st.integers(min_value=-(10**15), max_value=10**15)


@FAST
@given(st.lists(fen_values, min_size=1, max_size=40), st.booleans(), st.sampled_from(
    ["", "元", "￥"]))
def test_property_fen_written_as_yuan_parses_back_exactly(fens, commas, mark):
    texts = [yuan_text(f, commas) for f in fens]
    if mark == "元":
        texts = [t + "元" for t in texts]
    elif mark == "￥":
        texts = ["￥" + t if not t.startswith("-") else t for t in texts]
    assert run(cells.parse_money, texts) == [(f, None) for f in fens]


# ---------------------------------------------------------------------------------------------
# parse_number, parse_decimal1


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("12.0", 12), ("12.00", 12), ("0", 0), ("-3", -3), ("1,000", 1000),
    ("１２", 12), (" 7 ", 7), ("999999999999999999", 999_999_999_999_999_999)])
def test_number(text, value):
    assert one(cells.parse_number, text) == (value, None)


@pytest.mark.parametrize(
    "text", ["12.5", "12.01", "x", "1e2", "三", "9223372036854775808", "12.0.0"])
def test_number_rejected(text):
    assert one(cells.parse_number, text) == (None, NUMBER_BAD)


@pytest.mark.parametrize("text", [None, "", " "])
def test_blank_number(text):
    assert one(cells.parse_number, text) == (None, None)


@pytest.mark.parametrize(("text", "tenths"), [
    ("12.3", 123), ("12", 120), ("12.", 120), ("-1.5", -15), ("85㎡", 850),
    ("85.5平方米", 855), ("60m2", 600), ("60M2", 600), ("１２．３", 123), ("1,234.5", 12345)])
def test_decimal1(text, tenths):
    assert one(cells.parse_decimal1, text) == (tenths, None)


@pytest.mark.parametrize("text", ["12.34", "m2", "abc", "1.2.3", "12平米"])
def test_decimal1_rejected(text):
    assert one(cells.parse_decimal1, text) == (None, DECIMAL_BAD)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_blank_decimal1(text):
    assert one(cells.parse_decimal1, text) == (None, None)


# ---------------------------------------------------------------------------------------------
# parse_date


@pytest.mark.parametrize("text", [
    "2026-03-05", "2026-3-5", "2026/3/5", "2026/03/05", "2026.3.5", "20260305",
    "2026年3月5日", "2026年03月05日", "2026年3月5", "２０２６－０３－０５", "２０２６年３月５日",
    "2026-03-05 00:00:00", "2026-03-05 08:30", "2026-03-05T12:30:45", "2026-03-05 12:30:45.123",
    "2026年3月5日 08:00", " 2026-03-05 ",
])
def test_date_forms(text):
    assert one(cells.parse_date, text) == (dt.date(2026, 3, 5), None)


@pytest.mark.parametrize(("serial", "date"), [
    ("61", dt.date(1900, 3, 1)),
    ("109574", dt.date(2199, 12, 31)),
    ("45000", dt.date(2023, 3, 15)),
    ("45000.00", dt.date(2023, 3, 15)),
])
def test_excel_serials(serial, date):
    assert one(numeric_date, serial) == (date, None)


def numeric_date(text):
    """parse_date of a cell the file stored as a number."""
    return cells.parse_date(text, numeric=pl.lit(True))


@pytest.mark.parametrize("serial", ["60", "59", "1", "109575", "999999", "45000.5"])
def test_excel_serials_outside_the_window_are_rejected(serial):
    # 60 is Excel's fake 1900-02-29; from 109575 on, past 2199-12-31
    assert one(numeric_date, serial) == (None, DATE_BAD)


@pytest.mark.parametrize("text", [
    "2026年2月30日", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-32",
    "20260230", "1900-02-29", "二〇二六年三月五日", "昨天",
    "2026-03-05T00:00:00Z", "2026-03-05 00:00:00+08:00", "2026-03-05 x",
])
def test_date_rejected(text):
    assert one(cells.parse_date, text) == (None, DATE_BAD)


def test_leap_days():
    assert one(cells.parse_date, "2024-02-29") == (dt.date(2024, 2, 29), None)
    assert one(cells.parse_date, "2000年2月29日") == (dt.date(2000, 2, 29), None)
    assert one(cells.parse_date, "2100-02-29") == (None, DATE_BAD)


@pytest.mark.parametrize("text", [None, "", "   ", "\u3000"])
def test_blank_date(text):
    assert one(cells.parse_date, text) == (None, None)


def test_year_zero_is_rejected():
    value, reason = cells.parse_date(pl.col("x"))
    out = pl.DataFrame({"x": ["0000-01-01"]}).select(value.is_null(), reason)
    assert out.row(0) == (True, DATE_BAD)


def date_texts(d: dt.date) -> list[str]:
    return [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d:%Y%m%d}",
            f"{d.year}年{d.month}月{d.day}日",
            f"{d.year}/{d.month:02d}/{d.day:02d}", f"{d.year}.{d.month}.{d.day}",
            f"{d.isoformat()} 00:00:00", fullwidth(d.isoformat())]


@FAST
@given(st.lists(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2199, 12, 31)),
                min_size=1, max_size=20))
def test_property_any_date_in_every_form_parses_back(dates):
    texts = [t for d in dates for t in date_texts(d)]
    expected = [(d, None) for d in dates for _ in date_texts(d)]
    assert run(cells.parse_date, texts) == expected


# ---------------------------------------------------------------------------------------------


def test_parsers_and_dtypes_cover_every_field_type():
    from doudi.engine.feeds.feedspec import FIELD_TYPES

    assert set(cells.PARSERS) == set(FIELD_TYPES) == set(cells.DTYPES)
    frame = pl.DataFrame({"x": ["1"]})
    for kind, parser in cells.PARSERS.items():
        value, reason = parser(pl.col("x"))
        out = frame.select(value.cast(cells.DTYPES[kind]).alias("v"), reason.alias("r"))
        assert out.schema["v"] == cells.DTYPES[kind]
        assert out.schema["r"] == pl.String

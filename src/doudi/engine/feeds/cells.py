"""Cleaning department cells, vectorised (Polars expressions over String columns).

Each `parse_*` returns `(value, reason)`: the typed value, or null with a Chinese reason saying
why the cell cannot be used. Blank cells give a null value and a null reason (the caller decides
whether the field is required). Nothing is guessed: an ID with a wrong check digit is rejected,
never "fixed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from doudi.core.idnumber import CHECK_CHARS, WEIGHTS

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's 1900-02-29
# Serials from 1900-03-01 (61) to 2199-12-31: earlier ones fall in Excel's fake leap day.
SERIAL_MIN, SERIAL_MAX = 61, 109_574
DATE_MIN, DATE_MAX = dt.date(1880, 1, 1), dt.date(2199, 12, 31)  # dates outside are typos
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {
    "Ｘ": "X", "ｘ": "x", "．": ".", "，": ",", "－": "-", "／": "/", "　": " ", "＋": "+"}


def halfwidth(text: pl.Expr) -> pl.Expr:
    """全角 digits, X, punctuation and spaces to their ASCII forms, then trimmed."""
    return (text.str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))
            .str.strip_chars())


def blank(text: pl.Expr) -> pl.Expr:
    return text.is_null() | (text.str.strip_chars().str.len_chars() == 0)


def clean_text(text: pl.Expr) -> pl.Expr:
    """Trimmed text; blank becomes null."""
    trimmed = text.str.strip_chars(" \t\r\n\u3000")
    return pl.when(trimmed.str.len_chars() > 0).then(trimmed)


def id_check_index(first17: pl.Expr) -> pl.Expr:
    """Σ digit × weight mod 11 of 17 ASCII digits: the check character's place in CHECK_CHARS."""
    total = pl.sum_horizontal(
        [first17.str.slice(i, 1).cast(pl.Int64) * w for i, w in enumerate(WEIGHTS)])
    return total % 11


def id_check_char(first17: pl.Expr) -> pl.Expr:
    """GB 11643 check character of 17 ASCII digits."""
    return pl.lit(list(CHECK_CHARS)).list.get(id_check_index(first17))


Stage = Callable[[str, pl.Expr], pl.Expr]


def inline(name: str, expr: pl.Expr) -> pl.Expr:
    """The default stage: the intermediate stays part of one expression."""
    return expr


# Invisible characters a copy from a web page or a messaging app leaves inside a cell.
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
ID_EXCEL = "身份证号被 Excel 按数字保存，末位已丢失（请将该列设为文本后重新导出）"
# An ID column where more than this share of the IDs end in "000" was stored as numbers by Excel
# (15 significant digits: the last three become 0). A real ID ends in "000" about once in 1,100.
EXCEL_TAIL_SHARE = 0.2


def clean_id(text: pl.Expr) -> pl.Expr:
    """An ID cell as characters only: `="…"` (Excel's text formula), a leading `'`, spaces, tabs
    and invisible characters removed, 全角 to ASCII, x upper-cased."""
    bare = halfwidth(text).str.replace_all(_INVISIBLE, "").str.replace_all(r"\s", "")
    bare = bare.str.replace(r'^="(.*)"$', "$1").str.replace(r"^'", "")
    return bare.str.to_uppercase()


def parse_id_number(text: pl.Expr, today: dt.date | None = None, stage: Stage = inline,
                    numeric: pl.Expr | None = None) -> tuple[pl.Expr, pl.Expr]:
    """An 18-character resident ID (全角 accepted, lower-case x upper-cased), or a 15-digit one
    upgraded to 18 by GB 11643's rule (the century 19 inserted after the address code, the
    check character appended); the birth date must be real, from 1880 (as `core.idnumber`) and
    not after `today`. An ID Excel stored as a number (a numeric cell, scientific notation, or
    an "000" tail in a column where such tails are far too common) is refused: its last digits
    are gone. `stage` may materialise the named intermediates (validation does, so no step
    runs twice); `numeric` is true for a cell the file stored as a number."""
    today = today or dt.date.today()
    cleaned = stage("id", clean_id(text))
    old = cleaned.str.contains(r"^[0-9]{15}$")
    shaped = cleaned.str.contains(r"^[0-9]{17}[0-9X]$")
    first17 = stage("first17", pl.when(shaped).then(cleaned.str.slice(0, 17))
                    .when(old).then(pl.concat_str([cleaned.str.slice(0, 6), pl.lit("19"),
                                                   cleaned.str.slice(6, 9)])))
    expected = stage("check", id_check_char(first17))
    raw = pl.when(old).then(first17 + expected).otherwise(cleaned)
    check_ok = old | (expected == cleaned.str.slice(17, 1))
    birth = first17.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    birth_ok = birth.is_not_null() & (birth >= dt.date(1880, 1, 1)) & (birth <= today)
    tail = shaped & cleaned.str.ends_with("000")
    tail_share = tail.sum() / shaped.sum().clip(lower_bound=1)
    scientific = cleaned.str.contains(r"^[0-9](?:\.[0-9]+)?E\+?[0-9]+$")
    from_number = (numeric.fill_null(False) & cleaned.str.contains(r"^[0-9]{16,}$")
                   if numeric is not None else pl.lit(False))
    reason = stage("reason", pl.when(blank(text)).then(None)
                   .when(scientific | from_number).then(pl.lit(ID_EXCEL))
                   .when(first17.is_null()).then(pl.lit("身份证号应为18位数字（末位可为X）"))
                   .when(tail & (~check_ok | (tail_share > EXCEL_TAIL_SHARE)))
                   .then(pl.lit(ID_EXCEL))
                   .when(~check_ok).then(pl.lit("身份证号校验码错误"))
                   .when(~birth_ok).then(pl.lit("身份证号中的出生日期无效"))
                   .otherwise(None))
    return pl.when(reason.is_null() & ~blank(text)).then(raw), reason


def id_upgraded(text: pl.Expr) -> pl.Expr:
    """True for a cell holding a 15-digit (first-generation) ID that was upgraded to 18."""
    return clean_id(text).str.contains(r"^[0-9]{15}$").fill_null(False)


def birth_date_of_id(id_number: pl.Expr) -> pl.Expr:
    return id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def _digits(text: pl.Expr, stage: Stage = inline) -> pl.Expr:
    """Numeric text without currency signs, spaces or a leading +; thousands separators are
    removed only where they group by three ("1,234.50"); "12,34" stays invalid. A unit the
    cell itself names stays at the end, for the parser of its kind."""
    bare = stage("bare", halfwidth(text).str.replace_all(_INVISIBLE, "").str.replace_all(r"\s", "")
            .str.replace(r"^(?:人民币|RMB|￥|¥)", "").str.replace(r"^\+", ""))
    grouped = bare.str.contains(r"^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?[^0-9,.]*$")
    return pl.when(grouped).then(bare.str.replace_all(",", "")).otherwise(bare)


# A formula's result written back as a float ("10.100000000000364", "1800.7199999999998") has a
# tail far below the last place kept: within a thousandth of that place it is rounded off; any
# other extra digit ("10.005") is a real value the field cannot hold, and is refused.
_TAIL_MIN_DIGITS = 6


def _scaled(number: pl.Expr, places: int, stage: Stage = inline) -> pl.Expr:
    """'1234.5' → 1234.5 × 10^places as an exact Int64 (no floats); null when it needs more
    decimal places than `places` (beyond a float's rounding tail) or is not a plain decimal."""
    # at most 18 significant digits: whole × 10^places + frac must fit in Int64
    digits = 18 - places
    parts = stage(f"parts{places}",
                  number.str.extract_groups(rf"^(-?)([0-9]{{1,{digits}}})(?:\.([0-9]*))?$"))
    whole = parts.struct.field("2").cast(pl.Int64, strict=False)
    decimals = parts.struct.field("3").fill_null("")
    kept = decimals.str.slice(0, places)
    rest = stage(f"rest{places}", decimals.str.slice(places))
    exact = rest.str.contains(r"^0*$")
    floating = (rest.str.len_chars() >= _TAIL_MIN_DIGITS) & rest.str.contains(r"^(?:000|999)")
    up = pl.when(exact).then(0).when(floating & rest.str.starts_with("999")).then(1) \
        .when(floating).then(0)  # null: digits the field cannot hold
    if places:
        frac = kept.str.pad_end(places, "0").cast(pl.Int64, strict=False)
    else:
        frac = pl.lit(0, pl.Int64)
    sign = pl.when(parts.struct.field("1") == "-").then(-1).otherwise(1)
    return sign * (whole * 10**places + frac + up)


MESSAGES = {
    "money": "金额格式无法识别（应为元，最多两位小数）",
    "number": "应为整数",
    "decimal1": "应为数值（最多一位小数）",
    "area": "面积格式无法识别（应为平方米，最多两位小数）",
    "date": "日期无法识别",
}


def unparsed_reason(text: pl.Expr, value: pl.Expr, kind: str) -> pl.Expr:
    """The reason for a cell of `kind` whose parsed `value` is null although it is not blank.
    Given the materialised value column, validation need not parse a cell twice."""
    return (pl.when(blank(text)).then(None)
            .when(value.is_null()).then(pl.lit(MESSAGES[kind]))
            .otherwise(None))


# Units a cell may carry itself, as powers of ten of yuan; a cell without one is in the unit of
# its column (the header's, else the field's).
_CELL_MONEY_UNITS = {"元": 0, "圆": 0, "万元": 4, "万": 4}


def money_units_named(cells: pl.Series) -> frozenset[int]:
    """The units (powers of ten of yuan) that some cell of a column names itself: one literal
    scan, so that a column whose cells name none is read without the per-unit readings."""
    if cells.dtype != pl.String or cells.len() == 0:
        return frozenset()
    found = cells.to_frame("t").select(
        **{u: pl.col("t").str.contains(u, literal=True).any() for u in ("万", "元", "圆")}).row(0)
    return frozenset(_CELL_MONEY_UNITS[u] for u, hit in zip(("万", "元", "圆"), found, strict=True)
                     if hit)


def parse_money(text: pl.Expr, exponent: int = 0, named: frozenset[int] | None = None,
                stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """An amount → integer fen. `exponent` is the column's unit as a power of ten of yuan
    (元 0, 千元 3, 万元 4, 亿元 8, 分 −2); a cell that names its unit ("1.2万元", "71.24元")
    is read in that unit. `named`: the units the column's cells name (`money_units_named`);
    None when not known, and every unit is then tried. `stage` as in `parse_id_number`."""
    cleaned = stage("digits", _digits(text, stage))
    if named is not None and not named and 2 + exponent >= 0:
        value = _scaled(cleaned, 2 + exponent, stage)
        return value, unparsed_reason(text, value, "money")
    number = stage("number", cleaned.str.replace(r"(?:万元|万|元|圆)$", ""))
    unit = cleaned.str.extract(r"(万元|万|元|圆)$")
    cell_exp = unit.replace_strict(_CELL_MONEY_UNITS, default=None, return_dtype=pl.Int32)
    value = pl.lit(None, pl.Int64)
    tried = set(_CELL_MONEY_UNITS.values()) if named is None else set(named)
    for exp in sorted({exponent, *tried}):
        if 2 + exp < 0:
            continue
        here = (cell_exp == exp) if exp != exponent else (cell_exp.is_null() | (cell_exp == exp))
        value = pl.when(here).then(_scaled(number, 2 + exp, stage)).otherwise(value)
    return value, unparsed_reason(text, value, "money")


def parse_number(text: pl.Expr, factor: int = 1,
                 stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """An integer ("12.0", as Excel writes whole numbers, is accepted), times the column's
    unit `factor` (e.g. 12 for years into a field counted in months)."""
    value = _scaled(stage("digits", _digits(text, stage)), 0, stage) * factor
    return value, unparsed_reason(text, value, "number")


def parse_decimal1(text: pl.Expr, stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """A number with at most one decimal place → integer tenths."""
    cleaned = stage("digits", _digits(text, stage).str.replace(r"(?:㎡|平方米|m2|M2|m²)$", ""))
    value = _scaled(cleaned, 1, stage)
    return value, unparsed_reason(text, value, "decimal1")


def parse_area(text: pl.Expr, exponent: int = 0,
               stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """Square metres with at most two decimals (as 不动产登记 records them) → integer hundredths
    of a square metre. `exponent` is the column's unit as a power of ten of ㎡ (公顷 4); a cell
    written "85.25㎡" is in square metres whatever its column."""
    cleaned = stage("digits", _digits(text, stage))
    in_m2 = cleaned.str.contains(r"(?:㎡|平方米|平米|m2|M2|m²)$")
    number = stage("number", cleaned.str.replace(r"(?:㎡|平方米|平米|m2|M2|m²)$", ""))
    value = (pl.when(in_m2).then(_scaled(number, 2, stage))
             .otherwise(_scaled(number, 2 + exponent, stage)))
    return value, unparsed_reason(text, value, "area")


DATE_YEAR_ONLY = "日期只有年份，缺少月和日（请写作 2026-11-05）"
DATE_NO_DAY = "日期缺少日（只有年月）"
DATE_AMBIGUOUS = "日期写法有歧义（月/日/年 还是 日/月/年？请写作 2026-11-05）"
DATE_SERIAL = "日期写成了数字，无法确定（请写作 2026-11-05）"


def _date_text(text: pl.Expr) -> pl.Expr:
    return halfwidth(text).str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")


def parse_date(text: pl.Expr, numeric: pl.Expr | None = None,
               stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """2026-03-05, 2026/3/5, 2026.3.5, 20260305, 2026年3月5日, a datetime's date part; an Excel
    serial day number (61 … 109574) only from a cell the file stored as a number (`numeric`),
    and never one that reads as a year. A bare year, a month without a day, and day/month/year
    orders are refused with their own reasons. `stage` as in `parse_id_number`."""
    cleaned = stage("date", _date_text(text))
    parts = stage("dparts", cleaned.str.extract_groups(
        r"^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))$"))
    year = parts.struct.field("1").cast(pl.Int32, strict=False)
    month = pl.coalesce(parts.struct.field("2"), parts.struct.field("4")).cast(pl.Int32,
                                                                               strict=False)
    day = pl.coalesce(parts.struct.field("3"), parts.struct.field("5")).cast(pl.Int32,
                                                                             strict=False)
    iso = pl.format("{}-{}-{}", year, month.cast(pl.String).str.pad_start(2, "0"),
                    day.cast(pl.String).str.pad_start(2, "0"))
    calendar = iso.str.to_date("%Y-%m-%d", strict=False)
    calendar = pl.when((calendar >= DATE_MIN) & (calendar <= DATE_MAX)).then(calendar)
    if numeric is None:
        return calendar, date_reason(text, calendar, None)
    serial = cleaned.str.extract(r"^([0-9]{2,6})(?:\.0+)?$").cast(pl.Int64, strict=False)
    from_serial = (pl.when(numeric.fill_null(False) & (serial >= SERIAL_MIN)
                           & (serial <= SERIAL_MAX) & ~_year_like(cleaned))
                   .then(pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)))
    value = pl.coalesce(calendar, from_serial.cast(pl.Date))
    return value, date_reason(text, value, numeric)


def _year_like(cleaned: pl.Expr) -> pl.Expr:
    year = cleaned.str.extract(r"^([0-9]{4})(?:\.0+)?年?$").cast(pl.Int32, strict=False)
    return year.is_between(DATE_MIN.year, DATE_MAX.year).fill_null(False)


def date_reason(text: pl.Expr, value: pl.Expr, numeric: pl.Expr | None,
                stage: Stage = inline) -> pl.Expr:
    """Why a non-blank date cell has no value: the specific reasons first, then the generic."""
    cleaned = stage("date", _date_text(text))
    return (pl.when(blank(text) | value.is_not_null()).then(None)
            .when(_year_like(cleaned)).then(pl.lit(DATE_YEAR_ONLY))
            .when(cleaned.str.contains(r"^[0-9]{4}(?:[-/.]|年)[0-9]{1,2}月?$")
                  | cleaned.str.contains(r"^(?:19|20|21)[0-9]{2}(?:0[1-9]|1[0-2])$"))
            .then(pl.lit(DATE_NO_DAY))
            .when(cleaned.str.contains(r"^[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}$"))
            .then(pl.lit(DATE_AMBIGUOUS))
            .when(cleaned.str.contains(r"^[0-9]{2,6}(?:\.0+)?$")
                  & (pl.lit(True) if numeric is None else ~numeric.fill_null(False)))
            .then(pl.lit(DATE_SERIAL))
            .otherwise(pl.lit(MESSAGES["date"])))


def parse_text(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return clean_text(text), pl.lit(None, pl.String)


PARSERS = {
    "text": parse_text,
    "id_number": parse_id_number,
    "date": parse_date,
    "money": parse_money,
    "number": parse_number,
    "decimal1": parse_decimal1,
    "area": parse_area,
}
DTYPES = {"text": pl.String, "id_number": pl.String, "date": pl.Date, "money": pl.Int64,
          "number": pl.Int64, "decimal1": pl.Int64, "area": pl.Int64}

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


def parse_id_number(text: pl.Expr, today: dt.date | None = None,
                    stage: Stage = inline) -> tuple[pl.Expr, pl.Expr]:
    """An 18-character resident ID (全角 accepted, lower-case x upper-cased); the birth date
    must be real, from 1880 (as `core.idnumber`) and not after `today`. `stage` may
    materialise the named intermediates (validation does, so no step runs twice)."""
    today = today or dt.date.today()
    raw = stage("id", halfwidth(text).str.to_uppercase())
    shaped = raw.str.contains(r"^[0-9]{17}[0-9X]$")
    first17 = stage("first17", pl.when(shaped).then(raw.str.slice(0, 17)))
    check_ok = id_check_char(first17) == raw.str.slice(17, 1)
    birth = raw.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    birth_ok = birth.is_not_null() & (birth >= dt.date(1880, 1, 1)) & (birth <= today)
    reason = stage("reason", pl.when(blank(text)).then(None)
                   .when(first17.is_null()).then(pl.lit("身份证号应为18位数字（末位可为X）"))
                   .when(~check_ok).then(pl.lit("身份证号校验码错误"))
                   .when(~birth_ok).then(pl.lit("身份证号中的出生日期无效"))
                   .otherwise(None))
    return pl.when(reason.is_null() & ~blank(text)).then(raw), reason


def birth_date_of_id(id_number: pl.Expr) -> pl.Expr:
    return id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def _digits(text: pl.Expr) -> pl.Expr:
    """Numeric text without currency signs, units, spaces or a leading +; thousands separators
    are removed only where they group by three ("1,234.50"); "12,34" stays invalid."""
    bare = (halfwidth(text).str.replace_all(r"\s", "")
            .str.replace(r"^(?:人民币|RMB|￥|¥)", "").str.replace(r"(?:元|圆)$", "")
            .str.replace(r"^\+", ""))
    grouped = bare.str.contains(r"^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:万)?$")
    return pl.when(grouped).then(bare.str.replace_all(",", "")).otherwise(bare)


def _scaled(number: pl.Expr, places: int) -> pl.Expr:
    """'1234.5' → 1234.5 × 10^places as an exact Int64 (no floats); null when it needs more
    decimal places than `places` or is not a plain decimal."""
    # at most 18 significant digits: whole × 10^places + frac must fit in Int64
    digits = 18 - places
    pattern = (rf"^(-?)([0-9]{{1,{digits}}})(?:\.([0-9]{{0,{places}}}))?$" if places
               else rf"^(-?)([0-9]{{1,{digits}}})$")
    parts = number.str.extract_groups(pattern)
    whole = parts.struct.field("2").cast(pl.Int64, strict=False)
    if places:
        frac = parts.struct.field("3").fill_null("").str.pad_end(places, "0").cast(
            pl.Int64, strict=False)
    else:
        frac = pl.lit(0, pl.Int64)
    sign = pl.when(parts.struct.field("1") == "-").then(-1).otherwise(1)
    return sign * (whole * 10**places + frac)


MESSAGES = {
    "money": "金额格式无法识别（应为元，最多两位小数）",
    "number": "应为整数",
    "decimal1": "应为数值（最多一位小数）",
    "date": "日期无法识别",
}


def unparsed_reason(text: pl.Expr, value: pl.Expr, kind: str) -> pl.Expr:
    """The reason for a cell of `kind` whose parsed `value` is null although it is not blank.
    Given the materialised value column, validation need not parse a cell twice."""
    return (pl.when(blank(text)).then(None)
            .when(value.is_null()).then(pl.lit(MESSAGES[kind]))
            .otherwise(None))


def parse_money(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Yuan in the file → integer fen. 万元 (ten thousand yuan) is accepted."""
    cleaned = _digits(text)
    wan = cleaned.str.ends_with("万")
    number = cleaned.str.replace(r"万$", "")
    value = pl.when(wan).then(_scaled(number, 6)).otherwise(_scaled(number, 2))  # 万元 = 10⁶ 分
    return value, unparsed_reason(text, value, "money")


def parse_number(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An integer; "12.0" (as Excel writes whole numbers) is accepted."""
    cleaned = _digits(text).str.replace(r"\.0+$", "")
    value = _scaled(cleaned, 0)
    return value, unparsed_reason(text, value, "number")


def parse_decimal1(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A number with at most one decimal place → integer tenths."""
    cleaned = _digits(text).str.replace(r"(?:㎡|平方米|m2|M2)$", "")
    value = _scaled(cleaned, 1)
    return value, unparsed_reason(text, value, "decimal1")


def parse_date(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """2026-03-05, 2026/3/5, 2026.3.5, 20260305, 2026年3月5日, a datetime's date part, or an
    Excel serial day number (61 … 109574)."""
    cleaned = halfwidth(text).str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")
    parts = cleaned.str.extract_groups(
        r"^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))$")
    year = parts.struct.field("1").cast(pl.Int32, strict=False)
    month = pl.coalesce(parts.struct.field("2"), parts.struct.field("4")).cast(pl.Int32,
                                                                               strict=False)
    day = pl.coalesce(parts.struct.field("3"), parts.struct.field("5")).cast(pl.Int32,
                                                                             strict=False)
    iso = pl.format("{}-{}-{}", year, month.cast(pl.String).str.pad_start(2, "0"),
                    day.cast(pl.String).str.pad_start(2, "0"))
    calendar = iso.str.to_date("%Y-%m-%d", strict=False)
    serial = cleaned.str.extract(r"^([0-9]{2,6})(?:\.0+)?$").cast(pl.Int64, strict=False)
    from_serial = (pl.when((serial >= SERIAL_MIN) & (serial <= SERIAL_MAX))
                   .then(pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)))
    calendar = pl.when((calendar >= DATE_MIN) & (calendar <= DATE_MAX)).then(calendar)
    value = pl.coalesce(calendar, from_serial.cast(pl.Date))
    return value, unparsed_reason(text, value, "date")


def parse_text(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return clean_text(text), pl.lit(None, pl.String)


PARSERS = {
    "text": parse_text,
    "id_number": parse_id_number,
    "date": parse_date,
    "money": parse_money,
    "number": parse_number,
    "decimal1": parse_decimal1,
}
DTYPES = {"text": pl.String, "id_number": pl.String, "date": pl.Date, "money": pl.Int64,
          "number": pl.Int64, "decimal1": pl.Int64}

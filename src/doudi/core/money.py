"""A typed amount in yuan (元) → integer fen (分), one parser for every form and API input.

Accepted: a plain decimal with at most two decimals, optionally signed, with thousands
separators that group by three ("1,234.50"), full-width digits and punctuation ("１２３．５"),
surrounding spaces. Zeros beyond the second decimal change nothing and are accepted ("1.500").
Refused, with the field and a reason a clerk can act on (`AmountError`): blank where required,
not a number, exponent notation ("1e30"), infinity or NaN, a third non-zero decimal, a negative
amount where none is allowed, an amount above the ceiling of its use.

Pure Python: no Django, no floats.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from doudi.core.errors import ServiceError

#: the default ceiling of a typed amount: 1,000 万元 (10,000,000 元)
MAX_FEN = 10_000_000 * 100
#: a month's benefit of one household (月保障金): 10 万元 is far above any standard
MONTHLY_MAX_FEN = 100_000 * 100
#: a year's budget of a programme in an area (年度预算): 100 亿元
BUDGET_MAX_FEN = 10_000_000_000 * 100

_LONGEST = 200  # characters: longer text is not an amount anyone types
_PLAIN = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?", re.ASCII)
_NON_FINITE = re.compile(r"[+-]?(?:inf(?:inity)?|nan|snan|∞)", re.IGNORECASE)
_EXPONENT = re.compile(r"[+-]?[\d,]*\.?\d*e[+-]?\d*", re.IGNORECASE | re.ASCII)


class AmountError(ServiceError, ValueError):
    """A typed amount that cannot be used; `field` names the input, the message says why.
    A ValueError too, so a view that reports a bad value shows this reason."""


def yuan_text(fen: int) -> str:
    """123450 → "1234.50": the plain text `parse_yuan` reads back to the same fen."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _ceiling_text(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}" + (f".{cents:02d}" if cents else "")


def parse_yuan(text: str | None, *, field: str, label: str = "金额",
               allow_negative: bool = False, max_fen: int = MAX_FEN) -> int:
    """A typed amount in yuan as integer fen, exactly; an `AmountError` naming `field`
    (its reasons say `label`) when it cannot be used. The ceiling holds both ways when
    negative amounts are allowed."""

    def refuse(reason: str) -> AmountError:
        return AmountError(reason, field=field)

    raw = "" if text is None else str(text)
    # NFKC: full-width digits, "，" and "．" and the ideographic space become ASCII
    typed = unicodedata.normalize("NFKC", raw).strip().replace("−", "-")
    if not typed:
        raise refuse(f"请填写{label}")
    if len(typed) > _LONGEST:
        raise refuse(f"{label}应为数值，请填写以元为单位的数字，如 1234.50")
    shown = typed if len(typed) <= 20 else typed[:20] + "…"
    if _NON_FINITE.fullmatch(typed):
        raise refuse(f"{label}应为有限数值，不能是无穷大或非数字（{shown}）")
    if _EXPONENT.fullmatch(typed) and any(c.isdigit() for c in typed):
        raise refuse(f"{label}不能用科学计数法（{shown}），请直接写出数字，如 1234.50")
    found = _PLAIN.fullmatch(typed)
    if found is None or not (found.group(2) or found.group(3)):
        raise refuse(f"{label}应为数值，请填写以元为单位的数字，如 1234.50")
    sign, whole, decimals = found.group(1), found.group(2).replace(",", ""), found.group(3) or ""
    if decimals.rstrip("0") and len(decimals.rstrip("0")) > 2:
        raise refuse(f"{label}最多两位小数（分），收到 {shown}")
    whole = whole.lstrip("0") or "0"
    negative = sign == "-" and (whole != "0" or decimals.strip("0") != "")
    if negative and not allow_negative:
        raise refuse(f"{label}不能为负数")
    ceiling = f"{label}不能超过 {_ceiling_text(max_fen)} 元，请核对"
    if len(whole) > len(str(max_fen)):  # before int(): no giant numbers are built
        raise refuse(ceiling)
    fen = int(whole) * 100 + int(decimals[:2].ljust(2, "0"))
    if fen > max_fen:
        raise refuse(ceiling)
    return -fen if negative else fen


def parse_optional_yuan(text: str | None, *, field: str, label: str = "金额",
                        allow_negative: bool = False, max_fen: int = MAX_FEN) -> int | None:
    """`parse_yuan` for an amount that may be left blank (None then)."""
    if text is None or not unicodedata.normalize("NFKC", str(text)).strip():
        return None
    return parse_yuan(text, field=field, label=label, allow_negative=allow_negative,
                      max_fen=max_fen)


def parse_tenths(text: str | None, *, field: str, label: str, maximum: int) -> Decimal:
    """A typed non-negative quantity with at most one decimal (服务时长 in hours), read with the
    same rules and reasons as an amount; at most `maximum` (whole units)."""
    hundredths = parse_yuan(text, field=field, label=label, max_fen=maximum * 100)
    if hundredths % 10:
        raise AmountError(f"{label}最多一位小数", field=field)
    return Decimal(hundredths) / 100


def parse_whole(text: str | None, *, field: str, label: str, maximum: int,
                default: int | None = None) -> int:
    """A typed non-negative whole number (a count, a seed, points), read with the same rules
    and reasons as an amount — no exponent, infinity or digits beyond `maximum` reach the
    database's integer; empty gives `default` when one is given."""
    if default is not None and not (text or "").strip():
        return default
    hundredths = parse_yuan(text, field=field, label=label, max_fen=maximum * 100)
    if hundredths % 100:
        raise AmountError(f"{label}应为整数", field=field)
    return hundredths // 100

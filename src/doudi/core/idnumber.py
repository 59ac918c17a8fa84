"""居民身份证号码 (GB 11643-1999): validation and the facts an ID carries.

A resident ID is 18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence
(odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2.
Bad IDs are rejected with a reason; they are never "fixed".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


class InvalidIdNumber(ValueError):
    """Raised with a Chinese reason a clerk can act on."""


@dataclass(frozen=True)
class IdFacts:
    id_number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    region_code: str


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Trim spaces and turn full-width digits / x into ASCII; nothing else is changed."""
    table = {ord("０") + i: ord("0") + i for i in range(10)}
    table.update({ord("ｘ"): ord("X"), ord("Ｘ"): ord("X"), ord("x"): ord("X")})
    return raw.strip().translate(table)


def parse(raw: str, today: dt.date | None = None) -> IdFacts:
    """Validate an ID and return birth date, sex and region; raise InvalidIdNumber otherwise."""
    value = normalize(raw or "")
    if len(value) != 18:
        raise InvalidIdNumber(f"身份证号码应为18位，实际为{len(value)}位")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        raise InvalidIdNumber("身份证号码前17位应为数字，末位为数字或X")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(f"出生日期 {value[6:14]} 不是有效日期") from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1880:
        raise InvalidIdNumber(f"出生日期 {birth.isoformat()} 不合理")
    expected = check_char(value[:17])
    if value[17] != expected:
        # The expected character is not shown: the typo may be in any digit.
        raise InvalidIdNumber("校验码错误：末位与前17位不符，请逐位核对")
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdFacts(id_number=value, birth_date=birth, sex=sex, region_code=value[:6])


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidIdNumber:
        return False
    return True


def make(region_code: str, birth_date: dt.date, sequence: int, sex: str) -> str:
    """Build a valid ID (for synthetic data and tests): sequence 0–499, parity set by sex."""
    seq = sequence * 2 + (1 if sex == "M" else 0)
    if not 0 <= seq <= 999:
        raise ValueError("sequence out of range")
    first17 = f"{region_code[:6]}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)

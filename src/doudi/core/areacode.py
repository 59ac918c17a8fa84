"""行政区划代码: 12-digit statistical division codes and the prefix that scopes an area.

省 2 digits, 市 4, 县 6, 乡镇 9, 村 12; the rest is padded with zeros. A record belongs to an
area when its 12-digit code starts with the area's significant prefix — one rule everywhere.
"""

from __future__ import annotations

PROVINCE, CITY, COUNTY, TOWN, VILLAGE = 1, 2, 3, 4, 5
PREFIX_LENGTH = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWN: 9, VILLAGE: 12}
LEVEL_BY_LENGTH = {length: level for level, length in PREFIX_LENGTH.items()}
LEVEL_LABELS = {PROVINCE: "省", CITY: "市", COUNTY: "县", TOWN: "乡镇", VILLAGE: "村"}


def full_code(short: str) -> str:
    """'341002' → '341002000000'."""
    short = short.strip()
    if not short.isdigit() or len(short) not in LEVEL_BY_LENGTH:
        raise ValueError(f"区划代码格式错误: {short!r}")
    return short.ljust(12, "0")


def level_of_short(short: str) -> int:
    """Level from a significant code as the division tables write it (2/4/6/9/12 digits)."""
    try:
        return LEVEL_BY_LENGTH[len(short)]
    except KeyError:
        raise ValueError(f"区划代码长度应为2/4/6/9/12位: {short!r}") from None


def prefix(code: str, level: int) -> str:
    """The significant prefix of a 12-digit code at its level."""
    return code[: PREFIX_LENGTH[level]]


def parent_short(short: str) -> str | None:
    """Significant code of the parent: '341002102' → '341002'."""
    level = level_of_short(short)
    if level == PROVINCE:
        return None
    return short[: PREFIX_LENGTH[level - 1]]


def contains(scope_prefix: str, code: str) -> bool:
    return code.startswith(scope_prefix)


def is_urban_village(name: str) -> bool:
    """社区/居委会 are urban communities; 村委会 are rural villages."""
    return "居委会" in name or name.endswith("社区") or "社区" in name

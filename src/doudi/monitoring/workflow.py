"""The life of a warning (预警 → 核实 → 处置 → 反馈) as tables (pure, no Django).

A warning is open (待核实) at the village or town that owns the person, due in the indicator's
working days. The handler records the on-site verification (核实), then a disposition (处置):
a case started for a programme, a referral to a department, 核实不符 with a reason, or 已在保.
Overdue warnings escalate one level (村 → 镇 → 县) with a new due date.
"""

from __future__ import annotations

from collections.abc import Set

from doudi.accounts import roles

OPEN, VERIFIED, CLOSED = "open", "verified", "closed"
STATES = {OPEN: "待核实", VERIFIED: "已核实待处置", CLOSED: "已办结"}

# handler level → area code length that owns it (村 12, 镇 9, 县 6)
LEVEL_PREFIX = {"village": 12, "town": 9, "district": 6}
ESCALATION = {"village": "town", "town": "district", "district": "district"}
LEVEL_LABELS = {"village": "村（社区）", "town": "乡镇（街道）", "district": "县（区）"}

# disposition → (label, programme a case is started for, needs a reason)
DISPOSITIONS: dict[str, tuple[str, str | None, bool]] = {
    "case_dibao": ("纳入低保（启动申请）", "dibao", False),
    "case_tekun": ("纳入特困（启动申请）", "tekun", False),
    "case_linshi": ("给予临时救助（启动申请）", "linshi", False),
    "case_edge": ("认定低保边缘家庭（启动申请）", "edge", False),
    "case_hardship": ("认定支出型困难家庭（启动申请）", "hardship", False),
    "case_disability": ("两项补贴（启动申请）", "disability", False),
    "case_child": ("孤儿/事实无人抚养儿童保障（启动申请）", "child", False),
    "refer_medical": ("转介医疗救助（医保部门）", None, False),
    "refer_education": ("转介教育救助（教育部门）", None, False),
    "refer_housing": ("转介住房救助（住建部门）", None, False),
    "refer_employment": ("转介就业帮扶（人社部门）", None, False),
    "benefit_change": ("调整保障（停发/减发/渐退）", None, True),
    "already_covered": ("已在保，无需处置", None, False),
    "not_confirmed": ("核实不符", None, True),
}
CASE_DISPOSITIONS = {k: p for k, (_, p, _) in DISPOSITIONS.items() if p}

# the capability acting on a warning owned at each level needs (the role table grants a
# level's to its own roles and those above it)
HANDLER = {
    "village": roles.HANDLE_VILLAGE_WARNING,
    "town": roles.HANDLE_TOWN_WARNING,
    "district": roles.HANDLE_DISTRICT_WARNING,
}


def owner_area(area_code: str, level: str) -> str:
    """The area code (as a prefix) of the village, town or district that handles it."""
    return area_code[:LEVEL_PREFIX[level]]


def may_handle(capabilities: Set[str], level: str) -> bool:
    """`capabilities`: the actor's (`user.capabilities`)."""
    return HANDLER[level] in capabilities

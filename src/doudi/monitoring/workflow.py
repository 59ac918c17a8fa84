"""The life of a warning (预警 → 核实 → 处置 → 反馈) as tables (pure, no Django).

A warning is open (待核实) at the village or town that owns the person, due in the indicator's
working days. The handler records the on-site verification (核实), then a disposition (处置):
a case started for a programme, a referral to a department, 核实不符 with a reason, or 已在保.
Overdue warnings escalate one level (村 → 镇 → 县) with a new due date.
"""

from __future__ import annotations

from collections.abc import Set

from doudi.accounts import roles
from doudi.programmes import catalogue

OPEN, VERIFIED, CLOSED = "open", "verified", "closed"
STATES = {OPEN: "待核实", VERIFIED: "已核实待处置", CLOSED: "已办结"}

# handler level → area code length that owns it (村 12, 镇 9, 县 6)
LEVEL_PREFIX = {"village": 12, "town": 9, "district": 6}
ESCALATION = {"village": "town", "town": "district", "district": "district"}
LEVEL_LABELS = {"village": "村（社区）", "town": "乡镇（街道）", "district": "县（区）"}

# disposition → (label, programme a case is started for, needs a reason); a refer_* disposition
# sends a referral (转介) of the kind that names it in doudi/referrals/kinds.yaml
# (starting a case for a programme: one per catalogue entry with a `case_label`)
OTHER_DISPOSITIONS: dict[str, tuple[str, str | None, bool]] = {
    "refer_medical": ("转介医疗救助（医保部门）", None, False),
    "refer_education": ("转介教育救助（教育部门）", None, False),
    "refer_housing": ("转介住房救助（住建部门）", None, False),
    "refer_employment": ("转介就业帮扶（人社部门）", None, False),
    "refer_disability": ("转介残疾人服务（残联）", None, False),
    "refer_legal_aid": ("转介司法救助（司法部门）", None, False),
    "refer_charity": ("转介慈善帮扶（慈善会）", None, False),
    "benefit_change": ("调整保障（停发/减发/渐退）", None, True),
    "already_covered": ("已在保，无需处置", None, False),
    "not_confirmed": ("核实不符", None, True),
}


def dispositions() -> dict[str, tuple[str, str | None, bool]]:
    """Every disposition: starting a case for each programme, then the others."""
    cases = {code: (label, programme, False)
             for code, label, programme in catalogue.case_dispositions()}
    return {**cases, **OTHER_DISPOSITIONS}


def case_dispositions() -> dict[str, str]:
    """disposition → the programme whose case it starts."""
    return {k: p for k, (_, p, _) in dispositions().items() if p}


def disposition_choices() -> list[tuple[str, str]]:
    return [(k, v[0]) for k, v in dispositions().items()]

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

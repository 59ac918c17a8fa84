"""Visit plans (探访计划) as a table (pure, no Django): which group is visited how often, by
whom, and the period a visit counts for.

Each group is a registry category (分散供养特困 is 特困 outside an institution); its interval in
months is a dated policy parameter `care.visit.<group>` (for 留守老人 one per risk level:
`care.visit.left_behind_elderly.<level>`), so a district sets its own. Periods are aligned
to the calendar: an interval of 1 is each month, 3 each quarter, 2 January–February and so
on; a visit anywhere in the period counts for it, and the task is due on its last day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    category: str  # the registry category the group is drawn from
    visitor: str  # who visits, as the UI names them
    default_months: int  # when no policy parameter is found
    by_risk: bool = False  # interval per risk level (CareProfile.risk_level)


GROUPS: dict[str, Group] = {g.code: g for g in (
    Group("dispersed_tekun", "分散供养特困人员", "tekun", "村协理员", 1),
    Group("orphan", "孤儿（散居）", "orphan", "儿童主任", 1),
    Group("de_facto_unsupported", "事实无人抚养儿童", "de_facto_unsupported", "儿童主任", 1),
    Group("child_in_hardship", "困境儿童", "child_in_hardship", "儿童主任", 3),
    Group("left_behind_child", "农村留守儿童", "left_behind_child", "儿童主任", 1),
    Group("left_behind_elderly", "农村留守老年人", "left_behind_elderly", "村协理员", 2,
          by_risk=True),
    Group("left_behind_woman", "农村留守妇女", "left_behind_woman", "村协理员", 3),
)}
RISK_LEVELS = {"high": "高风险", "medium": "中风险", "low": "低风险"}
DEFAULT_RISK_MONTHS = {"high": 1, "medium": 2, "low": 3}
# village first; an overdue task escalates one level, like a warning
ESCALATION = {"village": "town", "town": "district", "district": "district"}
LEVEL_PREFIX = {"village": 12, "town": 9, "district": 6}


def parameter_key(group: Group, risk: str | None = None) -> str:
    return f"care.visit.{group.code}" + (f".{risk or 'medium'}" if group.by_risk else "")


def period(month: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The calendar-aligned period of `months` months that contains `month`."""
    if months < 1 or 12 % months:
        raise ValueError("探访周期应为 1、2、3、4、6 或 12 个月")
    first = (month.month - 1) // months * months + 1
    start = dt.date(month.year, first, 1)
    last_month = first + months - 1
    end = dt.date(month.year, last_month, calendar.monthrange(month.year, last_month)[1])
    return start, end

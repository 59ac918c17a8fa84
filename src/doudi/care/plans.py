"""Visit plans (探访计划) as a table (pure, no Django): which group is visited how often, by
whom, and the period a visit counts for.

Each group is a registry category (分散供养特困 is 特困 outside an institution), or, for the
特殊困难老年人 (高龄, 独居, 空巢, 失能, 计生特殊家庭: the 2022 national guidance on visiting them),
facts of the person and the household (`elderly_groups`): age from the birth date, who else
lives in the household, the self-care items failed, and the 计生特殊家庭 mark on the person's
care facts. Its interval in months is a dated policy parameter `care.visit.<group>` (for 留守老人
one per risk level: `care.visit.left_behind_elderly.<level>`), so a district sets its own.
Periods are aligned to the calendar: an interval of 1 is each month, 3 each quarter, 2
January–February and so on; a visit anywhere in the period counts for it, and the task is
due on its last day.
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
    elderly: bool = False  # 特殊困难老年人: drawn from facts (`elderly_groups`), no category


GROUPS: dict[str, Group] = {g.code: g for g in (
    Group("dispersed_tekun", "分散供养特困人员", "tekun", "村协理员", 1),
    Group("orphan", "孤儿（散居）", "orphan", "儿童主任", 1),
    Group("de_facto_unsupported", "事实无人抚养儿童", "de_facto_unsupported", "儿童主任", 1),
    Group("child_in_hardship", "困境儿童", "child_in_hardship", "儿童主任", 3),
    Group("left_behind_child", "农村留守儿童", "left_behind_child", "儿童主任", 1),
    Group("left_behind_elderly", "农村留守老年人", "left_behind_elderly", "村协理员", 2,
          by_risk=True),
    Group("left_behind_woman", "农村留守妇女", "left_behind_woman", "村协理员", 3),
    Group("advanced_age", "高龄老年人", "", "村协理员", 1, elderly=True),
    Group("living_alone", "独居老年人", "", "村协理员", 1, elderly=True),
    Group("empty_nest", "空巢老年人", "", "村协理员", 1, elderly=True),
    Group("disabled_elderly", "失能老年人", "", "村协理员", 1, elderly=True),
    Group("family_planning_special", "计生特殊家庭老年人", "", "村协理员", 1, elderly=True),
)}
ELDERLY_GROUPS = tuple(g.code for g in GROUPS.values() if g.elderly)
DEFAULT_ELDERLY_AGE = 60  # 老年人权益保障法第二条, when `care.elderly.age` has no value
DEFAULT_ADVANCED_AGE = 80  # when `care.elderly.advanced_age` has no value
# 失能: at least one of the six daily-living items failed (半失能 1–3, 全失能 4–6)
DISABLED_ADL_ITEMS = 1


@dataclass(frozen=True)
class ElderlyFacts:
    """What places an elderly person in the 特殊困难老年人 groups, on one day."""

    age: int
    others: tuple[int, ...]  # the ages of the other co-resident members of the household
    adl_failed: int = 0  # daily-living items failed, of six
    family_planning_special: bool = False  # 计划生育特殊家庭 (recorded on the care facts)


def elderly_groups(facts: ElderlyFacts, elderly_age: int = DEFAULT_ELDERLY_AGE,
                   advanced_age: int = DEFAULT_ADVANCED_AGE) -> set[str]:
    """The 特殊困难老年人 groups a person belongs to: none below `elderly_age`; 高龄 from
    `advanced_age`; 独居 living with no other co-resident member; 空巢 living only with other
    elderly people (a couple: no younger member at home); 失能 with a daily-living item failed;
    计生特殊家庭 as recorded. One person may be in several (one visit closes all their tasks)."""
    if facts.age < elderly_age:
        return set()
    out = set()
    if facts.age >= advanced_age:
        out.add("advanced_age")
    if not facts.others:
        out.add("living_alone")
    elif all(age >= elderly_age for age in facts.others):
        out.add("empty_nest")
    if facts.adl_failed >= DISABLED_ADL_ITEMS:
        out.add("disabled_elderly")
    if facts.family_planning_special:
        out.add("family_planning_special")
    return out
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

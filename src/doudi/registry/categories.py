"""Categories (人员/家庭类别) a household or person carries, with start and end dates.

`level` says whether the category is carried by the household (H) or by a person (P).
"""

from __future__ import annotations

from dataclasses import dataclass

from doudi.programmes import catalogue


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    level: str  # "H" household, "P" person


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in [
        Category("dibao", "低保", "H"),
        Category("tekun", "特困", "P"),
        Category("edge", "低保边缘", "H"),
        Category("hardship", "支出型困难", "H"),
        Category("relapse_watch", "防返贫监测对象", "H"),
        Category("lifted_from_poverty", "脱贫户", "H"),
        Category("orphan", "孤儿", "P"),
        Category("de_facto_unsupported", "事实无人抚养儿童", "P"),
        Category("child_in_hardship", "困境儿童", "P"),
        Category("left_behind_elderly", "留守老人", "P"),
        Category("left_behind_child", "留守儿童", "P"),
        Category("left_behind_woman", "留守妇女", "P"),
        Category("severe_disability", "重度残疾", "P"),
        Category("serious_illness", "重病", "P"),
    ]
}
CATEGORY_CHOICES = [(c.code, c.label) for c in CATEGORIES.values()]


def by_decision(code: str) -> bool:
    """A programme status (低保, 特困, 低保边缘, 支出型 …: the catalogue's categories): set and
    ended only by a casework decision, never typed on the registry page."""
    return code in catalogue.categories()


def fact_choices() -> list[tuple[str, str]]:
    """The categories that are facts a clerk records (留守, 重度残疾, 重病 …)."""
    return [(c.code, c.label) for c in CATEGORIES.values() if not by_decision(c.code)]

"""Who is whose parent in a household (家庭关系), read from each member's relation to the head
(与户主关系), for the rules that look at a member's parents: 老残一体 and 依老养残 (a disabled
adult living with, or supported by, elderly parents) and the 困境儿童 whose parents are severely
disabled or seriously ill.

A member's parents are the co-resident members whose relation to the head is the one above
theirs: a child's (子女) are the head and the spouse; the head's are 父母, the spouse's 公婆/岳父母,
a sibling's 父母; a grandchild's (孙子女) are 子女 and 儿媳/女婿; a parent's are 祖父母. A member
without a relation, or with 其他, has no parent in the household as far as the rules know.

The expressions are window expressions over the household (`_h`, the engine's household row
number), so a member phase reads them directly.
"""

from __future__ import annotations

import polars as pl

HOUSEHOLD = "_h"
ADULT_AGE = 18  # 民法典第十七条：十八周岁以上的自然人为成年人

#: a member's relation → the relations of the members who are their parents
PARENTS: dict[str, tuple[str, ...]] = {
    "child": ("head", "spouse"),
    "head": ("parent",),
    "spouse": ("parent_in_law",),
    "sibling": ("parent",),
    "grandchild": ("child", "child_in_law"),
    "parent": ("grandparent",),
}


def household_any(condition: pl.Expr) -> pl.Expr:
    """True on every member of a household where a co-resident member meets `condition`."""
    return (condition & pl.col("co_resident")).fill_null(False).any().over(HOUSEHOLD)


def household_count(condition: pl.Expr) -> pl.Expr:
    """The number of co-resident members of the household who meet `condition`."""
    return (condition & pl.col("co_resident")).fill_null(False).cast(pl.Int32) \
        .sum().over(HOUSEHOLD)


def parent_has(condition: pl.Expr) -> pl.Expr:
    """True where one of the member's co-resident parents meets `condition`."""
    relation = pl.col("relation")
    holders = {r: household_any(condition & (relation == r))
               for r in {p for ps in PARENTS.values() for p in ps}}
    out = pl.lit(False)
    for own, parents in PARENTS.items():
        has = pl.lit(False)
        for parent in parents:
            has = has | holders[parent]
        out = out | ((relation == own) & has)
    return out.fill_null(False)

"""Who is whose parent in a household (家庭关系), read from each member's relation to the head
(与户主关系), for the rules that look at a member's parents: 老残一体 and 依老养残 (a disabled
adult living with, or supported by, elderly parents) and the 困境儿童 whose parents are severely
disabled or seriously ill.

A member's parents are the co-resident members whose relation to the head is the one above
theirs: a child's (子女) are the head and the spouse; the head's are 父母, the spouse's 公婆/岳父母,
a sibling's 父母; a grandchild's (孙子女) are 子女 and 儿媳/女婿; a parent's are 祖父母. A member
without a relation, or with 其他, has no parent in the household as far as the rules know.

What the household knows of its members is a household fact: a count over its members,
declared by a programme (`Programme.household_facts`), summed by the engine with the household
sums and handed to every member of the household for the member phases. A fact's name starts
with `_`: it is a step of the computation, not a result.
"""

from __future__ import annotations

import polars as pl

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
#: the relations a parent may have
PARENT_RELATIONS = tuple(sorted({p for ps in PARENTS.values() for p in ps}))


def counted(condition: pl.Expr) -> pl.Expr:
    """The member expression whose household sum is the number of co-resident members who
    meet `condition` (a household fact)."""
    return (condition & pl.col("co_resident")).fill_null(False)


def parent_facts(name: str, condition: pl.Expr) -> dict[str, pl.Expr]:
    """The household facts `parent_has(name)` reads: for each relation a parent may have,
    how many co-resident members of that relation meet `condition`."""
    relation = pl.col("relation")
    return {f"{name}[{r}]": counted(condition & (relation == r)) for r in PARENT_RELATIONS}


def parent_has(name: str) -> pl.Expr:
    """True where one of the member's co-resident parents meets the condition of the facts
    `parent_facts(name, condition)` declared."""
    relation = pl.col("relation")
    out = pl.lit(False)
    for own, parents in PARENTS.items():
        has = pl.lit(False)
        for parent in parents:
            has = has | (pl.col(f"{name}[{parent}]") > 0)
        out = out | ((relation == own) & has)
    return out.fill_null(False)

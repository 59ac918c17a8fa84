"""孤儿 and 事实无人抚养儿童: children under `child.max_age` receive the institutional (集中养育)
or community (散居) standard; a de facto unsupported child (not an orphan) receives
`child.de_facto.*` where the area sets it, else the orphan standard.

困境儿童 (`child.hardship_*`): where a province pays them a living allowance (困境儿童基本生活
补贴), a child under `child.max_age` who is neither an orphan nor de facto unsupported and
belongs to one of `child.hardship.groups` — 重残 (grade 1–2), 残疾 (grade 1–4), 重病, or a
co-resident parent severely disabled or seriously ill (父母重残重病; parents read from the
relations to the head, `doudi.rules.family`) — receives `child.hardship.rate` × the 散居孤儿
standard, rounded once. Both keys are optional: where no rate is set (the national default,
不设) nobody receives it. It is an output of its own, not part of `child.amount`.
"""

from __future__ import annotations

import polars as pl

from doudi.rules.family import parent_facts, parent_has
from doudi.rules.money import share
from doudi.rules.programmes.base import Batch, Criterion, Programme, Step

HARDSHIP_GROUPS = "child.hardship.groups"
HARDSHIP_RATE = "child.hardship.rate"
#: 困境儿童 sub-groups a province may pay the living allowance to → the member fact
HARDSHIP_WORDS = {"severe_disability": "重残儿童（一二级）", "disability": "残疾儿童（一至四级）",
                  "serious_illness": "重病儿童", "parents_severe": "父母重残或重病的儿童"}


PARENTS_SEVERE = "_child.parents_severe"  # household facts (`doudi.rules.family`)


def _severe() -> pl.Expr:
    grade = pl.col("disability_grade")
    return (grade >= 1) & (grade <= 2)


def hardship_groups() -> dict[str, pl.Expr]:
    grade = pl.col("disability_grade")
    return {"severe_disability": _severe(), "disability": grade >= 1,
            "serious_illness": pl.col("serious_illness"),
            "parents_severe": parent_has(PARENTS_SEVERE)}


def household_facts(b: Batch) -> dict[str, pl.Expr]:
    """Whether each parent is severely disabled or seriously ill: only where an area of the
    batch lists 父母重残重病 among the groups paid."""
    if b.listed(HARDSHIP_GROUPS, "parents_severe") is False:
        return {}
    return parent_facts(PARENTS_SEVERE, _severe() | pl.col("serious_illness"))


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    m = m.with_columns(
        (pl.col("orphan") | pl.col("de_facto_unsupported")).alias("child.group_ok"),
        (pl.col("age") < b.param("child.max_age")).alias("child.age_ok"),
    ).with_columns((pl.col("child.group_ok") & pl.col("child.age_ok")).alias("child.eligible"))
    institutional = b.param("child.orphan.institutional")
    community = b.param("child.orphan.community")
    orphan = pl.when(pl.col("institutional")).then(institutional).otherwise(community)
    de_facto = pl.when(pl.col("institutional")) \
        .then(b.optional("child.de_facto.institutional", institutional)) \
        .otherwise(b.optional("child.de_facto.community", community))
    standard = pl.when(pl.col("orphan")).then(orphan).otherwise(de_facto)
    in_group = b.any_listed(HARDSHIP_GROUPS, hardship_groups())
    rate = b.optional(HARDSHIP_RATE, pl.lit(0, pl.Int64))
    m = m.with_columns(
        pl.when(pl.col("child.eligible")).then(standard).otherwise(0).alias("child.amount"),
        (~pl.col("child.group_ok") & pl.col("child.age_ok") & in_group.fill_null(False)
         & (rate.fill_null(0) > 0)).alias("child.hardship_eligible"),
    )
    return m.with_columns(
        pl.when(pl.col("child.hardship_eligible"))
        .then(share(community, rate, b.step, b.mode)).otherwise(0)
        .alias("child.hardship_amount"),
        (pl.col("child.group_ok") | pl.col("child.hardship_eligible")).alias("child.relevant"),
    )


PARAMETERS = ("child.orphan.institutional", "child.orphan.community", "child.max_age",
              "dibao.rounding", "dibao.rounding.mode")
OPTIONAL = ("child.de_facto.institutional", "child.de_facto.community", HARDSHIP_RATE,
            HARDSHIP_GROUPS)

PROGRAMME = Programme(
    name="child", label="孤儿、事实无人抚养儿童基本生活保障", level="member",
    eligible="child.eligible", amount="child.amount",
    relevant="child.relevant", parameters=PARAMETERS, optional_parameters=OPTIONAL,
    depends=(), member_parameters=(*PARAMETERS, *OPTIONAL),
    household_facts=household_facts,
    member_results=member_results,
    criteria=(
        Criterion("child.group_ok", "孤儿或事实无人抚养儿童",
                  "孤儿：{orphan:bool}；事实无人抚养：{de_facto_unsupported:bool}"),
        Criterion("child.age_ok", "未满规定年龄", "年龄 {age:count} 岁，须小于 "
                                            "{child.max_age:count} 岁",
                  ("child.max_age",)),
    ),
    steps=(
        Step("困境儿童基本生活补贴",
             "散居孤儿标准 × 规定比例 = {child.hardship_amount:yuan}/月",
             ("child.orphan.community", HARDSHIP_RATE, HARDSHIP_GROUPS),
             when="child.hardship_eligible"),
    ),
    choices={HARDSHIP_GROUPS: HARDSHIP_WORDS},
    outputs={
        "eligible": ("child.eligible", "bool"),
        "amount": ("child.amount", "yuan"),
        "hardship_eligible": ("child.hardship_eligible", "bool"),
        "hardship_amount": ("child.hardship_amount", "yuan"),
    },
)

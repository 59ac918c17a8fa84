"""残疾人两项补贴: the living subsidy (困难残疾人生活补贴) for disabled members of the groups in
`disability.living_subsidy.groups` (低保, 低保边缘, 单人保, 特困), and the care subsidy
(重度残疾人护理补贴) for grades up to the `disability.care_subsidy.grades` table (grade 1–2 of
any type; in 广东 also grade 3–4 intellectual/mental), with no means test. Flat amounts."""

from __future__ import annotations

import polars as pl

from doudi.rules.programmes.base import Batch, Criterion, Programme
from doudi.rules.programmes.tekun import TABLE_WORDS, disability_qualifies

CARE_TABLE = "disability.care_subsidy.grades"
# living-subsidy groups → the member column that says the member belongs to it
GROUPS = {"dibao": "dibao.eligible", "edge": "edge.eligible",
          "single_person": "single_person.admitted", "tekun": "tekun.eligible"}
GROUP_WORDS = {"dibao": "低保对象", "edge": "低保边缘家庭成员", "single_person": "单人保对象",
               "tekun": "特困人员"}


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    in_group = pl.lit(False)
    for group, member_column in GROUPS.items():
        in_group = in_group | (
            b.flag("disability.living_subsidy.groups", group) & pl.col(member_column)
        )
    # a family programme covers the co-resident members only (not one registered but away)
    in_group = in_group & pl.col("co_resident")
    disabled = pl.col("disability_grade") >= 1
    m = m.with_columns(
        disabled.alias("disability.disabled"),
        in_group.alias("disability.in_group"),
        disability_qualifies(CARE_TABLE, b).alias("disability.care_eligible"),
    ).with_columns(
        (pl.col("disability.disabled") & pl.col("disability.in_group"))
        .alias("disability.living_eligible"),
    )
    return m.with_columns(
        pl.when(pl.col("disability.living_eligible")).then(b.param("disability.living_subsidy"))
        .otherwise(0).alias("disability.living_amount"),
        pl.when(pl.col("disability.care_eligible")).then(b.param("disability.care_subsidy"))
        .otherwise(0).alias("disability.care_amount"),
        (pl.col("disability.living_eligible") | pl.col("disability.care_eligible"))
        .alias("disability.eligible"),
    ).with_columns(
        (pl.col("disability.living_amount") + pl.col("disability.care_amount"))
        .alias("disability.total"),
    )


PARAMETERS = ("disability.living_subsidy", "disability.living_subsidy.groups",
              "disability.care_subsidy", CARE_TABLE)

PROGRAMME = Programme(
    name="disability", label="残疾人两项补贴", level="member", eligible="disability.eligible",
    amount="disability.total", relevant="disability.disabled",
    parameters=PARAMETERS,
    member_parameters=PARAMETERS,
    # the living subsidy reads a group's result only where the area lists that group
    depends=(),
    depends_if={g: ("disability.living_subsidy.groups", g) for g in GROUPS},
    member_results=member_results,
    choices={"disability.living_subsidy.groups": GROUP_WORDS, CARE_TABLE: TABLE_WORDS},
    criteria=(
        Criterion("disability.living_eligible", "困难残疾人生活补贴：持证残疾人且属于规定的困难家"
                                                "庭",
                  "残疾 {disability_type} {disability_grade:count} 级；低保 {dibao.eligible:bool}，"
                  "边缘 {edge.eligible:bool}；补贴 {disability.living_amount:yuan}/月",
                  ("disability.living_subsidy", "disability.living_subsidy.groups")),
        Criterion("disability.care_eligible", "重度残疾人护理补贴：残疾等级符合规定",
                  "残疾 {disability_type} {disability_grade:count} 级；补贴 "
                  "{disability.care_amount:yuan}/月",
                  ("disability.care_subsidy", CARE_TABLE)),
    ),
    outputs={
        "living_subsidy": ("disability.living_amount", "yuan"),
        "care_subsidy": ("disability.care_amount", "yuan"),
    },
)

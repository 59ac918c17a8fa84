"""残疾人两项补贴: the living subsidy (困难残疾人生活补贴) for disabled members of the groups in
`disability.living_subsidy.groups`, and the care subsidy (重度残疾人护理补贴) for grades up to the
`disability.care_subsidy.grades` table (grade 1–2 of any type; in 广东 also grade 3–4
intellectual/mental), with no means test. Flat amounts.

The groups are programmes' results (低保, 低保边缘, 单人保, 特困) or, where a place widened the
subsidy (扩面, e.g. 屯溪区's plan: 重残无业、一户多残、老残一体、依老养残), facts of the member and
the household computed here:

- 重残无业 `severe_unemployed`: grade 1–2, adult, not in work (`employed` false and no earned
  income);
- 一户多残 `multi_disabled`: two or more co-resident members of the household are disabled;
- 老残一体 `elderly_with_disabled`: a disabled adult living with a parent aged at least
  `disability.elderly_age` (parents read from the relations to the head, `doudi.rules.family`);
- 依老养残 `supported_by_elderly`: such a disabled adult, not in work, whom no other co-resident
  member of working age (adult, below the elderly age, able to work) supports — the elderly
  parents do.
"""

from __future__ import annotations

import polars as pl

from doudi.rules.family import ADULT_AGE, counted, parent_facts, parent_has
from doudi.rules.programmes.base import Batch, Criterion, Programme
from doudi.rules.programmes.tekun import TABLE_WORDS, disability_qualifies

CARE_TABLE = "disability.care_subsidy.grades"
# living-subsidy groups → the member column that says the member belongs to it
GROUPS = {"dibao": "dibao.eligible", "edge": "edge.eligible",
          "single_person": "single_person.admitted", "tekun": "tekun.eligible"}
# widened groups (扩面) → the member column computed here
WIDENED = {"severe_unemployed": "disability.severe_unemployed",
           "multi_disabled": "disability.multi_disabled",
           "elderly_with_disabled": "disability.elderly_with_disabled",
           "supported_by_elderly": "disability.supported_by_elderly"}
GROUP_WORDS = {"dibao": "低保对象", "edge": "低保边缘家庭成员", "single_person": "单人保对象",
               "tekun": "特困人员", "severe_unemployed": "重残无业人员",
               "multi_disabled": "一户多残家庭成员", "elderly_with_disabled": "老残一体家庭成员",
               "supported_by_elderly": "依老养残人员"}
ELDERLY_AGE = "disability.elderly_age"


# household facts (`doudi.rules.family`) the widened groups read
DISABLED_MEMBERS = "_disability.disabled_members"
WORKERS = "_disability.workers"
ELDERLY_PARENT = "_disability.elderly_parent"


def _elderly(b: Batch) -> pl.Expr:
    return pl.col("age") >= b.param(ELDERLY_AGE)


def _worker(b: Batch) -> pl.Expr:
    """A member of working age able to work: adult, below the elderly age."""
    age = pl.col("age")
    return (age >= ADULT_AGE) & ~_elderly(b) & pl.col("labor_capacity")


def household_facts(b: Batch) -> dict[str, pl.Expr]:
    return {
        DISABLED_MEMBERS: counted(pl.col("disability_grade") >= 1),
        WORKERS: counted(_worker(b)),
        **parent_facts(ELDERLY_PARENT, _elderly(b)),
    }


def widened_groups(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    """The facts behind the widened groups, for every member (whether or not the area lists
    them: an explanation and a what-if read them)."""
    age, grade = pl.col("age"), pl.col("disability_grade")
    adult_disabled = (grade >= 1) & (age >= ADULT_AGE)
    out_of_work = ~pl.col("employed") & (pl.col("earned_income") <= 0)
    worker = _worker(b)
    other_workers = pl.col(WORKERS) - (worker & pl.col("co_resident")).cast(pl.Int32)
    with_elderly_parent = adult_disabled & parent_has(ELDERLY_PARENT)
    return m.with_columns(
        ((grade >= 1) & (grade <= 2) & (age >= ADULT_AGE) & out_of_work)
        .alias("disability.severe_unemployed"),
        ((grade >= 1) & (pl.col(DISABLED_MEMBERS) >= 2)).alias("disability.multi_disabled"),
        with_elderly_parent.alias("disability.elderly_with_disabled"),
        (with_elderly_parent & out_of_work & (other_workers == 0))
        .alias("disability.supported_by_elderly"),
    )


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    m = widened_groups(m, b)
    in_group = b.any_listed("disability.living_subsidy.groups", {
        group: pl.col(member_column) for group, member_column in {**GROUPS, **WIDENED}.items()})
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
              "disability.care_subsidy", CARE_TABLE, ELDERLY_AGE)

PROGRAMME = Programme(
    name="disability", label="残疾人两项补贴", level="member", eligible="disability.eligible",
    amount="disability.total", relevant="disability.disabled",
    parameters=PARAMETERS,
    member_parameters=PARAMETERS,
    # the living subsidy reads a group's result only where the area lists that group
    depends=(),
    depends_if={g: ("disability.living_subsidy.groups", g) for g in GROUPS},
    household_facts=household_facts,
    member_results=member_results,
    choices={"disability.living_subsidy.groups": GROUP_WORDS, CARE_TABLE: TABLE_WORDS},
    criteria=(
        Criterion("disability.living_eligible", "困难残疾人生活补贴：持证残疾人且属于规定的困难家"
                                                "庭",
                  "残疾 {disability_type} {disability_grade:count} 级；低保 {dibao.eligible:bool}，"
                  "边缘 {edge.eligible:bool}；重残无业 {disability.severe_unemployed:bool}，"
                  "一户多残 {disability.multi_disabled:bool}，老残一体 "
                  "{disability.elderly_with_disabled:bool}，依老养残 "
                  "{disability.supported_by_elderly:bool}；补贴 {disability.living_amount:yuan}/月",
                  ("disability.living_subsidy", "disability.living_subsidy.groups",
                   ELDERLY_AGE)),
        Criterion("disability.care_eligible", "重度残疾人护理补贴：残疾等级符合规定",
                  "残疾 {disability_type} {disability_grade:count} 级；补贴 "
                  "{disability.care_amount:yuan}/月",
                  ("disability.care_subsidy", CARE_TABLE)),
    ),
    outputs={
        "living_subsidy": ("disability.living_amount", "yuan"),
        "care_subsidy": ("disability.care_amount", "yuan"),
        "severe_unemployed": ("disability.severe_unemployed", "bool"),
        "multi_disabled": ("disability.multi_disabled", "bool"),
        "elderly_with_disabled": ("disability.elderly_with_disabled", "bool"),
        "supported_by_elderly": ("disability.supported_by_elderly", "bool"),
    },
)

"""单人保: in a 低保边缘 family, members who are severely disabled (grade 1–2), intellectually or
mentally disabled at grade 3–4, or seriously ill are admitted to 低保 on their own and paid
`single_person.rate` × standard each."""

from __future__ import annotations

import polars as pl

from doudi.rules.money import share
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme, Step

GROUPS = {
    "severe_disability": "一二级重度残疾人",
    "intellectual_mental_3_4": "三四级智力、精神残疾人",
    "serious_illness": "重病患者",
}


def member_features(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    grade, kind = pl.col("disability_grade"), pl.col("disability_type")
    flags = {
        "severe_disability": grade.is_between(1, 2),
        "intellectual_mental_3_4": kind.is_in(["intellectual", "mental"]) & grade.is_between(3, 4),
        "serious_illness": pl.col("serious_illness"),
    }
    candidate = b.any_listed("single_person.groups", flags)
    return m.with_columns((pl.col("co_resident") & candidate).alias("single_person.candidate"))


def sums(b: Batch) -> dict[str, pl.Expr]:
    return {"single_person.candidates": pl.col("single_person.candidate")}


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    each = share(STANDARD, b.param("single_person.rate"), b.step, b.mode)
    h = h.with_columns(
        (pl.col("single_person.candidates") > 0).alias("single_person.has_candidates"),
        each.alias("single_person.each"),
    ).with_columns(
        (pl.col("edge.eligible") & pl.col("single_person.has_candidates"))
        .alias("single_person.eligible")
    )
    return h.with_columns(
        pl.when(pl.col("single_person.eligible"))
        .then(pl.col("single_person.candidates") * pl.col("single_person.each")).otherwise(0)
        .alias("single_person.amount")
    )


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    return m.with_columns(
        (pl.col("single_person.candidate") & pl.col("single_person.eligible"))
        .alias("single_person.admitted")
    )


PROGRAMME = Programme(
    name="single_person", label="单人保", level="household", eligible="single_person.eligible",
    amount="single_person.amount", relevant="single_person.has_candidates",
    depends=("dibao", "edge"),
    parameters=("single_person.rate", "single_person.groups"),
    member_parameters=("single_person.groups",),
    member_needs=("single_person.eligible",),
    member_features=member_features,
    sums=sums,
    household_results=household_results,
    member_results=member_results,
    choices={"single_person.groups": GROUPS},
    criteria=(
        Criterion("edge.eligible", "家庭为低保边缘家庭", "边缘家庭认定：{edge.eligible:bool}"),
        Criterion("single_person.has_candidates", "有重残、重病等可单独纳入的成员",
                  "符合条件的成员 {single_person.candidates:count} 人",
                  ("single_person.groups",)),
    ),
    steps=(
        Step("单人保金额", "{single_person.candidates:count} 人 × 标准 {standard:yuan} × "
             "{single_person.rate:pct} = {single_person.amount:yuan}",
             ("single_person.rate",), when="single_person.eligible"),
    ),
    outputs={
        "single_person.eligible": ("single_person.eligible", "bool"),
        "single_person.amount": ("single_person.amount", "yuan"),
        "single_person.members": ("single_person.admitted", "ids"),
    },
)

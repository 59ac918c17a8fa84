"""冬季取暖补贴 (winter heating subsidy): a made-up programme, declared as a newcomer would
declare a real one (docs/adding-a-programme.md), to show that the apps pick it up with no other
edit. A 低保 or 低保边缘 household with a co-resident member aged `heating.min_age` or over gets
`heating.amount` a month, and `heating.extra` more when two or more members are of that age
(a second column pair, so the programme can also be declared in two parts)."""

from __future__ import annotations

import polars as pl

from doudi.rules.programmes.base import Batch, Criterion, Programme


def member_features(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    return m.with_columns(
        (pl.col("co_resident") & (pl.col("age") >= b.param("heating.min_age")))
        .alias("heating.elder"))


def sums(b: Batch) -> dict[str, pl.Expr]:
    return {"heating.elders": pl.col("heating.elder")}


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    h = h.with_columns(
        (pl.col("dibao.eligible") | pl.col("edge.eligible")).alias("heating.means_ok"),
        (pl.col("heating.elders") > 0).alias("heating.has_elder"),
    ).with_columns(
        (pl.col("heating.means_ok") & pl.col("heating.has_elder")).alias("heating.eligible"))
    h = h.with_columns(
        (pl.col("heating.eligible") & (pl.col("heating.elders") >= 2))
        .alias("heating.extra_eligible"))
    return h.with_columns(
        pl.when(pl.col("heating.eligible")).then(b.param("heating.amount")).otherwise(0)
        .cast(pl.Int64).alias("heating.amount"),
        pl.when(pl.col("heating.extra_eligible")).then(b.param("heating.extra")).otherwise(0)
        .cast(pl.Int64).alias("heating.extra_amount"))


PROGRAMME = Programme(
    name="heating", label="冬季取暖补贴", level="household", eligible="heating.eligible",
    amount="heating.amount", parameters=("heating.amount", "heating.extra", "heating.min_age"),
    member_parameters=("heating.min_age",), member_features=member_features,
    sums=sums, household_results=household_results,
    criteria=(
        Criterion("heating.means_ok", "低保家庭或低保边缘家庭",
                  "低保：{dibao.eligible:bool}；低保边缘：{edge.eligible:bool}"),
        Criterion("heating.has_elder", "共同生活成员中有达到规定年龄的老年人",
                  "达到年龄的成员 {heating.elders:count} 人", ("heating.min_age",)),
        Criterion("heating.eligible", "按月发放取暖补贴", "月补贴 {heating.amount:yuan}",
                  ("heating.amount",)),
        Criterion("heating.extra_eligible", "两名以上老人加发",
                  "达到年龄的成员 {heating.elders:count} 人；加发 {heating.extra_amount:yuan}",
                  ("heating.extra",)),
    ),
    outputs={"heating.eligible": ("heating.eligible", "bool"),
             "heating.amount": ("heating.amount", "yuan"),
             "heating.extra_amount": ("heating.extra_amount", "yuan")},
)

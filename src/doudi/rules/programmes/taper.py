"""低保渐退: a household now paid 低保 whose income rose above the standard because of work keeps
a declining share of its current benefit for `taper.months` months (shares in `taper.shares`),
provided income without the earnings would still be below the standard, income stays within
`taper.income_multiple` × standard and the assets still pass. Above that, it exits directly."""

from __future__ import annotations

import polars as pl

from doudi.rules.money import divide_rounded
from doudi.rules.parameters import BASIS
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme, Step


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    n = pl.col("dibao.members")
    # income the family would have without any earnings: only then is the rise "from work"
    without_work = pl.col("dibao.gross_income") - pl.col("dibao.earned_total")
    h = h.with_columns(
        (pl.col("dibao_enrolled") & ~pl.col("dibao.eligible")).alias("taper.enrolled_above"),
        (without_work < pl.col("dibao.threshold")).alias("taper.from_work"),
        (pl.col("dibao.family_income") * BASIS <= b.param("taper.income_multiple") * STANDARD * n)
        .alias("taper.within_ceiling"),
    ).with_columns(
        (pl.col("taper.enrolled_above") & pl.col("taper.from_work") & pl.col("taper.within_ceiling")
         & pl.col("dibao.assets_ok") & (n > 0)).alias("taper.eligible"),
    )
    months = pl.min_horizontal(b.param("taper.months"), b.param("taper.shares").list.len())
    shares = b.param("taper.shares").list.head(months)
    current = pl.col("dibao_current_amount")
    return h.with_columns(
        pl.when(pl.col("taper.eligible")).then(months).otherwise(0).alias("taper.month_count"),
        pl.when(pl.col("taper.eligible")).then(shares).otherwise(pl.lit([], pl.List(pl.Int64)))
        .alias("taper.share_list"),
    ).with_columns(
        _amounts(current, b.step, b.mode).alias("taper.amounts"),
    )


def _amounts(current: pl.Expr, step: pl.Expr, mode: str | pl.Expr) -> pl.Expr:
    """current × share for each share in the list, rounded once to the step (half up, up or down
    as `dibao.rounding.mode` says)."""
    return divide_rounded(pl.col("taper.share_list") * current, step * BASIS, mode) * step


PROGRAMME = Programme(
    name="taper", label="低保渐退", level="household", eligible="taper.eligible", relevant="dibao_e"
                                                                                       "nrolled",
    depends=("dibao",),
    parameters=("taper.months", "taper.shares", "taper.income_multiple"),
    household_results=household_results,
    criteria=(
        Criterion("taper.enrolled_above", "在保家庭收入已超过低保标准",
                  "在保：{dibao_enrolled:bool}；当前月低保金 {dibao_current_amount:yuan}；"
                  "家庭月收入 {dibao.family_income:yuan}，低保标准合计 {dibao.threshold:yuan}"),
        Criterion("taper.from_work", "收入增加来自就业",
                  "其中工资性收入 {dibao.earned_total:yuan}"),
        Criterion("taper.within_ceiling", "家庭月人均收入不超过渐退上限",
                  "上限为低保标准的 {taper.income_multiple:mult}", ("taper.income_multiple",)),
        Criterion("dibao.assets_ok", "财产状况仍符合低保规定", "财产条件：{dibao.assets_ok:bool}"),
    ),
    steps=(
        Step("渐退期", "{taper.month_count:count} 个月，按原低保金的比例 {taper.share_list:pcts} "
                    "发放："
             "{taper.amounts:yuans}", ("taper.months", "taper.shares"), when="taper.eligible"),
    ),
    outputs={
        "taper.eligible": ("taper.eligible", "bool"),
        "taper.months": ("taper.month_count", "int"),
        "taper.amounts": ("taper.amounts", "yuan_list"),
    },
)

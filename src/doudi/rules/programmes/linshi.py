"""临时救助: for a request of a given type — 急难型 (emergency), 先行救助 (advance) or 支出型
(expenditure) — the cap is `linshi.cap_months.<type>` months of the standard per family member,
never above the need stated and never above what is left of the family's annual cap. The
expenditure type also needs per-capita income below the reference and the asset tests."""

from __future__ import annotations

import polars as pl

from doudi.rules.programmes.base import STANDARD, Batch, Criterion, OneOffRequest, Programme

TYPES = {"emergency": "急难型", "advance": "先行救助", "expenditure": "支出型"}
# what an application states: 急难型 or 支出型; 先行救助 is the town's reserve-fund advance on an
# urgent case (casework.reserve_fund), settled against the amount approved here
APPLIED_TYPES = {k: TYPES[k] for k in ("emergency", "expenditure")}


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    kind = pl.col("linshi_type")
    months = (
        pl.when(kind == "emergency").then(b.param("linshi.cap_months.emergency"))
        .when(kind == "advance").then(b.param("linshi.cap_months.advance"))
        .when(kind == "expenditure").then(b.param("linshi.cap_months.expenditure"))
        .otherwise(0)
    )
    n = pl.col("dibao.members")
    remaining = pl.max_horizontal(
        b.param("linshi.family_annual_cap") - pl.col("linshi_received_this_year"),
        pl.lit(0, pl.Int64),
    )
    h = h.with_columns(
        (kind.is_in(list(TYPES)) & (n > 0)).fill_null(False).alias("linshi.requested"),
        (months * STANDARD * n).alias("linshi.cap"),
        remaining.alias("linshi.annual_remaining"),
        ((kind != "expenditure") | (pl.col("hardship.income_ok") & pl.col("edge.assets_ok")))
        .fill_null(True).alias("linshi.means_ok"),
    ).with_columns(
        (pl.col("linshi.requested") & pl.col("linshi.means_ok") & (remaining > 0))
        .alias("linshi.eligible"),
    )
    return h.with_columns(
        pl.when(pl.col("linshi.eligible"))
        .then(pl.min_horizontal(pl.col("linshi_need"), pl.col("linshi.cap"), remaining))
        .otherwise(0).alias("linshi.amount")
    )


PROGRAMME = Programme(
    name="linshi", label="临时救助", level="household", eligible="linshi.eligible", amount="linshi."
                                                                                       "amount",
    relevant="linshi.requested",
    depends=("dibao", "edge", "hardship"),
    parameters=("linshi.cap_months.emergency", "linshi.cap_months.advance",
                "linshi.cap_months.expenditure", "linshi.family_annual_cap"),
    household_results=household_results,
    criteria=(
        Criterion("linshi.requested", "有临时救助申请事项", "类型：{linshi_type:linshi}"),
        Criterion("linshi.means_ok", "支出型需收入、财产符合规定",
                  "家庭年收入 {hardship.annual_income:yuan}，上限 {hardship.income_limit:yuan}",
                  ("hardship.income_reference",)),
        Criterion("linshi.eligible", "本年度救助额度尚有余额",
                  "本年已救助 {linshi_received_this_year:yuan}，年度上限 "
                  "{linshi.family_annual_cap:yuan}"
                  "，余额 {linshi.annual_remaining:yuan}；本次上限 {linshi.cap:yuan}"
                  "，申请 {linshi_need:yuan}，核定 {linshi.amount:yuan}",
                  ("linshi.cap_months.emergency", "linshi.cap_months.advance",
                   "linshi.cap_months.expenditure", "linshi.family_annual_cap")),
    ),
    request=OneOffRequest(kind="linshi_type", need="linshi_need",
                          received="linshi_received_this_year", kinds=APPLIED_TYPES,
                          urgent="emergency"),
    outputs={
        "linshi.eligible": ("linshi.eligible", "bool"),
        "linshi.cap": ("linshi.cap", "yuan"),
        "linshi.amount": ("linshi.amount", "yuan"),
    },
)

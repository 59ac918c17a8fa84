"""支出型困难家庭: rigid expenditure (medical, education, rehabilitation, disaster, accident)
≥ `hardship.expenditure_ratio` of annual family income, per-capita annual income below the
reference (上年居民人均可支配收入), the 边缘 asset tests, and not eligible for 低保."""

from __future__ import annotations

import polars as pl

from doudi.rules.programmes.base import Batch, Criterion, Programme


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    n = pl.col("dibao.members")
    annual = pl.coalesce(pl.col("annual_income"), pl.col("dibao.gross_income") * 12)
    h = h.with_columns(
        annual.alias("hardship.annual_income"),
        (pl.col("annual_rigid_expenditure") > 0).alias("hardship.has_expenditure"),
        (b.param("hardship.income_reference") * n).alias("hardship.income_limit"),
    ).with_columns(
        ((n > 0) & (pl.col("hardship.annual_income") < pl.col("hardship.income_limit")))
        .alias("hardship.income_ok"),
        ((pl.col("annual_rigid_expenditure") > 0)
         & (pl.col("annual_rigid_expenditure") * 10_000
            >= b.param("hardship.expenditure_ratio") * pl.col("hardship.annual_income")))
        .alias("hardship.expenditure_ok"),
    )
    return h.with_columns(
        (pl.col("hardship.income_ok") & pl.col("hardship.expenditure_ok")
         & pl.col("edge.assets_ok") & ~pl.col("dibao.eligible")).alias("hardship.eligible")
    )


PROGRAMME = Programme(
    name="hardship", label="支出型困难家庭", level="household", eligible="hardship.eligible",
    relevant="hardship.has_expenditure",
    depends=("dibao", "edge"),
    parameters=("hardship.expenditure_ratio", "hardship.income_reference"),
    household_results=household_results,
    criteria=(
        Criterion("edge.not_dibao", "不符合低保条件", "低保认定结果：{dibao.eligible:bool}"),
        Criterion("hardship.income_ok", "家庭人均年收入低于上年当地居民人均可支配收入",
                  "家庭年收入 {hardship.annual_income:yuan}，上限 {hardship.income_limit:yuan}"
                  "（{hardship.income_reference:yuan}/人 × {dibao.members:count} 人）",
                  ("hardship.income_reference",)),
        Criterion("hardship.expenditure_ok", "刚性支出占家庭年收入比例达到规定",
                  "年刚性支出 {annual_rigid_expenditure:yuan}，家庭年收入 "
                  "{hardship.annual_income:yuan}，"
                  "比例要求 {hardship.expenditure_ratio:pct}",
                  ("hardship.expenditure_ratio",)),
        Criterion("edge.assets_ok", "财产状况符合规定", "同低保边缘家庭财产条件",
                  ("edge.asset_basis",)),
    ),
    outputs={
        "hardship.eligible": ("hardship.eligible", "bool"),
        "hardship.annual_income": ("hardship.annual_income", "yuan"),
    },
)

"""低保边缘家庭: not eligible for 低保, family income ≤ `edge.multiple` × standard per person, and
the asset tests against the standard `edge.asset_basis` names (广东: the urban standard)."""

from __future__ import annotations

import polars as pl

from doudi.rules.parameters import BASIS
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme
from doudi.rules.programmes.dibao import all_assets_ok, asset_tests


def _edge_standard(b: Batch) -> pl.Expr:
    """The standard the asset limit counts in: the urban one where `edge.asset_basis` says so."""
    basis = b.constants.get("edge.asset_basis")
    if basis is not None:
        return b.param("dibao.standard.urban") if basis[0] == "urban" else STANDARD
    return pl.when(pl.col("edge.asset_basis") == "urban").then(
        b.param("dibao.standard.urban")).otherwise(STANDARD)


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    n = pl.col("dibao.members")
    h = h.with_columns(
        (b.param("edge.multiple") * STANDARD * n).alias("edge.threshold_bp"),
        ((b.param("edge.multiple") * STANDARD * n) // BASIS).alias("edge.threshold"),
        *asset_tests("edge", _edge_standard(b), b),
    ).with_columns(
        ((n > 0) & (pl.col("dibao.family_income") * BASIS <= pl.col("edge.threshold_bp")))
        .alias("edge.income_ok"),
        all_assets_ok("edge"),
        (~pl.col("dibao.eligible")).alias("edge.not_dibao"),
    )
    return h.with_columns(
        (pl.col("edge.income_ok") & pl.col("edge.assets_ok") & pl.col("edge.not_dibao"))
        .alias("edge.eligible")
    )


PROGRAMME = Programme(
    name="edge", label="低保边缘家庭", level="household", eligible="edge.eligible",
    parameters=("edge.multiple", "edge.asset_basis"),
    member_needs=("edge.eligible",),
    household_results=household_results,
    criteria=(
        Criterion("edge.not_dibao", "不符合低保条件", "低保认定结果：{dibao.eligible:bool}"),
        Criterion("edge.income_ok", "家庭月人均收入不超过低保标准的规定倍数",
                  "家庭月收入 {dibao.family_income:yuan}，上限 {edge.threshold:yuan}"
                  "（标准 {standard:yuan} × {edge.multiple:mult} × {dibao.members:count} 人）",
                  ("edge.multiple", "dibao.standard.{hukou}")),
        Criterion("edge.assets_ok", "财产状况符合规定",
                  "金融资产 {financial_assets:yuan}，限额 {edge.asset_limit:yuan}；住房 "
                  "{houses:count} 套；"
                  "机动车 {vehicles:count} 辆；非居住类房屋 {non_residential_property:count} 处；"
                  "商事登记 {business:bool}",
                  ("edge.asset_basis", "dibao.asset_limit_months", "dibao.asset.max_houses",
                   "dibao.asset.max_vehicles")),
    ),
    outputs={"edge.eligible": ("edge.eligible", "bool")},
)

"""低保边缘家庭: not eligible for 低保, family income ≤ `edge.multiple` × standard per person, and
the asset tests against the standard `edge.asset_basis` names (广东: the urban standard).

Where `edge.addon.rate` is set (广州's 分类救济金 for 低保边缘 families), each co-resident member
of the 分类施保 groups (`dibao.addon.groups`) of an edge family gets standard × rate, rounded once
per member; the household's `edge.addon` is their sum. Where it is not set, there is none."""

from __future__ import annotations

import polars as pl

from doudi.rules.money import share
from doudi.rules.parameters import BASIS
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme, Step
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
    rate = b.optional("edge.addon.rate", pl.lit(0, pl.Int64))
    h = h.with_columns(
        (pl.col("edge.income_ok") & pl.col("edge.assets_ok") & pl.col("edge.not_dibao"))
        .alias("edge.eligible"),
        rate.alias("edge.addon_rate"),
        share(STANDARD, rate, b.step, b.mode).alias("edge.addon_each"),
    )
    return h.with_columns(
        pl.when(pl.col("edge.eligible"))
        .then(pl.col("dibao.addon_members") * pl.col("edge.addon_each")).otherwise(0)
        .alias("edge.addon"),
    ).with_columns((pl.col("edge.addon") > 0).alias("edge.addon_paid"))


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    return m.with_columns(
        pl.when(pl.col("edge.eligible") & pl.col("dibao.addon_member"))
        .then(pl.col("edge.addon_each")).otherwise(0).alias("edge.member_addon")
    )


PROGRAMME = Programme(
    name="edge", label="低保边缘家庭", level="household", eligible="edge.eligible",
    parameters=("edge.multiple", "edge.asset_basis"),
    optional_parameters=("edge.addon.rate",),
    depends=("dibao",),
    member_needs=("edge.eligible", "edge.addon_each"),
    household_results=household_results,
    member_results=member_results,
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
    steps=(
        Step("分类救济金", "{dibao.addon_members:count} 人 × 标准 {standard:yuan} × "
             "{edge.addon_rate:pct}（每人 {edge.addon_each:yuan}）= {edge.addon:yuan}",
             ("edge.addon.rate", "dibao.addon.groups"), when="edge.addon_paid"),
    ),
    outputs={
        "edge.eligible": ("edge.eligible", "bool"),
        "edge.addon": ("edge.addon", "yuan"),
        # per member: edge.<member>.addon
        "addon": ("edge.member_addon", "member_yuan"),
    },
)

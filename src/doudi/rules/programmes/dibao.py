"""最低生活保障 (低保): per-capita income of the co-resident family after the employment-cost
deduction (就业成本扣减) against the local standard, four asset tests, and the 差额 amount with
分类施保 add-ons.

Exact integer forms (fen): with S the standard, n the counted members, c the covered members and
I the family's counted income, income passes when I < S × n; the base is (S × n − I) × c / n,
rounded once to `dibao.rounding`; the add-on is (add-on members × rate × S), rounded once. A member
who refuses suitable work is counted with at least the imputed income and is not covered.
"""

from __future__ import annotations

import polars as pl

from doudi.rules.money import exact_share_floor, round_fraction
from doudi.rules.parameters import BASIS
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme, Step

ADDON_GROUPS = {
    "student": "在校学生", "minor": "未成年人", "elderly": "老年人",
    "elderly_childless": "无子女老年人", "severe_disability": "重度残疾人（一二级）",
    "disability": "残疾人", "serious_illness": "重病患者",
}


def _group_flags(b: Batch) -> dict[str, pl.Expr]:
    grade = pl.col("disability_grade")
    age = b.param("dibao.addon.elderly_age")
    # a woman is 老年 from the female age where the area sets one (广州 55); a member whose sex
    # is not known is held to the general age
    female_age = b.optional("dibao.addon.elderly_age.female", age)
    elderly = pl.when(pl.col("sex") == "female").then(pl.col("age") >= female_age) \
        .otherwise(pl.col("age") >= age)
    return {
        "student": pl.col("student"),
        "minor": pl.col("age") < 18,
        "elderly": elderly,
        "elderly_childless": elderly & pl.col("childless"),
        "severe_disability": grade.is_between(1, 2),
        "disability": grade >= 1,
        "serious_illness": pl.col("serious_illness"),
    }


def member_features(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    counted = pl.col("co_resident")
    refused = counted & pl.col("refused_work") & ~pl.col("student")
    rate_part = exact_share_floor(STANDARD, b.param("dibao.employment_deduction.rate"))
    cap = b.param("dibao.employment_deduction.cap")
    allowance = pl.when(cap > 0).then(pl.min_horizontal(rate_part, cap)).otherwise(rate_part)
    # the allowance, or the earnings where they are lower and the area does not allow more
    # (written with the allowance once: a null bound leaves it as it is)
    bound = pl.when(b.param("dibao.employment_deduction.allow_negative")).then(None) \
        .otherwise(pl.col("earned_income"))
    deduction = pl.when(pl.col("earned_income") <= 0).then(0) \
        .otherwise(pl.min_horizontal(allowance, bound))
    base_income = pl.when(refused).then(
        pl.max_horizontal(pl.col("income"), b.param("dibao.refused_work.imputed_income"))
    ).otherwise(pl.col("income"))
    in_group = b.any_listed("dibao.addon.groups", _group_flags(b))
    # the deduction once, then read back: both are 0 for a member not counted
    m = m.with_columns(pl.when(counted).then(deduction).otherwise(0).alias("dibao.deduction"))
    return m.with_columns(
        (pl.when(counted).then(base_income).otherwise(0) - pl.col("dibao.deduction"))
        .alias("dibao.counted_income"),
        (counted & ~refused).alias("dibao.covered_member"),
        (counted & ~refused & in_group).alias("dibao.addon_member"),
        refused.alias("dibao.refused_member"),
    )


def sums(b: Batch) -> dict[str, pl.Expr]:
    counted = pl.col("co_resident")
    return {
        "dibao.members": counted,
        "dibao.covered": pl.col("dibao.covered_member"),
        "dibao.raw_income": pl.col("dibao.counted_income"),
        "dibao.deduction_total": pl.col("dibao.deduction"),
        "dibao.gross_income": pl.when(counted).then(pl.col("income")).otherwise(0),
        "dibao.earned_total": pl.when(counted).then(pl.col("earned_income")).otherwise(0),
        "dibao.addon_members": pl.col("dibao.addon_member"),
        "dibao.refused": pl.col("dibao.refused_member"),
    }


def asset_tests(prefix: str, standard: pl.Expr, b: Batch) -> list[pl.Expr]:
    """The four asset tests (财产状况) against a standard; reused by 边缘 and 支出型."""
    n = pl.col("dibao.members")
    limit = b.param("dibao.asset_limit_months") * standard * n
    return [
        limit.alias(f"{prefix}.asset_limit"),
        (pl.col("financial_assets") <= limit).alias(f"{prefix}.financial_ok"),
        (pl.col("houses") <= b.param("dibao.asset.max_houses")).alias(f"{prefix}.houses_ok"),
        (pl.col("vehicles") <= b.param("dibao.asset.max_vehicles")).alias(f"{prefix}.vehicles_ok"),
        (pl.col("non_residential_property") <= b.param("dibao.asset.max_non_residential"))
        .alias(f"{prefix}.non_residential_ok"),
        (~pl.col("business") | b.param("dibao.asset.business_allowed"))
        .alias(f"{prefix}.business_ok"),
    ]


def all_assets_ok(prefix: str) -> pl.Expr:
    return pl.all_horizontal(
        pl.col(f"{prefix}.{t}_ok")
        for t in ("financial", "houses", "vehicles", "non_residential", "business")
    ).alias(f"{prefix}.assets_ok")


def household_results(h: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    n, c = pl.col("dibao.members"), pl.col("dibao.covered")
    income = pl.max_horizontal(pl.col("dibao.raw_income"), pl.lit(0, pl.Int64))
    h = h.with_columns(
        income.alias("dibao.family_income"),
        (STANDARD * n).alias("dibao.threshold"),
        pl.when(n > 0).then((2 * income + n) // (2 * n)).otherwise(None)
        .alias("dibao.per_capita_income"),
        *asset_tests("dibao", STANDARD, b),
    ).with_columns(
        ((n > 0) & (pl.col("dibao.family_income") < pl.col("dibao.threshold")))
        .alias("dibao.income_ok"),
        all_assets_ok("dibao"),
        (c > 0).alias("dibao.covered_ok"),
    )
    eligible = pl.col("dibao.income_ok") & pl.col("dibao.assets_ok") & pl.col("dibao.covered_ok")
    gap = (pl.col("dibao.threshold") - pl.col("dibao.family_income")) * c
    base = round_fraction(gap, pl.max_horizontal(n, pl.lit(1, pl.Int64)), b.step, b.mode)
    floor = b.param("dibao.min_amount") * c
    addon = round_fraction(
        pl.col("dibao.addon_members") * b.param("dibao.addon.rate") * STANDARD, BASIS,
        b.step, b.mode,
    )
    return h.with_columns(eligible.alias("dibao.eligible")).with_columns(
        pl.when(pl.col("dibao.eligible")).then(base).otherwise(0).alias("dibao.gap_amount"),
    ).with_columns(
        pl.when(pl.col("dibao.eligible"))
        .then(pl.max_horizontal(pl.col("dibao.gap_amount"), floor)).otherwise(0)
        .alias("dibao.base"),
        pl.when(pl.col("dibao.eligible")).then(addon).otherwise(0).alias("dibao.addon"),
    ).with_columns(
        (pl.col("dibao.base") + pl.col("dibao.addon")).alias("dibao.amount"),
        (pl.col("dibao.eligible") & (pl.col("dibao.gap_amount") < floor))
        .alias("dibao.min_applied"),
    )


CRITERIA = (
    Criterion(
        "dibao.income_ok", "家庭月人均收入低于低保标准",
        "共同生活家庭成员 {dibao.members:count} 人，扣减就业成本 {dibao.deduction_total:yuan} 后"
        "家庭月收入 {dibao.family_income:yuan}，人均 {dibao.per_capita_income:yuan}；"
        "低保标准 {standard:yuan}/人·月（合计 {dibao.threshold:yuan}）",
        ("dibao.standard.{hukou}", "dibao.employment_deduction.rate",
         "dibao.employment_deduction.cap", "dibao.refused_work.imputed_income"),
    ),
    Criterion(
        "dibao.financial_ok", "人均金融资产不超过限额",
        "金融资产 {financial_assets:yuan}，限额 {dibao.asset_limit:yuan}"
        "（{dibao.asset_limit_months:count} 个月标准 × {dibao.members:count} 人）",
        ("dibao.asset_limit_months",),
    ),
    Criterion("dibao.houses_ok", "住房不超过限额",
              "住房 {houses:count} 套，限 {dibao.asset.max_houses:count} 套",
              ("dibao.asset.max_houses",)),
    Criterion("dibao.vehicles_ok", "机动车不超过限额",
              "机动车 {vehicles:count} 辆，限 {dibao.asset.max_vehicles:count} 辆",
              ("dibao.asset.max_vehicles",)),
    Criterion("dibao.non_residential_ok", "非居住类房屋不超过限额",
              "非居住类房屋 {non_residential_property:count} 处，"
              "限 {dibao.asset.max_non_residential:count} 处",
              ("dibao.asset.max_non_residential",)),
    Criterion("dibao.business_ok", "无商事登记（或地方允许）",
              "商事登记：{business:bool}", ("dibao.asset.business_allowed",)),
    Criterion("dibao.covered_ok", "有可纳入保障的成员",
              "保障人数 {dibao.covered:count} 人（无正当理由拒绝就业 {dibao.refused:count} 人不纳"
              "入）",
              ()),
)
STEPS = (
    Step("差额低保金",
         "(标准 {standard:yuan} × {dibao.members:count} 人 − 家庭月收入 {dibao.family_income:yuan})"
         " × 保障人数 {dibao.covered:count} ÷ {dibao.members:count} = {dibao.gap_amount:yuan}"
         "（按 {dibao.rounding:yuan} 取整）",
         ("dibao.rounding", "dibao.rounding.mode"), when="dibao.eligible"),
    Step("最低发放额", "差额低于每人 {dibao.min_amount:yuan} 的最低发放额，按 {dibao.base:yuan} "
                  "发放",
         ("dibao.min_amount",), when="dibao.min_applied"),
    Step("分类施保", "{dibao.addon_members:count} 人 × 标准 × {dibao.addon.rate:pct} = "
         "{dibao.addon:yuan}", ("dibao.addon.rate", "dibao.addon.groups"), when="dibao.eligible"),
    Step("月低保金合计", "{dibao.amount:yuan}", (), when="dibao.eligible"),
)

PROGRAMME = Programme(
    name="dibao", label="最低生活保障", level="household", eligible="dibao.eligible",
    amount="dibao.amount",
    parameters=(
        "dibao.standard.urban", "dibao.standard.rural", "dibao.asset_limit_months",
        "dibao.asset.max_houses", "dibao.asset.max_vehicles", "dibao.asset.max_non_residential",
        "dibao.asset.business_allowed", "dibao.employment_deduction.rate",
        "dibao.employment_deduction.cap", "dibao.employment_deduction.allow_negative",
        "dibao.refused_work.imputed_income", "dibao.addon.rate", "dibao.addon.groups",
        "dibao.addon.elderly_age", "dibao.min_amount", "dibao.rounding", "dibao.rounding.mode",
    ),
    optional_parameters=("dibao.addon.elderly_age.female",),
    depends=(),
    member_parameters=(
        "dibao.employment_deduction.rate", "dibao.employment_deduction.cap",
        "dibao.employment_deduction.allow_negative", "dibao.refused_work.imputed_income",
        "dibao.addon.groups", "dibao.addon.elderly_age", "dibao.addon.elderly_age.female",
    ),
    member_needs=("dibao.eligible", "dibao.assets_ok"),
    member_features=member_features,
    sums=sums,
    household_results=household_results,
    criteria=CRITERIA,
    steps=STEPS,
    choices={"dibao.addon.groups": ADDON_GROUPS},
    outputs={
        "dibao.eligible": ("dibao.eligible", "bool"),
        "dibao.per_capita_income": ("dibao.per_capita_income", "yuan"),
        "dibao.family_income": ("dibao.family_income", "yuan"),
        "dibao.members": ("dibao.members", "int"),
        "dibao.covered": ("dibao.covered", "int"),
        "dibao.assets_ok": ("dibao.assets_ok", "bool"),
        "dibao.base": ("dibao.base", "yuan"),
        "dibao.addon": ("dibao.addon", "yuan"),
        "dibao.amount": ("dibao.amount", "yuan"),
    },
)

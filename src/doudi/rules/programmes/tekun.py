"""特困人员 (三无): no capacity to work (age ≥ 60, under 18 unless 16+ and living on own earnings,
a listed disability, or assessed unable), no source of income (own monthly income below the 低保
standard and the family's assets within the rules), no supporter able to support. A child who is
an orphan or de facto unsupported is protected under child welfare instead.

Amount: basic living = the published `tekun.basic.<hukou>` where the area sets one, else
`tekun.multiple` × 低保 standard (not below `tekun.basic_floor`), plus care
by self-care level from the six daily-living items (0 全自理, 1–3 半失能, 4–6 全失能):
`tekun.care.base` × the level's rate — the 集中供养 rate (`tekun.care.rate.institutional.*`) for
a person in an institution where the area sets one. Each part is rounded once, to
`tekun.rounding` / `.mode` where the area sets them (安徽、梅州 round up to the yuan), else as
低保 is.
"""

from __future__ import annotations

import polars as pl

from doudi.rules.money import share
from doudi.rules.programmes.base import STANDARD, Batch, Criterion, Programme, Step

CARE_LEVELS = {"independent": "全自理", "partial": "半失能", "full": "全失能"}
DISABILITY_TABLE = "tekun.no_capacity.disability"
TABLE_TYPES = ("intellectual", "mental", "physical", "visual", "hearing", "speech", "multiple")
DISABILITY_TYPES = {
    "physical": "肢体", "intellectual": "智力", "mental": "精神", "visual": "视力",
    "hearing": "听力", "speech": "言语", "multiple": "多重", "none": "无", None: "无",
}
#: the entries of a disability table (the highest grade that counts, by type)
TABLE_WORDS = {"any": "各类残疾", **{t: f"{DISABILITY_TYPES[t]}残疾" for t in TABLE_TYPES}}


def disability_qualifies(table: str, b: Batch) -> pl.Expr:
    """grade ≥ 1 and grade ≤ the table's entry for the person's type (or its `any` entry)."""
    grade, kind = pl.col("disability_grade"), pl.col("disability_type")
    result = pl.lit(False)
    if b.has(f"{table}.any"):
        result = result | ((grade >= 1) & (grade <= b.param(f"{table}.any")))
    for t in TABLE_TYPES:
        if b.has(f"{table}.{t}"):
            result = result | ((kind == t) & (grade >= 1) & (grade <= b.param(f"{table}.{t}")))
    return result


def care_rate(level: str, b: Batch) -> pl.Expr:
    """The care rate of a level: 集中供养's own where the area sets one, else 分散供养's."""
    dispersed = b.param(f"tekun.care.rate.{level}")
    institutional = f"tekun.care.rate.institutional.{level}"
    if not b.has(institutional):
        return dispersed
    return pl.when(pl.col("institutional")).then(b.optional(institutional, dispersed)) \
        .otherwise(dispersed)


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    age = pl.col("age")
    minor = (age < b.param("tekun.minor_age")) & ~(
        (age >= b.param("tekun.working_minor_age")) & (pl.col("earned_income") > 0)
    )
    no_capacity = (
        (age >= b.param("tekun.elderly_age")) | minor
        | disability_qualifies(DISABILITY_TABLE, b) | ~pl.col("labor_capacity")
    )
    adl = pl.col("adl_failed")
    level = pl.when(adl >= 4).then(pl.lit("full")).when(adl >= 1).then(pl.lit("partial")) \
        .otherwise(pl.lit("independent"))
    rate = pl.when(adl >= 4).then(care_rate("full", b)) \
        .when(adl >= 1).then(care_rate("partial", b)) \
        .otherwise(care_rate("independent", b))
    step = b.optional("tekun.rounding", b.step)
    mode = b.optional_mode("tekun.rounding.mode", b.mode)
    by_multiple = pl.max_horizontal(share(STANDARD, b.param("tekun.multiple"), step, mode),
                                    b.param("tekun.basic_floor"))
    none = pl.lit(None, pl.Int64)
    published = pl.when(pl.col("hukou") == "urban") \
        .then(b.optional("tekun.basic.urban", none)) \
        .otherwise(b.optional("tekun.basic.rural", none))
    m = m.with_columns(
        no_capacity.alias("tekun.no_capacity"),
        ((pl.col("income") < STANDARD) & pl.col("dibao.assets_ok")).alias("tekun.no_income"),
        (~pl.col("has_supporter")).alias("tekun.no_supporter"),
        (~(pl.col("orphan") | pl.col("de_facto_unsupported"))
         | (age >= b.param("child.max_age"))).alias("tekun.not_child_welfare"),
        level.alias("tekun.care_level"),
        published.is_not_null().alias("tekun.basic_published"),
        pl.coalesce(published, by_multiple).alias("tekun.basic_standard"),
        share(b.param("tekun.care.base"), rate, step, mode)
        .alias("tekun.care_standard"),
    ).with_columns(
        pl.all_horizontal("tekun.no_capacity", "tekun.no_income", "tekun.no_supporter",
                          "tekun.not_child_welfare").alias("tekun.eligible"),
    )
    eligible = pl.col("tekun.eligible")
    m = m.with_columns(
        pl.when(eligible).then(pl.col("tekun.basic_standard")).otherwise(0).alias("tekun.basic"),
        pl.when(eligible).then(pl.col("tekun.care_standard")).otherwise(0).alias("tekun.care"),
        (eligible & ~pl.col("tekun.basic_published")).alias("tekun.by_multiple"),
        (eligible & pl.col("tekun.basic_published")).alias("tekun.by_published"),
    )
    return m.with_columns((pl.col("tekun.basic") + pl.col("tekun.care")).alias("tekun.amount"))


PARAMETERS = (
    "tekun.multiple", "tekun.basic_floor", "tekun.elderly_age", "tekun.minor_age",
    "tekun.working_minor_age", DISABILITY_TABLE, "tekun.care.base",
    "tekun.care.rate.independent", "tekun.care.rate.partial", "tekun.care.rate.full",
    "child.max_age",
)
OPTIONAL = ("tekun.basic.urban", "tekun.basic.rural",
            *(f"tekun.care.rate.institutional.{level}" for level in CARE_LEVELS),
            "tekun.rounding", "tekun.rounding.mode")

PROGRAMME = Programme(
    name="tekun", label="特困人员救助供养", level="member", eligible="tekun.eligible", amount="te"
                                                                                      "kun.am"
                                                                                      "ount",
    relevant="tekun.no_capacity",
    parameters=PARAMETERS,
    optional_parameters=OPTIONAL,
    depends=("dibao",),
    member_parameters=(*PARAMETERS, *OPTIONAL, "dibao.rounding", "dibao.rounding.mode"),
    member_results=member_results,
    choices={DISABILITY_TABLE: TABLE_WORDS},
    criteria=(
        Criterion("tekun.no_capacity", "无劳动能力",
                  "年龄 {age:count} 岁；残疾 {disability_type} {disability_grade:count} 级；"
                  "劳动能力评估：{labor_capacity:bool}",
                  ("tekun.elderly_age", "tekun.minor_age", "tekun.working_minor_age",
                   DISABILITY_TABLE)),
        Criterion("tekun.no_income", "无生活来源",
                  "本人月收入 {income:yuan}，低于低保标准 {standard:yuan}；家庭财产 "
                  "{dibao.assets_ok:bool}",
                  ("dibao.standard.{hukou}",)),
        Criterion("tekun.no_supporter", "无法定赡养、抚养、扶养义务人或其无履行能力",
                  "有履行能力的义务人：{has_supporter:bool}"),
        Criterion("tekun.not_child_welfare", "不属于孤儿、事实无人抚养儿童（优先按儿童福利保障）",
                  "孤儿：{orphan:bool}；事实无人抚养：{de_facto_unsupported:bool}",
                  ("child.max_age",)),
    ),
    steps=(
        Step("基本生活标准", "低保标准 {standard:yuan} × {tekun.multiple:mult} = "
                       "{tekun.basic:yuan}",
             ("tekun.multiple", "tekun.basic_floor"), when="tekun.by_multiple"),
        Step("基本生活标准", "按公布的特困人员基本生活标准 {tekun.basic:yuan}",
             ("tekun.basic.{hukou}",), when="tekun.by_published"),
        Step("照料护理标准", "生活自理能力 {adl_failed:count} 项不能自理（{tekun.care_level:care}"
                       "）："
             "{tekun.care.base:yuan} × 比例 = {tekun.care:yuan}",
             ("tekun.care.base", "tekun.care.rate.independent", "tekun.care.rate.partial",
              "tekun.care.rate.full"), when="tekun.eligible"),
        Step("月供养金额", "{tekun.amount:yuan}", (), when="tekun.eligible"),
    ),
    outputs={
        "eligible": ("tekun.eligible", "bool"),
        "care_level": ("tekun.care_level", "text"),
        "basic": ("tekun.basic", "yuan"),
        "care": ("tekun.care", "yuan"),
        "amount": ("tekun.amount", "yuan"),
    },
)

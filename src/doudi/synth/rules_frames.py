"""A synthetic population as the rules engine reads it (规则测算输入), without a database.

The mapping is the one `registry.rules_input.build_frames` applies to the same people once they
are loaded (the synthetic loader writes the same facts), so the eligibility computed here is the
eligibility the registry gives: tests compare the two. Supporter facts: the orphans, the de
facto unsupported children and the old without children (无子女) have no legal supporter able to
support them; everyone else has one. The registry holds no separate 无子女 fact, so `childless`
(used by 分类施保) is false here as it is there.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, STUDENT_LEVELS
from doudi.synth.population import Population

HOUSEHOLD_FRAME_SCHEMA = {**HOUSEHOLD_SCHEMA, "household_id": pl.Int64()}
MEMBER_FRAME_SCHEMA = {**MEMBER_SCHEMA, "household_id": pl.Int64()}
INCOME_COLUMNS = ("income_wage", "income_business", "income_pension", "income_transfer",
                  "income_property")
EARNED_COLUMNS = ("income_wage", "income_business")


def age_expr(birth: pl.Expr, day: dt.date) -> pl.Expr:
    """Whole years on `day`; someone born on 29 February turns a year older on 1 March."""
    # month() and day() are Int8: widen before the arithmetic or month * 100 wraps.
    month_day = birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32)
    before = month_day > (day.month * 100 + day.day)
    years = pl.lit(day.year) - birth.dt.year().cast(pl.Int32)
    return (years - before.cast(pl.Int32)).cast(pl.Int32)


def household_frame(households: pl.DataFrame) -> pl.DataFrame:
    return households.select(
        pl.col("household_id").cast(pl.Int64),
        "area_code", "hukou",
        pl.col("financial_assets").cast(pl.Int64),
        pl.col("vehicles").cast(pl.Int32),
        pl.col("houses").cast(pl.Int32),
        pl.col("non_residential_property").cast(pl.Int32),
        "business",
        pl.lit(None, pl.Int64).alias("annual_income"),
        ((pl.col("monthly_medical_expense") + pl.col("monthly_education_expense")) * 12)
        .cast(pl.Int64).alias("annual_rigid_expenditure"),
        pl.lit(False).alias("dibao_enrolled"),
        pl.lit(0, pl.Int64).alias("dibao_current_amount"),
        pl.lit(None, pl.String).alias("linshi_type"),
        pl.lit(0, pl.Int64).alias("linshi_need"),
        pl.lit(0, pl.Int64).alias("linshi_received_this_year"),
    ).cast(HOUSEHOLD_FRAME_SCHEMA)  # type: ignore[arg-type]


def member_frame(persons: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return persons.select(
        pl.col("household_id").cast(pl.Int64),
        pl.col("person_id").cast(pl.String).alias("member_id"),
        age_expr(pl.col("birth_date"), day).alias("age"),
        pl.col("sex").replace_strict({"M": "male", "F": "female"}, default=None,
                                     return_dtype=pl.String).alias("sex"),
        pl.sum_horizontal(INCOME_COLUMNS).alias("income"),
        pl.sum_horizontal(EARNED_COLUMNS).alias("earned_income"),
        pl.col("disability_grade").cast(pl.Int8),
        pl.when(pl.col("disability_grade") > 0).then(pl.col("disability_category"))
        .otherwise(pl.lit("none")).alias("disability_type"),
        "serious_illness",
        pl.col("student_status").is_in(sorted(STUDENT_LEVELS)).alias("student"),
        (pl.col("labour_capacity") != "none").alias("labor_capacity"),
        pl.col("adl_failed").cast(pl.Int8),
        ~(pl.col("childless") | pl.col("orphan") | pl.col("de_facto_unsupported"))
        .alias("has_supporter"),
        "orphan", "de_facto_unsupported", "co_resident",
        pl.lit(False).alias("refused_work"),
        pl.lit(False).alias("childless"),
        pl.lit(False).alias("institutional"),
        pl.col("relation").cast(pl.String),
        pl.lit(False).alias("employed"),
    ).cast(MEMBER_FRAME_SCHEMA)  # type: ignore[arg-type]


def engine_frames(population: Population, day: dt.date | None = None) -> tuple[
    pl.DataFrame, pl.DataFrame
]:
    """Household and member frames as of `day` (default: the population's date)."""
    when = day or population.today
    return household_frame(population.households), member_frame(population.persons, when)

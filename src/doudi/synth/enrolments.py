"""Enrolments consistent with the rules (在保对象), without a database: evaluate every synthetic
household and enrol most of those who qualify — not all, so monitoring has 应保未保 to find.

Selection is a fixed integer hash of the household (or person) id and the seed, so the same
population and seed give the same enrolments; the amount is the one the rules give on the day.
Start dates fall on the first of a month within the last five years (never before the day the
person or the household could qualify is not modelled: the registry's past is not simulated).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from doudi.programmes import catalogue
from doudi.rules.engine import Result

DEFAULT_COVERAGE_BP = 9_000  # 90 % of those who qualify are enrolled
SCHEMA = {"programme": pl.String(), "household_id": pl.Int64(), "person_id": pl.Int64(),
          "area_code": pl.String(), "monthly_amount": pl.Int64(), "start_date": pl.Date(),
          "covered": pl.Boolean()}


def stable_hash(ids: pl.Expr, seed: int) -> pl.Expr:
    """A stable pseudo-random number 0..1,000,002 per id (Knuth's multiplicative hash)."""
    return (ids.cast(pl.Int64) * 2_654_435_761 + seed * 40_503) % 1_000_003


def chosen_share(ids: pl.Expr, seed: int, coverage_bp: int) -> pl.Expr:
    """True for a stable `coverage_bp` / 10,000 share of the ids."""
    return stable_hash(ids, seed) % 10_000 < coverage_bp


def eligible(result: Result) -> pl.DataFrame:
    """Everyone the rules find eligible, one row per (programme, household or person)."""
    areas = result.households.select("household_id", "area_code")
    parts = []
    # every programme (or part) monitoring compares with the rules; amount None: recognition
    for unit in catalogue.monitored_units():
        programme, level, flag, amount = unit.code, unit.level, unit.eligible, unit.amount
        frame = result.households if level == catalogue.HOUSEHOLD else result.members
        amount_col = pl.col(amount).cast(pl.Int64) if amount else pl.lit(None, pl.Int64)
        person = (pl.col("member_id").cast(pl.Int64) if level == catalogue.MEMBER
                  else pl.lit(None, pl.Int64))
        rows = frame.filter(pl.col(flag)).select(
            pl.lit(programme).alias("programme"), pl.col("household_id").cast(pl.Int64),
            person.alias("person_id"), amount_col.alias("monthly_amount"))
        parts.append(rows)
    return pl.concat(parts).join(areas.with_columns(pl.col("household_id").cast(pl.Int64)),
                                 on="household_id", how="left")


def enrolments(result: Result, seed: int, coverage_bp: int = DEFAULT_COVERAGE_BP) -> pl.DataFrame:
    """Every eligible (programme, unit) with `covered` true for the enrolled share; the start
    date of the covered ones is the first of a month up to five years back."""
    day = result.day
    rows = eligible(result)
    unit = pl.coalesce(pl.col("person_id"), pl.col("household_id"))
    months_back = stable_hash(unit + 7, seed) % 60
    first = dt.date(day.year, day.month, 1)
    start = pl.date(pl.lit(first.year), pl.lit(first.month), 1).dt.offset_by(
        pl.format("-{}mo", months_back))
    return rows.with_columns(
        chosen_share(unit, seed, coverage_bp).alias("covered"),
    ).with_columns(
        pl.when(pl.col("covered")).then(start).alias("start_date"),
    ).select(list(SCHEMA)).cast(SCHEMA).sort(  # type: ignore[arg-type]
        "programme", "household_id", "person_id", nulls_last=False)

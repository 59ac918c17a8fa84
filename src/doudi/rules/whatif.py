"""What-if comparison (调标测算): who enters and leaves each programme, and the monthly budget
before and after, by town — the figures a bureau needs before raising a standard."""

from __future__ import annotations

import polars as pl

from doudi.rules.engine import Result
from doudi.rules.programmes import PROGRAMMES

TOWN_PREFIX = 9  # 乡镇/街道 = the first nine digits of a 12-digit area code


def _rows(result: Result, programme_name: str) -> pl.DataFrame:
    programme = PROGRAMMES[programme_name]
    amount = pl.col(programme.amount) if programme.amount else pl.lit(0, pl.Int64)
    if programme.level == "household":
        frame = result.households.select(
            "household_id", pl.lit("").alias("member_id"), "area_code",
            pl.col(programme.eligible).alias("eligible"), amount.alias("amount"),
        )
    else:
        areas = result.households.select("household_id", "area_code")
        frame = result.members.select(
            "household_id", pl.col("member_id").cast(pl.String),
            pl.col(programme.eligible).alias("eligible"), amount.alias("amount"),
        ).join(areas, on="household_id", how="left")
    return frame.with_columns(pl.col("member_id").cast(pl.String))


def compare(before: Result, after: Result) -> pl.DataFrame:
    """One row per programme and town: counts before/after, entering, leaving, monthly budget
    (fen) before/after. Persons for member programmes, households otherwise."""
    parts = []
    for name, programme in PROGRAMMES.items():
        if programme.eligible not in {*before.households.columns, *before.members.columns}:
            continue
        b, a = _rows(before, name), _rows(after, name)
        a = a.select("household_id", "member_id", pl.col("eligible").alias("eligible_after"),
                     pl.col("amount").alias("amount_after"))
        joined = b.join(a, on=["household_id", "member_id"], how="left")
        parts.append(
            joined.group_by(pl.col("area_code").str.slice(0, TOWN_PREFIX).alias("town"))
            .agg(
                pl.col("eligible").sum().alias("before"),
                pl.col("eligible_after").sum().alias("after"),
                (~pl.col("eligible") & pl.col("eligible_after")).sum().alias("entering"),
                (pl.col("eligible") & ~pl.col("eligible_after")).sum().alias("leaving"),
                pl.col("amount").sum().alias("budget_before"),
                pl.col("amount_after").sum().alias("budget_after"),
            )
            .with_columns(pl.lit(name).alias("programme"), pl.lit(programme.label).alias("label"))
        )
    order = {name: i for i, name in enumerate(PROGRAMMES)}
    return pl.concat(parts, how="vertical_relaxed").select(
        "programme", "label", "town", "before", "after", "entering", "leaving",
        "budget_before", "budget_after",
        (pl.col("budget_after") - pl.col("budget_before")).alias("budget_change"),
    ).sort(pl.col("programme").replace_strict(order, return_dtype=pl.Int32), "town")

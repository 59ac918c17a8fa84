"""Validating one department file's rows against its feed spec (逐行校验), vectorised.

Input: the file's cells as String columns named by the spec's field keys (an optional field the
file lacks is an all-null column) plus `row`, the row number a user sees in the sheet. Output:
the typed good rows, one error line per bad cell (row, field, value, reason), and the exact
repeats of an earlier row, which are dropped and reported, not counted as errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from doudi.engine.feeds.cells import (
    DTYPES,
    MESSAGES,
    PARSERS,
    Stage,
    blank,
    date_reason,
    id_upgraded,
    money_units_named,
    parse_area,
    parse_date,
    parse_decimal1,
    parse_id_number,
    parse_money,
    parse_number,
    unparsed_reason,
)
from doudi.engine.feeds.feedspec import FeedSpec
from doudi.engine.feeds.units import Scale

ERROR_SCHEMA = {"row": pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}
NOTE_SCHEMA = ERROR_SCHEMA
NUMERIC = "{}#numeric"  # optional Boolean column: the cell was a number in the file
NUMERIC_TYPES = ("id_number", "date")  # the field types that read it
UPGRADED_NOTE = "15位旧身份证号已按 GB 11643 升为18位"
DUPLICATE_SCHEMA = {"row": pl.Int64, "first_row": pl.Int64}
REQUIRED_REASON = "必填项为空"


@dataclass(frozen=True)
class Validated:
    good: pl.DataFrame  # row + typed fields, in spec order
    errors: pl.DataFrame  # ERROR_SCHEMA, sorted by row then field order
    duplicates: pl.DataFrame  # DUPLICATE_SCHEMA
    notes: pl.DataFrame = field(  # NOTE_SCHEMA: accepted cells changed on the way (15 → 18)
        default_factory=lambda: pl.DataFrame(schema=NOTE_SCHEMA))

    @property
    def error_rows(self) -> int:
        return self.errors.get_column("row").n_unique() if self.errors.height else 0


def _stager(stages: list[pl.Expr], key: str) -> Stage:
    """A `Stage` that materialises a field's intermediates as columns (once each, in order), so
    that a parsed cell that later steps read several times is computed once."""
    named: set[str] = set()

    def stage(name: str, expr: pl.Expr) -> pl.Expr:
        column = f"__{name}_{key}"
        if name not in named:
            named.add(name)
            stages.append(expr.alias(column))
        return pl.col(column)

    return stage


def validate(raw: pl.DataFrame, spec: FeedSpec,
             scales: Mapping[str, Scale] | None = None) -> Validated:
    """`scales`: the unit each field's column was found in (from its header), into the
    field's unit. A column `NUMERIC.format(key)` (Boolean), when present, says which cells the
    file stored as numbers: an ID from one is refused, a date serial accepted only from one."""
    scales = scales or {}
    # Values first, materialised; the reasons of money, number and date cells then read the
    # parsed column instead of parsing every cell a second time.
    values, reasons = [], []
    stages: list[pl.Expr] = []  # intermediates computed once, in order, before values
    for f in spec.fields:
        numeric = (pl.col(NUMERIC.format(f.key)) if NUMERIC.format(f.key) in raw.columns
                   else None)
        scale = scales.get(f.key, Scale())
        stage = _stager(stages, f.key)
        text = pl.col(f.key)
        if f.type == "id_number":
            value, reason = parse_id_number(text, stage=stage, numeric=numeric)
        elif f.type == "date":
            value, reason = parse_date(text, numeric=numeric, stage=stage)
        elif f.type == "money":
            value, reason = parse_money(text, scale.exponent,
                                        money_units_named(raw.get_column(f.key)), stage)
        elif f.type == "area":
            value, reason = parse_area(text, scale.exponent, stage)
        elif f.type == "number":
            value, reason = parse_number(text, scale.factor, stage)
        elif f.type == "decimal1":
            value, reason = parse_decimal1(text, stage)
        else:
            value, reason = PARSERS[f.type](text)
        values.append(value.cast(DTYPES[f.type]).alias(f"__value_{f.key}"))
        if f.type == "date":
            reason = date_reason(pl.col(f.key), pl.col(f"__value_{f.key}"), numeric, stage)
        elif f.type in MESSAGES:
            reason = unparsed_reason(pl.col(f.key), pl.col(f"__value_{f.key}"), f.type)
        if f.required:
            reason = pl.when(blank(pl.col(f.key))).then(pl.lit(REQUIRED_REASON)).otherwise(reason)
        reasons.append(reason.alias(f"__why_{f.key}"))
    lazy = raw.lazy()
    for expr in stages:
        lazy = lazy.with_columns(expr)
    parsed = (lazy.with_columns(pl.col("row").cast(pl.Int64), *values)
              .select("row", *[pl.col(f"__value_{f.key}").alias(f.key) for f in spec.fields],
                      *reasons)
              .collect())
    why = [f"__why_{f.key}" for f in spec.fields]
    bad = pl.any_horizontal([pl.col(c).is_not_null() for c in why])
    order = {f.key: n for n, f in enumerate(spec.fields)}
    failing = parsed.filter(bad)
    if failing.height:
        reasons = (failing.select("row", *why)
                   .unpivot(index="row", variable_name="field", value_name="__reason")
                   .rename({"__reason": "reason"})
                   .drop_nulls("reason")
                   .with_columns(pl.col("field").str.strip_prefix("__why_")))
        values = (raw.filter(pl.col("row").is_in(failing.get_column("row").implode()))
                  .select(pl.col("row").cast(pl.Int64), *[pl.col(f.key) for f in spec.fields])
                  .unpivot(index="row", variable_name="field", value_name="__value")
                  .rename({"__value": "value"}))
        errors = (reasons.join(values, on=["row", "field"], how="left")
                  .with_columns(pl.col("field").replace_strict(order, return_dtype=pl.Int32)
                                .alias("__order"))
                  .sort("row", "__order").select(list(ERROR_SCHEMA)))
    else:
        errors = pl.DataFrame(schema=ERROR_SCHEMA)
    good = parsed.filter(~bad).drop(why)
    notes = _upgrade_notes(raw, spec, good)
    # Exact repeats of an earlier good row (same typed values): keep the first, report the rest.
    keys = list(spec.keys)
    first = pl.col("row").min().over(keys, order_by="row") if keys else pl.col("row")
    ranked = good.with_columns(first.alias("__first"))
    duplicates = (ranked.filter(pl.col("row") != pl.col("__first"))
                  .select("row", pl.col("__first").alias("first_row")))
    good = ranked.filter(pl.col("row") == pl.col("__first")).drop("__first")
    return Validated(good=good, errors=errors, duplicates=duplicates, notes=notes)


def _upgrade_notes(raw: pl.DataFrame, spec: FeedSpec, good: pl.DataFrame) -> pl.DataFrame:
    """One note per accepted 15-digit ID (upgraded to 18), with the value as written."""
    parts = []
    for f in spec.fields:
        if f.type != "id_number":
            continue
        hit = raw.filter(id_upgraded(pl.col(f.key))).select(
            pl.col("row").cast(pl.Int64), pl.lit(f.key).alias("field"),
            pl.col(f.key).alias("value"), pl.lit(UPGRADED_NOTE).alias("reason"))
        parts.append(hit.join(good.select("row"), on="row", how="semi"))
    return (pl.concat(parts).sort("row", maintain_order=True) if parts
            else pl.DataFrame(schema=NOTE_SCHEMA))

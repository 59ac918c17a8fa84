"""Validating one department file's rows against its feed spec (逐行校验), vectorised.

Input: the file's cells as String columns named by the spec's field keys (an optional field the
file lacks is an all-null column) plus `row`, the row number a user sees in the sheet. Output:
the typed good rows, one error line per bad cell (row, field, value, reason), and the exact
repeats of an earlier row, which are dropped and reported, not counted as errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from doudi.engine.feeds.cells import (
    DTYPES,
    MESSAGES,
    PARSERS,
    blank,
    parse_id_number,
    unparsed_reason,
)
from doudi.engine.feeds.feedspec import FeedSpec

ERROR_SCHEMA = {"row": pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}
DUPLICATE_SCHEMA = {"row": pl.Int64, "first_row": pl.Int64}
REQUIRED_REASON = "必填项为空"


@dataclass(frozen=True)
class Validated:
    good: pl.DataFrame  # row + typed fields, in spec order
    errors: pl.DataFrame  # ERROR_SCHEMA, sorted by row then field order
    duplicates: pl.DataFrame  # DUPLICATE_SCHEMA

    @property
    def error_rows(self) -> int:
        return self.errors.get_column("row").n_unique() if self.errors.height else 0


def validate(raw: pl.DataFrame, spec: FeedSpec) -> Validated:
    # Values first, materialised; the reasons of money, number and date cells then read the
    # parsed column instead of parsing every cell a second time.
    values, reasons = [], []
    stages: list[pl.Expr] = []  # intermediates (of IDs) computed once, in order, before values
    for f in spec.fields:
        if f.type == "id_number":
            def stage(name: str, expr: pl.Expr, key: str = f.key) -> pl.Expr:
                stages.append(expr.alias(f"__{name}_{key}"))
                return pl.col(f"__{name}_{key}")

            value, reason = parse_id_number(pl.col(f.key), stage=stage)
        else:
            value, reason = PARSERS[f.type](pl.col(f.key))
        values.append(value.cast(DTYPES[f.type]).alias(f"__value_{f.key}"))
        if f.type in MESSAGES:
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
    # Exact repeats of an earlier good row (same typed values): keep the first, report the rest.
    keys = list(spec.keys)
    first = pl.col("row").min().over(keys, order_by="row") if keys else pl.col("row")
    ranked = good.with_columns(first.alias("__first"))
    duplicates = (ranked.filter(pl.col("row") != pl.col("__first"))
                  .select("row", pl.col("__first").alias("first_row")))
    good = ranked.filter(pl.col("row") == pl.col("__first")).drop("__first")
    return Validated(good=good, errors=errors, duplicates=duplicates)

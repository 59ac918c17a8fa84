"""Typed feed rows → the text a department's file holds (渲染).

`render` turns a frame whose columns are `layout.keys` into an all-String frame headed by the
department's Chinese headers, in layout order. Each kind is written the way the file holds it:
dates in `layout.date_style`, money (integer fen) as yuan with two decimals, `decimal1`
(integer tenths) with one decimal, numbers as integers, nulls as "". Only Polars expressions,
no per-row Python: a million rows take a fraction of a second.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from doudi.synth.feeds.layouts import Column, FeedLayout

DATE_FORMATS = {"iso": "%Y-%m-%d", "slash": "%Y/%-m/%-d", "compact": "%Y%m%d"}


def date_text(dates: pl.Series, style: str) -> pl.Series:
    """Dates as the department writes them: iso 2026-03-05, slash 2026/3/5, compact 20260305."""
    try:
        fmt = DATE_FORMATS[style]
    except KeyError:
        raise ValueError(f"unknown date style {style!r}") from None
    return dates.cast(pl.Date).dt.strftime(fmt)


def _fixed_point(expr: pl.Expr, digits: int) -> pl.Expr:
    """Integer units of 10**-digits as exact fixed-point text: (123450, 2) → "1234.50",
    (-300, 2) → "-3.00", (853, 1) → "85.3". Decimal arithmetic, never float."""
    unit = pl.lit(Decimal(1).scaleb(-digits), dtype=pl.Decimal(38, digits))
    return (expr.cast(pl.Int64).cast(pl.Decimal(38, 0)) * unit).cast(
        pl.Decimal(38, digits)).cast(pl.String)


def _cell(frame: pl.DataFrame, column: Column, date_style: str) -> pl.Expr:
    expr = pl.col(column.key)
    if column.kind in ("id_number", "text"):
        text = expr.cast(pl.String)
    elif column.kind == "date":
        # Few distinct dates in a million rows: format each once, then map (4× faster).
        days = frame.get_column(column.key).cast(pl.Date).drop_nulls().unique()
        text = expr.cast(pl.Date).replace_strict(
            days, date_text(days, date_style), default=None, return_dtype=pl.String)
    elif column.kind == "money":  # fen → yuan
        text = _fixed_point(expr, 2)
    elif column.kind == "decimal1":  # tenths
        text = _fixed_point(expr, 1)
    elif column.kind == "number":
        text = expr.cast(pl.Int64).cast(pl.String)
    else:
        raise ValueError(f"unknown column kind {column.kind!r}")
    return text.fill_null("").alias(column.header)


def render(frame: pl.DataFrame, layout: FeedLayout) -> pl.DataFrame:
    """The department's file as text: String columns named by the Chinese headers, in layout
    order, nulls as "". `frame` must hold every key of the layout (extra columns are ignored)."""
    missing = [key for key in layout.keys if key not in frame.columns]
    if missing:
        raise ValueError(f"{layout.key}: frame lacks columns {missing}")
    if layout.date_style not in DATE_FORMATS:
        raise ValueError(f"{layout.key}: unknown date style {layout.date_style!r}")
    return frame.select([_cell(frame, c, layout.date_style) for c in layout.columns])

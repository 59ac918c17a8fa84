"""Dirty rows as departments really send them (脏数据).

`apply` takes a rendered feed (all String, Chinese headers) and gives about `share` of its rows
one defect each, returning the dirty frame and an issues frame saying, for every defect, where
it is, what was there, what was written and what an import is expected to do with it:

==================  ==========================================================  ============
kind                what is written                                             expected
==================  ==========================================================  ============
bad_check_digit     the ID's last character replaced by a wrong one             rejected
unknown_id          a valid ID (new 顺序码, recomputed 校验码) nobody holds       unmatched
duplicate           the row repeated right after itself                         deduplicated
fullwidth_digits    the ID's or a money cell's digits in 全角 ０-９               parsed
amount_format       money as "1,234.50", "1234.5元" or "￥1,234.50"              parsed
excel_serial_date   a date as Excel's serial day number, "46086"                rejected
chinese_date        a date as "2026年3月5日"                                     parsed
blank_required      a required cell (not always the ID) emptied                 rejected
==================  ==========================================================  ============

Only kinds the layout can hold are used (no date column → no date dirt, no money column → no
amount dirt); a row whose cells cannot take its kind (e.g. an empty date) is duplicated
instead. Everything is drawn from one `numpy` generator seeded by `seed`, and all work is
Polars/numpy over the few dirty rows, so a million rows take a fraction of a second.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from doudi.core.idnumber import CHECK_CHARS
from doudi.engine.feeds.cells import id_check_char, id_check_index
from doudi.synth.feeds.layouts import FeedLayout

DIRT_KINDS = ("bad_check_digit", "unknown_id", "duplicate", "fullwidth_digits",
              "amount_format", "excel_serial_date", "chinese_date", "blank_required")
EXPECTED = {
    "bad_check_digit": "rejected",
    "unknown_id": "unmatched",
    "duplicate": "deduplicated",
    "fullwidth_digits": "parsed",
    "amount_format": "parsed",
    "excel_serial_date": "rejected",  # a serial in a text cell is refused, not guessed
    "chinese_date": "parsed",
    "blank_required": "rejected",
}
ISSUE_SCHEMA = {"feed": pl.String, "row": pl.Int64, "column": pl.String, "kind": pl.String,
                "original": pl.String, "written": pl.String, "expected": pl.String}
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's 1900-02-29
FULLWIDTH = [chr(ord("０") + i) for i in range(10)]
ASCII_DIGITS = [str(i) for i in range(10)]

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
DATE_PATTERN = r"^([0-9]{4})[-/]?([0-9]{1,2})[-/]?([0-9]{1,2})$"  # iso, slash, compact

_CELLS = {"row": pl.Int64, "column": pl.String, "original": pl.String}


def kinds_for(layout: FeedLayout) -> tuple[str, ...]:
    """The dirt kinds a layout's columns can hold, in `DIRT_KINDS` order."""
    kinds = {c.kind for c in layout.columns}
    has_id, has_money = "id_number" in kinds, "money" in kinds
    usable = {
        "bad_check_digit": has_id,
        "unknown_id": has_id,
        "duplicate": True,
        "fullwidth_digits": has_id or has_money,
        "amount_format": has_money,
        "excel_serial_date": "date" in kinds,
        "chinese_date": "date" in kinds,
        "blank_required": any(c.required for c in layout.columns),
    }
    return tuple(kind for kind in DIRT_KINDS if usable[kind])


def _pick(rendered: pl.DataFrame, rows: np.ndarray, candidates: dict[str, pl.Expr],
          rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """For each of `rows`, choose at random one of the `candidates` columns (header → Boolean
    "this cell can take the dirt"). Returns the chosen cells (row, column, original) and the
    rows that had no usable cell."""
    if not candidates or rows.size == 0:
        return pl.DataFrame(schema=_CELLS), rows
    headers = list(candidates)
    sub = pl.DataFrame([rendered.get_column(h).gather(rows) for h in headers])
    ok = sub.select([e.fill_null(False).alias(h) for h, e in candidates.items()]).to_numpy()
    scores = rng.random(ok.shape)
    scores[~ok] = -1.0
    choice = scores.argmax(axis=1)
    placed = ok.any(axis=1)
    parts = []
    for j, header in enumerate(headers):
        mask = placed & (choice == j)
        if mask.any():
            parts.append(pl.DataFrame({
                "row": rows[mask].astype(np.int64),
                "column": pl.Series([header] * int(mask.sum()), dtype=pl.String),
                "original": sub.get_column(header).filter(pl.Series(mask)),
            }))
    cells = pl.concat(parts).sort("row") if parts else pl.DataFrame(schema=_CELLS)
    return cells, rows[~placed]


def _thousands(integer: pl.Expr) -> pl.Expr:
    """"1234567" → "1,234,567" (digits only)."""
    return (integer.str.reverse().str.replace_all(r"([0-9]{3})", "${1},")
            .str.strip_chars_end(",").str.reverse())


def _amount_text(original: pl.Expr, style: pl.Expr) -> pl.Expr:
    """Money "−1234.50" rewritten: style 0 "1,234.50", 1 "1234.5元", 2 "￥1,234.50"; a style-0
    amount under 1,000 would not change, so it gets the ￥ too."""
    sign = pl.when(original.str.starts_with("-")).then(pl.lit("-")).otherwise(pl.lit(""))
    magnitude = original.str.strip_prefix("-")
    integer = magnitude.str.split_exact(".", 1).struct.field("field_0")
    fraction = magnitude.str.split_exact(".", 1).struct.field("field_1")
    grouped = pl.concat_str([sign, _thousands(integer), pl.lit("."), fraction])
    short_fraction = fraction.str.strip_chars_end("0")
    yuan = pl.concat_str([
        sign, integer,
        pl.when(short_fraction == "").then(pl.lit("")).otherwise(pl.lit(".") + short_fraction),
        pl.lit("元")])
    yen = pl.concat_str([sign, pl.lit("￥"), _thousands(integer), pl.lit("."), fraction])
    return (pl.when(style == 1).then(yuan)
            .when((style == 0) & (integer.str.len_chars() > 3)).then(grouped)
            .otherwise(yen))


def _date_parts(original: pl.Expr) -> list[pl.Expr]:
    """Year, month, day of a rendered date (iso, slash or compact)."""
    parts = original.str.extract_groups(DATE_PATTERN)
    return [parts.struct.field(str(i)).cast(pl.Int32) for i in (1, 2, 3)]


def _unknown_ids(originals: pl.Series, known: pl.Series, rng: np.random.Generator
                 ) -> pl.Series:
    """Valid IDs nobody in `known` holds: same region and birth date, a new 顺序码 of the same
    parity (sex), the check character recomputed. Null where 64 draws found none."""
    # Only IDs sharing region and birth date can collide: test against those few.
    prefixes = originals.str.slice(0, 14).unique().implode()
    nearby = known.filter(known.str.slice(0, 14).is_in(prefixes))
    written = pl.Series(values=[None] * originals.len(), dtype=pl.String)
    pending = np.arange(originals.len())
    for _ in range(64):
        if pending.size == 0:
            break
        source = originals.gather(pending)
        draw = pl.Series(rng.integers(0, 500, pending.size) * 2, dtype=pl.Int64)
        frame = pl.DataFrame({"id": source, "draw": draw}).with_columns(
            first17=pl.concat_str([
                pl.col("id").str.slice(0, 14),
                (pl.col("draw") + pl.col("id").str.slice(16, 1).cast(pl.Int64) % 2)
                .cast(pl.String).str.zfill(3)]))
        candidate = frame.select(
            pl.col("first17") + id_check_char(pl.col("first17"))).to_series()
        taken = pl.concat([nearby, written.drop_nulls()]).implode()
        # Never someone known, never the original, never two rows inventing the same person.
        fresh = ~candidate.is_in(taken) & (candidate != source) & candidate.is_first_distinct()
        accepted = fresh.to_numpy()
        if accepted.any():
            written = written.scatter(pending[accepted], candidate.filter(fresh))
        pending = pending[~accepted]
    return written


def apply(rendered: pl.DataFrame, layout: FeedLayout, share: float, seed: int,
          known_ids: pl.Series, protected: pl.Series | None = None
          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give about `share` of the rows one defect each (never a `protected` row); return the
    dirty frame (duplicates inserted right after their originals) and the issues frame
    (feed, row — 1-based data row of the returned frame —, column, kind, original, written,
    expected). A duplicate's issue is the copy's row, on the ID column."""
    headers = [c.header for c in layout.columns]
    if rendered.columns != headers:
        raise ValueError(f"{layout.key}: columns must be the layout's headers {headers}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], not {share}")
    n = rendered.height
    if protected is None:
        free = np.arange(n)
    else:
        if protected.len() != n:
            raise ValueError(f"protected has {protected.len()} values for {n} rows")
        free = np.flatnonzero(~protected.cast(pl.Boolean).fill_null(False).to_numpy())
    count = min(round(share * n), free.size)
    if count == 0:
        return rendered.clone(), pl.DataFrame(schema=ISSUE_SCHEMA)

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(free, size=count, replace=False))
    kinds = np.resize(np.array(kinds_for(layout)), count)
    rng.shuffle(kinds)

    id_headers = [c.header for c in layout.columns if c.kind == "id_number"]
    money = [c.header for c in layout.columns if c.kind == "money"]
    dates = [c.header for c in layout.columns if c.kind == "date"]
    required = [c.header for c in layout.columns if c.required]
    id_ok = {h: pl.col(h).str.contains(ID_PATTERN) for h in id_headers[:1]}
    money_ok = {h: pl.col(h).str.contains(MONEY_PATTERN) for h in money}
    date_ok = {h: pl.col(h).str.contains(DATE_PATTERN) for h in dates}
    known = known_ids.cast(pl.String).drop_nulls()

    edits: list[pl.DataFrame] = []
    duplicated = [rows[kinds == "duplicate"]]
    for kind in DIRT_KINDS:
        if kind == "duplicate":
            continue
        kind_rows = rows[kinds == kind]
        if kind_rows.size == 0:
            continue
        if kind in ("bad_check_digit", "unknown_id"):
            candidates = id_ok
        elif kind == "fullwidth_digits":
            candidates = {**id_ok, **money_ok}
        elif kind == "amount_format":
            candidates = money_ok
        elif kind in ("excel_serial_date", "chinese_date"):
            candidates = date_ok
        else:  # blank_required
            candidates = {h: pl.col(h) != "" for h in required}
        cells, unplaced = _pick(rendered, kind_rows, candidates, rng)
        duplicated.append(unplaced)
        if cells.height == 0:
            continue
        original = pl.col("original")
        if kind == "bad_check_digit":
            shift = pl.Series(rng.integers(1, 11, cells.height), dtype=pl.Int64)
            first17 = original.str.slice(0, 17)
            wrong = pl.lit(list(CHECK_CHARS)).list.get((id_check_index(first17) + pl.col("shift"))
                                                       % 11)
            written = cells.with_columns(shift=shift).select(first17 + wrong).to_series()
        elif kind == "unknown_id":
            written = _unknown_ids(cells.get_column("original"), known, rng)
        elif kind == "fullwidth_digits":
            written = cells.select(original.str.replace_many(ASCII_DIGITS, FULLWIDTH)).to_series()
        elif kind == "amount_format":
            style = pl.Series(rng.integers(0, 3, cells.height), dtype=pl.Int64)
            written = cells.with_columns(style=style).select(
                _amount_text(original, pl.col("style"))).to_series()
        elif kind == "excel_serial_date":
            y, m, d = _date_parts(original)
            written = cells.select(
                (pl.date(y, m, d) - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.String)
            ).to_series()
        elif kind == "chinese_date":
            y, m, d = _date_parts(original)
            written = cells.select(pl.concat_str(
                [y.cast(pl.String), pl.lit("年"), m.cast(pl.String), pl.lit("月"),
                 d.cast(pl.String), pl.lit("日")])).to_series()
        else:  # blank_required
            written = pl.Series([""] * cells.height, dtype=pl.String)
        cells = cells.with_columns(written=written.alias("written"), kind=pl.lit(kind))
        failed = cells.filter(pl.col("written").is_null())
        duplicated.append(failed.get_column("row").to_numpy())
        edits.append(cells.filter(pl.col("written").is_not_null()))

    # Duplicates: the copy's issue sits on the ID column (or the first column).
    dup_rows = np.sort(np.concatenate(duplicated)).astype(np.int64)
    dup_header = id_headers[0] if id_headers else headers[0]
    dup_value = rendered.get_column(dup_header).gather(dup_rows)
    edits.append(pl.DataFrame({
        "row": dup_rows, "column": pl.Series([dup_header] * dup_rows.size, dtype=pl.String),
        "original": dup_value, "written": dup_value,
        "kind": pl.Series(["duplicate"] * dup_rows.size, dtype=pl.String)}))
    edits_frame = pl.concat(edits, how="diagonal").select(
        "row", "column", "kind", "original", "written")

    # Write the cells in place and insert each copy right after its original, column by
    # column (faster than a frame-wide gather).
    changed = edits_frame.filter(pl.col("kind") != "duplicate")
    repeat = np.ones(n, dtype=np.int64)
    repeat[dup_rows] = 2
    order = np.repeat(np.arange(n), repeat) if dup_rows.size else None
    columns = []
    for header in headers:
        series = rendered.get_column(header)
        mine = changed.filter(pl.col("column") == header)
        if mine.height:
            series = series.clone().scatter(mine.get_column("row").to_numpy(),
                                            mine.get_column("written"))
        columns.append(series if order is None else series.gather(order))
    dirty = pl.DataFrame(columns)

    # Row numbers in the returned frame: 1-based, shifted by the copies above.
    shift_before = np.concatenate([[0], np.cumsum(repeat - 1)[:-1]])  # copies above each row
    position = edits_frame.get_column("row").to_numpy()
    new_row = position + shift_before[position] + 1
    new_row = new_row + (edits_frame.get_column("kind") == "duplicate").to_numpy()
    issues = edits_frame.with_columns(
        row=pl.Series(new_row, dtype=pl.Int64),
        feed=pl.lit(layout.key),
        expected=pl.col("kind").replace_strict(EXPECTED, return_dtype=pl.String),
    ).select(list(ISSUE_SCHEMA)).sort("row")
    return dirty, issues

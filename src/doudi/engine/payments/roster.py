"""发放花名册: what each enrollment is owed for a month, vectorised (pure, Polars).

Amounts come as periods — (enrollment_id, valid_from, valid_to exclusive or null, amount_fen a
month) — derived from the enrollment's dated events. A month's due:

* an amount change takes effect for the month containing its date when the date is the 1st,
  otherwise from the next month (a 1 July standard rise changes July; a change decided on
  15 March changes April);
* the enrollment's first month follows `start_rule` and its last `stop_rule`: "full" (the
  whole month), "none" (nothing), or "daily" (amount × days covered ÷ days in the month,
  rounded half up to the fen, once per line).

The line for month M pays what is owed up to M: Σ due of every month ≤ M minus Σ of every
earlier line not failed at the bank. So a decision reaching back yields arrears (补发), a
reduction reaching back is recovered from the month's amount (追回, never below zero, the rest
carried forward), a failed payment is simply owed again next month, and building M twice pays
nobody twice: once M's line exists, nothing more is owed.

结转 (an opening balance): summing from `first_month` makes each month cost more than the last.
An enrollment may instead come with an opening row (enrollment_id, from_month, balance_fen):
`balance_fen` is what it was owed up to the month before `from_month` (Σ due − Σ lines not
failed, over every month from `first_month` to then; negative while an overpayment is still
to be recovered). Its due is then summed from `from_month` only, and only its paid lines of
`from_month` or later count — the same owed amount, so the same line, as the whole history
gives, as long as the balance is still true (keeping it true is the caller's business: see
`doudi.benefits.settlement`). Enrollments are grouped by `from_month`, so the months grid
is as wide as the oldest opening's gap, not the history. `roster_with_balances` also returns
each enrollment's balance carried to a later month, for the next roster's opening.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

RULES = ("full", "none", "daily")
PERIOD_SCHEMA = {"enrollment_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date,
                 "amount_fen": pl.Int64}
PAID_SCHEMA = {"enrollment_id": pl.Int64, "paid_fen": pl.Int64}
# paid lines with their month: needed to carry a balance forward, and to leave out the lines an
# opening balance already counts
PAID_MONTH_SCHEMA = {"enrollment_id": pl.Int64, "month": pl.Date, "paid_fen": pl.Int64}
OPENING_SCHEMA = {"enrollment_id": pl.Int64, "from_month": pl.Date, "balance_fen": pl.Int64}
BALANCE_SCHEMA = {"enrollment_id": pl.Int64, "settled_month": pl.Date, "balance_fen": pl.Int64}
LINE_SCHEMA = {"enrollment_id": pl.Int64, "due_fen": pl.Int64, "owed_fen": pl.Int64,
               "regular_fen": pl.Int64, "arrears_fen": pl.Int64, "recovery_fen": pl.Int64,
               "total_fen": pl.Int64}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], month_start(first)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def first_month_changed(kind: str, day: dt.date, after_stop: bool) -> dt.date | None:
    """The earliest month whose due an event (`kind`, dated `day`) added to an enrollment's
    events may change; None when it may change any month.

    Its period pays from `day`'s month (a 1st) or the next and closes the one before there; it
    can become the first period, with `day`'s month the start month; a 停发 ends the
    enrollment on `day`, so its end month is the one holding the day before (a stop on the 1st
    ends the month before). Any other event after a stop (`after_stop`: the enrollment has a
    stop event) may reopen it, turning the stop's month — paid by the stop rule — into an
    ordinary month, however long ago."""
    if kind != "stop" and after_stop:
        return None
    return month_start(day - dt.timedelta(days=1))


def _effective_month(day: pl.Expr) -> pl.Expr:
    """The first month a change dated `day` pays for."""
    first = day.dt.truncate("1mo")
    return pl.when(day.dt.day() == 1).then(first).otherwise(first.dt.offset_by("1mo"))


def due_by_month(periods: pl.DataFrame, months: list[dt.date], start_rule: str = "none",
                 stop_rule: str = "full") -> pl.DataFrame:
    """(enrollment_id, month, due_fen) for every enrollment and month given."""
    if start_rule not in RULES or stop_rule not in RULES:
        raise ValueError(f"发放规则应为 {RULES}")
    p = periods.select(list(PERIOD_SCHEMA)).cast(PERIOD_SCHEMA)  # type: ignore[arg-type]
    bounds = p.group_by("enrollment_id").agg(
        pl.col("valid_from").min().alias("start"),
        pl.when(pl.col("valid_to").is_null().any()).then(None)
        .otherwise(pl.col("valid_to").max()).alias("end"))
    month_frame = pl.DataFrame({"month": months}, schema={"month": pl.Date})
    grid = p.with_columns(_effective_month(pl.col("valid_from")).alias("eff_from"),
                          _effective_month(pl.col("valid_to")).alias("eff_to"))
    # within the enrollment, each period pays the months from its effective month to the next's
    paid = (grid.join(month_frame, how="cross")
            .filter((pl.col("month") >= pl.col("eff_from"))
                    & (pl.col("eff_to").is_null() | (pl.col("month") < pl.col("eff_to"))))
            .sort("enrollment_id", "month", "valid_from")
            .group_by("enrollment_id", "month").agg(pl.col("amount_fen").last()))
    # first and last months by the start/stop rules (the periods' own month logic aside)
    out = (bounds.join(month_frame, how="cross")
           .join(paid, on=["enrollment_id", "month"], how="left")
           .join(p.sort("valid_from").group_by("enrollment_id").agg(
               pl.col("amount_fen").first().alias("first_amount"),
               pl.col("amount_fen").last().alias("last_amount")), on="enrollment_id"))
    days = pl.col("month").dt.month_end().dt.day().cast(pl.Int64)
    start_month = pl.col("start").dt.truncate("1mo")
    end_day = pl.col("end") - pl.duration(days=1)  # the last day covered
    end_month = end_day.dt.truncate("1mo")
    in_start = pl.col("month") == start_month
    in_end = pl.col("end").is_not_null() & (pl.col("month") == end_month)
    inside = (pl.col("month") > start_month) & (pl.col("end").is_null()
                                                | (pl.col("month") < end_month))
    covered_start = days - pl.col("start").dt.day().cast(pl.Int64) + 1
    covered_end = end_day.dt.day().cast(pl.Int64)

    def rule(name: str, amount: pl.Expr, covered: pl.Expr, whole: pl.Expr) -> pl.Expr:
        if name == "full":
            return amount
        if name == "none":
            return pl.when(whole).then(amount).otherwise(0)
        return (amount * covered * 2 + days) // (2 * days)  # half up, exact integers

    starts_on_first = pl.col("start").dt.day() == 1
    ends_on_last = pl.col("end").is_not_null() & (end_day == end_day.dt.month_end())
    first = rule(start_rule, pl.col("first_amount"), covered_start, starts_on_first)
    last = rule(stop_rule, pl.col("last_amount"), covered_end, ends_on_last)
    both = in_start & in_end
    same_month_days = covered_end - pl.col("start").dt.day().cast(pl.Int64) + 1
    due = (pl.when(both).then(
               rule("daily" if "daily" in (start_rule, stop_rule) else start_rule,
                    pl.col("first_amount"), same_month_days, starts_on_first & ends_on_last))
           .when(in_start).then(first)
           .when(in_end).then(last)
           .when(inside).then(pl.col("amount_fen").fill_null(0))
           .otherwise(0))
    return out.select("enrollment_id", "month", due.cast(pl.Int64).alias("due_fen")).sort(
        "enrollment_id", "month")


def roster(periods: pl.DataFrame, paid: pl.DataFrame, month: dt.date,
           first_month: dt.date, start_rule: str = "none",
           stop_rule: str = "full", opening: pl.DataFrame | None = None) -> pl.DataFrame:
    """The lines of `month`: one per enrollment still owed something (LINE_SCHEMA).

    `paid`: every earlier line not failed at the bank, one row per line with its `month`
    (PAID_MONTH_SCHEMA; those before `first_month`, or before an enrollment's opening
    `from_month`, are left out), or without an opening (enrollment_id, paid_fen) already
    summed from `first_month`.
    `first_month`: the earliest month anything can still be owed for (e.g. when payments
    started in this system). `opening` (OPENING_SCHEMA): enrollments whose history up to
    the month before `from_month` is summed up in `balance_fen` (see the module's note)."""
    return _owed(periods, paid, month, first_month, start_rule, stop_rule, opening, None)[0]


def roster_with_balances(periods: pl.DataFrame, paid: pl.DataFrame, month: dt.date,
                         first_month: dt.date, start_rule: str, stop_rule: str,
                         opening: pl.DataFrame | None,
                         settle_through: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`roster`'s lines and, for every enrollment in `periods`, its balance carried to
    `settle_through` (BALANCE_SCHEMA): what it is owed for the months up to and including
    `settle_through`, less its paid lines of those months. `paid` must carry each line's month
    (PAID_MONTH_SCHEMA). An enrollment whose opening already reaches past `settle_through`
    keeps its opening as it is (settled month = the month before its `from_month`)."""
    lines, balances = _owed(periods, paid, month, first_month, start_rule, stop_rule, opening,
                            month_start(settle_through))
    assert balances is not None
    return lines, balances


def _owed(periods: pl.DataFrame, paid: pl.DataFrame, month: dt.date, first_month: dt.date,
          start_rule: str, stop_rule: str, opening: pl.DataFrame | None,
          settle_through: dt.date | None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    month, first_month = month_start(month), month_start(first_month)
    p = periods.select(list(PERIOD_SCHEMA)).cast(PERIOD_SCHEMA)  # type: ignore[arg-type]
    if opening is None:
        opening = pl.DataFrame(schema=OPENING_SCHEMA)
    opening = opening.select(list(OPENING_SCHEMA)).cast(OPENING_SCHEMA)  # type: ignore[arg-type]
    if opening.height and opening["from_month"].max() > month:  # type: ignore[operator]
        raise ValueError("结转余额的起算月份不能晚于发放月份")
    # each enrollment's first month to sum: its opening's, or `first_month`
    starts = (p.select("enrollment_id").unique()
              .join(opening, on="enrollment_id", how="left")
              .with_columns(pl.col("from_month").dt.truncate("1mo")
                            .fill_null(pl.lit(first_month, pl.Date)),
                            pl.col("balance_fen").fill_null(0)))
    # one months grid per first month: most enrollments share the same one
    parts = [due_by_month(p.join(group.select("enrollment_id"), on="enrollment_id",
                                 how="semi"),
                          months_between(since, month), start_rule, stop_rule)
             for (since,), group in starts.group_by("from_month")]
    due = (pl.concat(parts) if parts else
           pl.DataFrame(schema={"enrollment_id": pl.Int64, "month": pl.Date,
                                "due_fen": pl.Int64}))
    settled = pl.lit(settle_through, pl.Date) if settle_through else None
    aggs = [pl.col("due_fen").sum().alias("due_total"),
            pl.col("due_fen").filter(pl.col("month") == month).sum().alias("due_fen")]
    if settled is not None:
        aggs.append(pl.col("due_fen").filter(pl.col("month") <= settled).sum()
                    .alias("due_settled"))
    totals = due.group_by("enrollment_id").agg(aggs)
    if "month" in paid.columns:
        paid = (paid.select(list(PAID_MONTH_SCHEMA))
                .cast(PAID_MONTH_SCHEMA)  # type: ignore[arg-type]
                .join(starts.select("enrollment_id", "from_month"), on="enrollment_id")
                .filter(pl.col("month") >= pl.col("from_month")))
    elif settled is not None or opening.height:
        raise ValueError("结转余额需要每笔已发放金额的月份")
    else:
        paid = paid.select(list(PAID_SCHEMA)).cast(PAID_SCHEMA)  # type: ignore[arg-type]
    paid_aggs = [pl.col("paid_fen").sum()]
    if settled is not None:
        paid_aggs.append(pl.col("paid_fen").filter(pl.col("month") <= settled).sum()
                         .alias("paid_settled"))
    lines = (totals.join(paid.group_by("enrollment_id").agg(paid_aggs), on="enrollment_id",
                         how="left")
             .join(starts, on="enrollment_id", how="left")
             .with_columns(pl.col("paid_fen").fill_null(0))
             .with_columns((pl.col("balance_fen") + pl.col("due_total") - pl.col("paid_fen"))
                           .alias("owed_fen")))
    balances = None
    if settled is not None:
        # an opening already past `settle_through` sums nothing here and stays as it was
        balances = (lines.select(
            "enrollment_id",
            pl.max_horizontal(pl.col("from_month").dt.offset_by("-1mo"), settled)
            .alias("settled_month"),
            (pl.col("balance_fen") + pl.col("due_settled")
             - pl.col("paid_settled").fill_null(0)).alias("balance_fen"))
            .cast(BALANCE_SCHEMA)  # type: ignore[arg-type]
            .sort("enrollment_id"))
    total = pl.max_horizontal(pl.col("owed_fen"), pl.lit(0))
    regular = pl.min_horizontal(pl.col("due_fen"), total)
    out = (lines.with_columns(total.alias("total_fen"))
           .with_columns(regular.alias("regular_fen"),
                         (pl.col("total_fen") - regular).alias("arrears_fen"),
                         (pl.col("due_fen") - regular).alias("recovery_fen"))
           .filter((pl.col("total_fen") > 0) | (pl.col("recovery_fen") > 0))
           .select(list(LINE_SCHEMA)).cast(LINE_SCHEMA)  # type: ignore[arg-type]
           .sort("enrollment_id"))
    return out, balances

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
"""

from __future__ import annotations

import datetime as dt

import polars as pl

RULES = ("full", "none", "daily")
PERIOD_SCHEMA = {"enrollment_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date,
                 "amount_fen": pl.Int64}
PAID_SCHEMA = {"enrollment_id": pl.Int64, "paid_fen": pl.Int64}
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
           stop_rule: str = "full") -> pl.DataFrame:
    """The lines of `month`: one per enrollment still owed something (LINE_SCHEMA).

    `paid`: (enrollment_id, paid_fen) — the sum of every earlier line not failed at the bank.
    `first_month`: the earliest month anything can still be owed for (e.g. when payments
    started in this system)."""
    months = months_between(first_month, month)
    due = due_by_month(periods, months, start_rule, stop_rule)
    totals = due.group_by("enrollment_id").agg(
        pl.col("due_fen").sum().alias("due_total"),
        pl.col("due_fen").filter(pl.col("month") == month).sum().alias("due_fen"))
    paid = paid.select(list(PAID_SCHEMA)).cast(PAID_SCHEMA)  # type: ignore[arg-type]
    lines = (totals.join(paid.group_by("enrollment_id").agg(pl.col("paid_fen").sum()),
                         on="enrollment_id", how="left")
             .with_columns(pl.col("paid_fen").fill_null(0))
             .with_columns((pl.col("due_total") - pl.col("paid_fen")).alias("owed_fen")))
    total = pl.max_horizontal(pl.col("owed_fen"), pl.lit(0))
    regular = pl.min_horizontal(pl.col("due_fen"), total)
    return (lines.with_columns(total.alias("total_fen"))
            .with_columns(regular.alias("regular_fen"),
                          (pl.col("total_fen") - regular).alias("arrears_fen"),
                          (pl.col("due_fen") - regular).alias("recovery_fen"))
            .filter((pl.col("total_fen") > 0) | (pl.col("recovery_fen") > 0))
            .select(list(LINE_SCHEMA)).cast(LINE_SCHEMA)  # type: ignore[arg-type]
            .sort("enrollment_id"))

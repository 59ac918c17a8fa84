"""Roster properties: what is paid equals what is owed, to the fen; lines split exactly into
regular + arrears; recovery never makes a line negative; a second build of a month pays
nothing more."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from doudi.engine.payments.roster import (
    OPENING_SCHEMA,
    PAID_MONTH_SCHEMA,
    PAID_SCHEMA,
    PERIOD_SCHEMA,
    due_by_month,
    months_between,
    roster,
    roster_with_balances,
)

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2026, 12, 1)
day = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 12, 31))
amount = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def enrollments(draw) -> pl.DataFrame:
    rows = []
    for eid in range(1, draw(st.integers(1, 8)) + 1):
        starts = sorted(set(draw(st.lists(day, min_size=1, max_size=4))))
        end = draw(st.one_of(st.none(), day))
        for i, start in enumerate(starts):
            following = starts[i + 1] if i + 1 < len(starts) else end
            if following is not None and following <= start:
                break
            rows.append((eid, start, following, draw(amount)))
    return pl.DataFrame(rows, schema=PERIOD_SCHEMA, orient="row")


rules = st.sampled_from(["full", "none", "daily"])


@settings(max_examples=60, deadline=None)
@given(enrollments(), rules, rules, st.integers(0, 3_000_000))
def test_paying_month_by_month_pays_exactly_what_is_due(periods, start, stop, extra) -> None:
    months = months_between(FIRST, LAST)
    due = due_by_month(periods, months, start, stop)
    paid = pl.DataFrame(schema=PAID_SCHEMA)
    for month in months:
        lines = roster(periods, paid, month, FIRST, start, stop)
        assert (lines["regular_fen"] + lines["arrears_fen"] == lines["total_fen"]).all()
        assert (lines["total_fen"] >= 0).all() and (lines["recovery_fen"] >= 0).all()
        assert (lines["recovery_fen"] <= lines["due_fen"]).all()
        paid = pl.concat([paid, lines.select("enrollment_id",
                                             pl.col("total_fen").alias("paid_fen"))])
        again = roster(periods, paid, month, FIRST, start, stop)
        assert again["total_fen"].sum() == 0  # nothing owed twice
    owed = due.group_by("enrollment_id").agg(pl.col("due_fen").sum())
    got = paid.group_by("enrollment_id").agg(pl.col("paid_fen").sum())
    merged = owed.join(got, on="enrollment_id", how="left").fill_null(0)
    assert (merged["due_fen"] == merged["paid_fen"]).all()


@settings(max_examples=40, deadline=None)
@given(enrollments(), st.integers(1, 5_000_000))
def test_an_overpayment_is_recovered_and_never_goes_negative(periods, over) -> None:
    months = months_between(FIRST, LAST)
    ids = periods["enrollment_id"].unique().to_list()
    paid = pl.DataFrame({"enrollment_id": ids, "paid_fen": [over] * len(ids)},
                        schema=PAID_SCHEMA)
    total_due = due_by_month(periods, months).group_by("enrollment_id").agg(
        pl.col("due_fen").sum().alias("due"))
    for month in months:
        lines = roster(periods, paid, month, FIRST)
        assert (lines["total_fen"] >= 0).all()
        paid = pl.concat([paid, lines.select("enrollment_id",
                                             pl.col("total_fen").alias("paid_fen"))])
    got = paid.group_by("enrollment_id").agg(pl.col("paid_fen").sum())
    merged = total_due.join(got, on="enrollment_id")
    # paid in all = max(due, the overpayment): the excess was recovered wherever it could be
    check = merged.select(pl.col("paid_fen") == pl.max_horizontal("due", pl.lit(over)))
    assert check.to_series().all()


def test_daily_rule_rounds_half_up_once_per_line() -> None:
    periods = pl.DataFrame([(1, dt.date(2026, 2, 15), None, 100)], schema=PERIOD_SCHEMA,
                           orient="row")
    due = due_by_month(periods, [dt.date(2026, 2, 1)], "daily", "full")
    assert due["due_fen"].to_list() == [50]  # 14 of 28 days of 100 fen
    periods = pl.DataFrame([(1, dt.date(2026, 1, 17), None, 100)], schema=PERIOD_SCHEMA,
                           orient="row")
    assert due_by_month(periods, [dt.date(2026, 1, 1)], "daily")["due_fen"].to_list() == [48]


@st.composite
def paid_lines(draw, periods: pl.DataFrame) -> pl.DataFrame:
    """Lines already paid (some months, random amounts): what the bank did not return."""
    months = months_between(FIRST, LAST)
    rows = []
    for eid in periods["enrollment_id"].unique().to_list():
        for m in draw(st.lists(st.sampled_from(months), max_size=6, unique=True)):
            rows.append((eid, m, draw(st.integers(0, 3_000_000))))
    return pl.DataFrame(rows, schema=PAID_MONTH_SCHEMA, orient="row")


@settings(max_examples=80, deadline=None)
@given(st.data(), enrollments(), rules, rules)
def test_an_opening_balance_gives_the_lines_of_the_whole_history(data, periods, start,
                                                                  stop) -> None:
    """结转: the balance carried to any month S, used as the opening of any later month M,
    gives exactly the lines that summing everything since the first month gives — whatever
    was paid, before or after S — and carrying it on from S to a later S2 gives the balance
    computed at S2 directly."""
    paid = data.draw(paid_lines(periods))
    months = months_between(FIRST, LAST)
    m_index = data.draw(st.integers(1, len(months) - 1))
    month = months[m_index]
    settled = months[data.draw(st.integers(0, m_index - 1))]
    _, at_s = roster_with_balances(periods, paid, settled, FIRST, start, stop, None, settled)
    assert (at_s["settled_month"] == settled).all()
    opening = at_s.select("enrollment_id",
                          pl.lit(months[months.index(settled) + 1]).alias("from_month"),
                          "balance_fen")
    # a few enrollments without a balance: summed from the first month, in the same call
    dropped = data.draw(st.lists(st.sampled_from(opening["enrollment_id"].to_list() or [0]),
                                 max_size=2))
    opening = opening.filter(~pl.col("enrollment_id").is_in(dropped))
    expected = roster(periods, paid, month, FIRST, start, stop)
    got = roster(periods, paid, month, FIRST, start, stop, opening=opening)
    assert_frame_equal(got, expected)
    # carried further, the balance is the one computed directly
    later = months[data.draw(st.integers(months.index(settled), m_index - 1))]
    _, direct = roster_with_balances(periods, paid, month, FIRST, start, stop, None, later)
    lines, carried = roster_with_balances(periods, paid, month, FIRST, start, stop, opening,
                                          later)
    assert_frame_equal(lines, expected)
    assert_frame_equal(carried, direct)
    # the balance at S is the sum of what was due up to S less what was paid up to S
    due = due_by_month(periods, months_between(FIRST, settled), start, stop)
    check = (due.group_by("enrollment_id").agg(pl.col("due_fen").sum())
             .join(paid.filter(pl.col("month") <= settled).group_by("enrollment_id")
                   .agg(pl.col("paid_fen").sum()), on="enrollment_id", how="left")
             .fill_null(0).join(at_s, on="enrollment_id"))
    assert (check["due_fen"] - check["paid_fen"] == check["balance_fen"]).all()
    assert check.height == at_s.height == periods["enrollment_id"].n_unique()


def test_an_opening_later_than_the_month_or_without_line_months_is_refused() -> None:
    periods = pl.DataFrame([(1, dt.date(2026, 1, 1), None, 100)], schema=PERIOD_SCHEMA,
                           orient="row")
    opening = pl.DataFrame([(1, dt.date(2026, 3, 1), 0)], schema=OPENING_SCHEMA, orient="row")
    with pytest.raises(ValueError):
        roster(periods, pl.DataFrame(schema=PAID_MONTH_SCHEMA), dt.date(2026, 2, 1),
               dt.date(2026, 1, 1), opening=opening)
    with pytest.raises(ValueError):
        roster(periods, pl.DataFrame(schema=PAID_SCHEMA), dt.date(2026, 3, 1),
               dt.date(2026, 1, 1), opening=opening)
    lines = roster(periods, pl.DataFrame(schema=PAID_MONTH_SCHEMA), dt.date(2026, 3, 1),
                   dt.date(2026, 1, 1), opening=opening.with_columns(pl.lit(-250).alias(
                       "balance_fen")))
    # an overpayment of 250 carried in: March's 100 is recovered, nothing is paid
    assert lines.select("total_fen", "recovery_fen").rows() == [(0, 100)]

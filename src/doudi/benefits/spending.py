"""资金使用: monthly spending by programme and town against the year's budget, from the payment
lines themselves (paid, and what is still pending at the bank), so the figures a district
reports upward always equal the rosters.

One-off aid (临时救助) is summed from its own records: the one-off payments (paid in the month
they were paid; owed or on its way to the bank in the month it was granted) and the 先行救助
the towns paid from their reserve funds for a case (less what came back), so a case's money
is counted once whichever way it went."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from django.utils import timezone

from doudi.benefits.models import Budget, OneOffPayment, PaymentLine
from doudi.core.shares import share_bp


@dataclass
class Spending:
    by_month: pl.DataFrame  # month, programme, town, paid_fen, pending_fen, lines
    by_programme: pl.DataFrame  # programme, town, paid_fen, pending_fen, budget_fen, share_bp


def spending(prefix: str, year: int) -> Spending:
    rows = list(PaymentLine.objects.filter(area_code__startswith=prefix, month__year=year)
                .exclude(status__in=PaymentLine.UNPAID)
                .values_list("month", "enrollment__programme", "area_code", "status",
                             "total_fen"))
    rows += one_off_rows(prefix, year)
    frame = pl.DataFrame(rows, schema={"month": pl.Date, "programme": pl.String,
                                       "area": pl.String, "status": pl.String,
                                       "total": pl.Int64}, orient="row")
    frame = frame.with_columns(pl.col("area").str.slice(0, 9).alias("town"))
    paid = pl.when(pl.col("status") == "paid").then(pl.col("total")).otherwise(0)
    pending = pl.when(pl.col("status") == "pending").then(pl.col("total")).otherwise(0)
    by_month = (frame.group_by("month", "programme", "town")
                .agg(paid.sum().alias("paid_fen"), pending.sum().alias("pending_fen"),
                     pl.len().alias("lines"))
                .sort("month", "town", "programme"))
    budgets = pl.DataFrame(
        list(Budget.objects.filter(year=year, area_code__startswith=prefix)
             .values_list("programme", "area_code", "amount_fen")),
        schema={"programme": pl.String, "area": pl.String, "budget_fen": pl.Int64},
        orient="row").with_columns(pl.col("area").str.slice(0, 9).alias("town"))
    totals = (frame.group_by("programme", "town")
              .agg(paid.sum().alias("paid_fen"), pending.sum().alias("pending_fen")))
    by_programme = (totals.join(budgets.group_by("programme", "town").agg(
        pl.col("budget_fen").sum()), on=["programme", "town"], how="full", coalesce=True)
        .with_columns(pl.col("paid_fen", "pending_fen", "budget_fen").fill_null(0))
        .with_columns(pl.when(pl.col("budget_fen") > 0)
                      .then(share_bp(pl.col("paid_fen") + pl.col("pending_fen"),
                                     pl.col("budget_fen"))).alias("share_bp"))
        .sort("town", "programme"))
    return Spending(by_month, by_programme)


def one_off_rows(prefix: str, year: int) -> list[tuple]:
    """(month, programme, area, paid | pending, fen) of one-off aid in `year`: the payments
    and the reserve-fund advances of the cases."""
    from doudi.casework.models import FundEntry

    rows: list[tuple] = [
        (paid_on.replace(day=1), programme, area, "paid", fen)
        for paid_on, programme, area, fen in OneOffPayment.objects.filter(
            area_code__startswith=prefix, status=OneOffPayment.PAID, paid_on__year=year)
        .values_list("paid_on", "programme", "area_code", "amount_fen")]
    rows += [
        (granted_on.replace(day=1), programme, area, "pending", fen)
        for granted_on, programme, area, fen in OneOffPayment.objects.filter(
            area_code__startswith=prefix, granted_on__year=year,
            status__in=(OneOffPayment.DUE, *OneOffPayment.PENDING))
        .values_list("granted_on", "programme", "area_code", "amount_fen")]
    # a fund's entries carry the town's code; the case's programme is the application's
    advances = FundEntry.objects.filter(
        area_code__startswith=prefix[:9], application__area_code__startswith=prefix,
        kind__in=(FundEntry.PAYOUT, FundEntry.RETURN), recorded_at__year=year,
    ).values_list("recorded_at", "application__programme", "area_code", "amount_fen")
    rows += [(timezone.localtime(at).date().replace(day=1), programme, area, "paid", -fen)
             for at, programme, area, fen in advances]
    return rows

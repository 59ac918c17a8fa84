"""结转余额: each enrollment's balance carried to a settled month, so that a month's roster sums
only the months since — its cost does not grow with the months a district has been paying.

What a balance is. `SettledBalance(enrollment, month S, balance B, first_month F, start_rule,
stop_rule)`: B = Σ due of the months F … S (from the enrollment's events, with those rules)
− Σ its lines of the months F … S that moved money (not failed, not held). The roster of a
month M > S then owes B + Σ due of S+1 … M − Σ its lines after S not failed or held: the
amount the whole history gives (`doudi.engine.payments.roster`), as long as B still equals
its definition. A balance is used only for the first month and the rules it was made with
(`usable`); otherwise the roster sums the whole history and writes a new one.

When it advances. When the bank's answer for a run of month M is read (`bank_result`),
`services.settle_run` carries the balances of the run's area through M (unless a later
month's run exists), so month M + 1's roster starts from them and sums that month alone:
its cost is month 1's, however long the district has been paying. Without an answer (a
district that does not read them back, or builds M + 1 first) `build_run` of month M + 1
carries them through M itself, in the same transaction as its lines. Either way only the
balances that moved are written (`store`). The line of the month being built stays
outside: the run is a draft that may be rebuilt, held back at approval or returned by the
bank; the lines of settled months can only change by the paths below.

What clears it (simple and exact rather than clever: a cleared enrollment's next roster sums
its whole history once and settles it again):

* a line of a month ≤ S that stops or starts counting, or disappears — the bank returns it
  (`bank_files.bank_result`), it is held back for want of an account (`services.hold`, at
  approval or when the bank file is written), a draft run is rebuilt or deleted — goes
  through `forget_lines`. A new path that releases a held line, deletes a run or writes
  lines must call it too;
* a line of a month ≤ S being written: only `build_run` of such a month does that, and it
  neither uses a balance that is not before its month nor leaves one (it rewrites it to
  M − 1, from the whole history);
* an event (`forget_for_event`, from `EnrollmentEvent.save`, so every path that records one):
  an event dated d changes the due of no month before the one holding d − 1 day
  (`roster.first_month_changed` says why), so a balance settled through an earlier month
  stays; any other event after a stop may reopen a stopped enrollment, changing the stop's
  month however long ago, and always clears, as does an event edited in place. So a 1 July
  standard rise recorded in June keeps every balance; recorded in August, back-dated, it
  clears them all, and that one roster sums the whole history again. `bulk_create`
  bypasses save(): it is used only to create new enrollments, which have no balance yet;
* other months or rules: a roster for a month ≤ S, with another first month (a run built
  for an earlier month than the first) or with other start/stop rules (a dated
  `benefits.start_rule` / `stop_rule`: the whole history is recomputed with the rule of the
  month built, as it always was) does not use it, and rewrites it.
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from django.db import connection
from django.db.models import Case, Exists, F, Q, QuerySet, When
from django.db.models.expressions import Combinable

from doudi.benefits.models import EnrollmentEvent, PaymentLine, PaymentRun, SettledBalance
from doudi.engine.payments import roster

# fewer enrollments than this without a usable balance are read by id (the lines' index on
# enrollment); more, by one scan of every line since the first month
BY_ID_LIMIT = 50_000
CHUNK = 10_000  # ids per query: well inside SQLite's limit on bound variables


def usable(month: dt.date, first: dt.date, start_rule: str, stop_rule: str) -> Q:
    """The balances a roster of `month` may start from."""
    return Q(month__lt=month, first_month=first, start_rule=start_rule, stop_rule=stop_rule)


def openings(ids, month: dt.date, first: dt.date, start_rule: str,  # noqa: ANN001
             stop_rule: str) -> pl.DataFrame:
    """The usable balances of the enrollments `ids` (a subquery), as the roster's opening
    (OPENING_SCHEMA: the months summed start the month after the balance's)."""
    rows = (SettledBalance.objects.filter(usable(month, first, start_rule, stop_rule),
                                          enrollment_id__in=ids)
            .order_by().values_list("enrollment_id", "month", "balance_fen"))
    frame = read_frame(rows, {"enrollment_id": pl.Int64, "month": pl.Date,
                              "balance_fen": pl.Int64})
    return frame.select("enrollment_id", pl.col("month").dt.offset_by("1mo").alias("from_month"),
                        "balance_fen")


def paid_lines(ids, opening: pl.DataFrame, computed: pl.Series,  # noqa: ANN001
               first: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(opening, paid lines) for a roster: the lines that moved money (PAID_MONTH_SCHEMA) that
    the roster needs, read without the history the balances already hold.

    Most balances are settled through the same month S (the month before the last roster):
    for them one query reads the lines after S (a run's few months, found by its index).
    A balance settled earlier is dropped from the opening (its enrollment's history is summed
    instead, exactly as without it): one stale enrollment must not make everyone read back
    to it. The enrollments of `computed` (those with events) without an opening read their
    lines since `first`, by id when they are few."""
    counted = (PaymentLine.objects.exclude(status__in=PaymentLine.UNPAID).order_by()
               .annotate(paid_fen=counted_amount(first)))
    columns = ("enrollment_id", "month", "paid_fen")
    parts: list[pl.DataFrame] = []
    if opening.height:
        common = opening.group_by("from_month").len().sort("len", "from_month").row(-1)[0]
        opening = opening.filter(pl.col("from_month") >= common)
        # the runs first, as a list: their lines are found by the run's index (usually
        # there are none: the month being built has no lines yet)
        runs = list(PaymentRun.objects.filter(month__gte=common).values_list("id", flat=True))
        if runs:
            recent = counted.filter(month__gte=common, run_id__in=runs, enrollment_id__in=ids)
            parts.append(_frame(recent.values_list(*columns))
                         .join(opening.select("enrollment_id"), on="enrollment_id",
                               how="semi"))
    rest = computed.filter(~computed.is_in(opening["enrollment_id"].implode()))
    if 0 < rest.len() <= BY_ID_LIMIT:
        values = rest.sort().to_list()
        for start in range(0, len(values), CHUNK):
            parts.append(_frame(counted.filter(
                month__gte=first, enrollment_id__in=values[start:start + CHUNK])
                .values_list(*columns)))
    elif rest.len():
        parts.append(_frame(counted.filter(month__gte=first, enrollment_id__in=ids)
                            .values_list(*columns))
                     .join(opening.select("enrollment_id"), on="enrollment_id", how="anti"))
    paid = pl.concat(parts) if parts else pl.DataFrame(schema=roster.PAID_MONTH_SCHEMA)
    return opening, paid


def counted_amount(first: dt.date) -> Combinable:
    """What a line counts as having paid for its month: its total, except a line of a month
    the old system paid (an imported run, `doudi.golive.history`), which counts its regular
    amount. The old system's own 补发 and 扣减 settled months before the history or its own
    changes within it; the history's amounts are the events' (the import makes them so), so
    an unchanged case owes nothing for those months and a change reaching back into them
    owes exactly the difference. No imported run since `first`: the plain total."""
    imported = PaymentRun.objects.filter(imported=True, month__gte=first)
    if not imported.exists():
        return F("total_fen")
    return Case(When(run_id__in=imported.values("id"), then=F("regular_fen")),
                default=F("total_fen"))


def _frame(rows: QuerySet) -> pl.DataFrame:
    return read_frame(rows, roster.PAID_MONTH_SCHEMA)


def read_frame(rows: QuerySet, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A `values_list` query's rows as a frame with `schema` (its columns in order). On
    PostgreSQL by COPY … TO STDOUT: a million rows arrive as CSV in a fraction of the time
    Python tuples take; elsewhere from the rows."""
    if connection.vendor != "postgresql":
        return pl.DataFrame(list(rows), schema=schema, orient="row")
    sql, params = rows.query.sql_with_params()
    out = io.BytesIO()
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        for chunk in copy:
            out.write(chunk)
    if not out.tell():
        return pl.DataFrame(schema=schema)
    return pl.read_csv(out.getvalue(), has_header=False, schema=schema)


def store(balances: pl.DataFrame, first: dt.date, start_rule: str, stop_rule: str) -> None:
    """Write (or replace) the balances (BALANCE_SCHEMA) made with `first` and the rules.
    Inside the caller's transaction. On PostgreSQL: COPY into a temporary table, one UPDATE
    of the rows there are (the table keeps half of each page free — migration 0013 — so a
    row's new version goes on its own page without touching the index: a month's rewrite
    costs about what the first month's insert does) and one INSERT of the new ones; bulk
    upserts elsewhere."""
    if not balances.height:
        return
    if connection.vendor != "postgresql":
        SettledBalance.objects.bulk_create(
            (SettledBalance(enrollment_id=eid, month=month, balance_fen=balance,
                            first_month=first, start_rule=start_rule, stop_rule=stop_rule)
             for eid, month, balance in balances.iter_rows()),
            batch_size=5000, update_conflicts=True, unique_fields=["enrollment"],
            update_fields=["month", "balance_fen", "first_month", "start_rule", "stop_rule"])
        return
    table = SettledBalance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS doudi_settled_new (enrollment_id "
                       "bigint PRIMARY KEY, month date, balance_fen bigint) "
                       "ON COMMIT DELETE ROWS")
        with cursor.cursor.copy("COPY doudi_settled_new FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, balances.height, 200_000):
                copy.write(balances.slice(start, 200_000).write_csv(include_header=False))
        cursor.execute("ANALYZE doudi_settled_new")
        basis = [first, start_rule, stop_rule]
        cursor.execute(
            f"UPDATE {table} t SET month = n.month, balance_fen = n.balance_fen, "
            "first_month = %s, start_rule = %s, stop_rule = %s FROM doudi_settled_new n "
            "WHERE t.enrollment_id = n.enrollment_id", basis)
        updated = cursor.rowcount
        if updated < balances.height:
            # the rows not updated; not `NOT EXISTS` on the table being filled, which an
            # empty table's statistics turn into a scan of it for every row
            cursor.execute(
                f"INSERT INTO {table} (enrollment_id, month, balance_fen, first_month, "
                "start_rule, stop_rule) SELECT n.enrollment_id, n.month, n.balance_fen, %s, "
                "%s, %s FROM doudi_settled_new n"
                + (" ON CONFLICT (enrollment_id) DO NOTHING" if updated else ""), basis)
            # many new rows: statistics, so the next roster's read of them is planned as
            # the million rows it is
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("DELETE FROM doudi_settled_new")


def _clear(rows: QuerySet[SettledBalance]) -> int:
    """Delete `rows` in one statement (derived rows: no objects loaded, no signals)."""
    sql, params = rows.order_by().values("enrollment_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SettledBalance._meta.db_table} WHERE enrollment_id IN "
                       f"({sql})", params)
        return cursor.rowcount


def forget_lines(lines: QuerySet[PaymentLine]) -> int:
    """Clear the balances that count `lines` (settled through their month or later): called
    before or after the lines stop or start moving money, or are deleted. Returns how many."""
    cleared = 0
    for month in set(lines.order_by().values_list("month", flat=True).distinct()):
        cleared += _clear(SettledBalance.objects.filter(
            month__gte=month,
            enrollment_id__in=lines.filter(month=month).order_by().values("enrollment_id")))
    return cleared


def forget_for_event(event: EnrollmentEvent, *, edited: bool = False) -> int:
    """Clear the enrollment's balance if `event` may change what was due for a month it
    settles (the rule in the module's note). Returns how many (0 or 1)."""
    rows = SettledBalance.objects.filter(enrollment_id=event.enrollment_id)
    if not edited:  # one statement: this runs for every event recorded
        since = roster.first_month_changed(event.kind, event.effective_date, after_stop=False)
        assert since is not None
        reach = Q(month__gte=since)
        if roster.first_month_changed(event.kind, event.effective_date, after_stop=True) is None:
            reach |= Q(Exists(EnrollmentEvent.objects.filter(enrollment_id=event.enrollment_id,
                                                             kind="stop")))
        rows = rows.filter(reach)
    return _clear(rows)

"""花名册明细按月分区: on PostgreSQL `PaymentLine` is a table partitioned by `month`
(migration 0015), one partition per month and a default one for the months that have none.

Why. Each month writes a district's million lines and updates them at approval and when the
bank answers. In one table every index holds every month, and each month's rows land all
over B-trees that grow with history: building month 24 cost twice month 1. With a partition
per month, a month's rows and index entries are their own, so the cost stays flat; reading
one enrollment's history probes one small index per month.

`ensure_month` makes a month's partition before its lines are written (`build_run`). It runs
in its own short transaction where it can (making a partition locks the parent table until
commit). Lines written for a month that has no partition — by a test, an import or an older
path — go to the default partition and stay there: a month whose rows are already in the
default partition gets no partition of its own (PostgreSQL would refuse it), which costs
speed, never correctness. SQLite keeps one plain table.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

TABLE = "benefits_paymentline"
DEFAULT = f"{TABLE}_default"


def name(month: dt.date) -> str:
    return f"{TABLE}_{month:%Y%m}"


def bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = month.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass",
                       [TABLE])
        return cursor.fetchone() is not None


def ensure_month(month: dt.date) -> bool:
    """Make `month`'s partition if the table is partitioned and it has none. Returns whether
    the month has a partition of its own afterwards."""
    if not is_partitioned():
        return False
    start, end = bounds(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name(start)])
        if cursor.fetchone()[0]:
            return True
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE month >= %s "
                       "AND month < %s)", [start, end])
        if cursor.fetchone()[0]:
            return False
        # two builds of the same month may race here: the loser waits on the parent's lock,
        # then finds the partition made
        cursor.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name(start)} PARTITION OF {TABLE} "
                       f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')")
    return True

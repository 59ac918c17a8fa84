"""统计分析 for a closed month and for the month under way: the recount every visit used to
make, the month's close (counted once per village, rolled up to every area, stored), and a
closed month's table read from its snapshot — on a prepared database (bench/load/prepare.py or
bench/load/prepare_province.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_load \
    DOUDI_HOME=/tmp/doudi-load-data/home \
        python bench/statistics_bench.py --month 2026-10 --areas "",44,4401,440103

The month must have closed (the 10th of the following month has passed: run with
`--today YYYY-MM-DD` to move the clock) and is closed again here: its snapshots are deleted
first, so run it on a scratch database only. Prints the median of --repeat timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics as stats
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", required=True, help="YYYY-MM, a closed month")
    parser.add_argument("--areas", default=",34,3410,341002",
                        help="comma-separated area prefixes (an empty one: the whole database)")
    parser.add_argument("--today", default="", help="YYYY-MM-DD: the day the bench runs on")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a scratch PostgreSQL database (doudi_bench…)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django

    django.setup()
    from doudi.core import clock
    from doudi.reports import snapshots, statistics
    from doudi.reports.models import MonthClose, MonthSnapshot

    if args.today:
        day = dt.date.fromisoformat(args.today)
        clock.today = lambda: day  # type: ignore[assignment]
    month = dt.date.fromisoformat(args.month + "-01")
    if not snapshots.is_closed(month):
        raise SystemExit(f"{args.month} has not closed on {clock.today()}: pass --today")
    areas = args.areas.split(",")

    def timed(work) -> tuple[float, object]:
        times, out = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = work()
            times.append((time.perf_counter() - t0) * 1000)
        return stats.median(times), out

    for area in areas:
        ms, table = timed(lambda a=area: statistics.recount(a, month))
        print(f"recount {area or '(all)'}: {ms:.0f} ms, {len(table.rows)} rows", flush=True)
    MonthSnapshot.objects.filter(month=month).delete()
    MonthClose.objects.filter(month=month).delete()
    t0 = time.perf_counter()
    closing = snapshots.close(month)
    print(f"close {args.month}: {time.perf_counter() - t0:.2f} s, {closing.areas} areas",
          flush=True)
    for area in areas:
        ms, table = timed(lambda a=area: statistics.month_table(a, month))
        same = statistics.recount(area, month)
        agree = table.rows == same.rows and table.total == same.total
        print(f"snapshot {area or '(all)'}: {ms:.1f} ms, {len(table.rows)} rows, "
              f"equal to a recount: {agree}", flush=True)


if __name__ == "__main__":
    main()

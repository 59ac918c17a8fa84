"""doudi reports close-month [--month YYYY-MM]

`close-month` freezes the statistics of every month that has closed (its monthly report due,
`reports.snapshots.CLOSE_DAY`) and is not frozen yet, or of the one month given if it has
closed. Run it daily; a month is frozen once, and a closed one never again.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.audit import context
from doudi.core import clock
from doudi.reports import snapshots
from doudi.reports.models import MonthClose


class Command(BaseCommand):
    help = "统计月结：冻结已到报送期限的月份统计 / freeze the statistics of closed months"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        close = sub.add_parser("close-month")
        close.add_argument("--month", default="", help="YYYY-MM（默认：所有已到期未月结的月份）")
        close.add_argument("--months-back", type=int, default=3,
                           help="未指定月份时向前检查的月数（默认 3）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job="reports close-month"))
        today = clock.today()
        if o["month"]:
            try:
                months = [dt.date.fromisoformat(o["month"] + "-01")]
            except ValueError as exc:
                raise CommandError("--month 应为 YYYY-MM，例如 2026-10") from exc
            if not snapshots.is_closed(months[0], today):
                last = snapshots.close_day(months[0])
                raise CommandError(f"{o['month']} 尚未月结：报表报送期限 {last:%Y-%m-%d} 之后"
                                   "方可月结，在此之前仍可补录本月数据")
        else:
            months, month = [], today.replace(day=1)
            for _ in range(o["months_back"]):
                month = (month - dt.timedelta(days=1)).replace(day=1)
                if snapshots.is_closed(month, today):
                    months.append(month)
        for month in sorted(months):
            if MonthClose.objects.filter(month=month).exists():
                self.stdout.write(f"{month:%Y-%m} 已月结，不再改动")
                continue
            started = time.perf_counter()
            closing = snapshots.close(month)
            self.stdout.write(f"{month:%Y-%m} 月结完成：{closing.areas} 个区划，"
                              f"用时 {time.perf_counter() - started:.1f} 秒")

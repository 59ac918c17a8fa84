"""doudi benefits schedule-reviews [--today D]   (run daily: creates the 复核 tasks now due)
doudi benefits reconcile-status [--apply]        (在保状态对账: categories against enrollments)"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandParser

from doudi.audit import context
from doudi.benefits import reviews, status_reconcile
from doudi.core import clock


class Command(BaseCommand):
    help = "保障对象维护 / benefits upkeep"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        s = sub.add_parser("schedule-reviews")
        s.add_argument("--today", type=dt.date.fromisoformat, default=None)
        r = sub.add_parser("reconcile-status", help="救助类别与保障记录对账（默认只报告）")
        r.add_argument("--apply", action="store_true", help="执行补正（终止、补认定）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        if o["action"] == "reconcile-status":
            with context.job("benefits reconcile-status"):
                report = status_reconcile.reconcile(apply=o["apply"])
            for line in report.lines():
                self.stdout.write(line)
            self.stdout.write(f"{'已补正' if o['apply'] else '将补正'}：终止 {len(report.ended)}，"
                              f"补认定 {len(report.opened)}；待核实 {len(report.unsettled)}")
            return
        with context.job("benefits schedule-reviews"):
            n = reviews.schedule(o["today"] or clock.today())
        self.stdout.write(f"新增复核任务 {n} 个")

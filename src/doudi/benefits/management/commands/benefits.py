"""doudi benefits schedule-reviews [--today D]   (run daily: creates the 复核 tasks now due)"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from doudi.audit import context
from doudi.benefits import reviews


class Command(BaseCommand):
    help = "保障对象维护 / benefits upkeep"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        s = sub.add_parser("schedule-reviews")
        s.add_argument("--today", type=dt.date.fromisoformat, default=None)

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        with context.job("benefits schedule-reviews"):
            n = reviews.schedule(o["today"] or timezone.localdate())
        self.stdout.write(f"新增复核任务 {n} 个")

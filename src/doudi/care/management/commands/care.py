"""doudi care tasks [--month YYYY-MM] [--area CODE] | doudi care escalate [--area CODE]

`tasks` generates the visit tasks of the period containing the month (idempotent; run it on
the first of each month); `escalate` moves tasks past their last day up one level (daily).
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.audit import context
from doudi.care import plans, services
from doudi.core import clock


class Command(BaseCommand):
    help = "探访关爱：生成探访任务、逾期升级 / visit tasks and their escalation"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        tasks = sub.add_parser("tasks")
        tasks.add_argument("--month", default="", help="YYYY-MM（默认本月）")
        tasks.add_argument("--area", default="")
        escalate = sub.add_parser("escalate")
        escalate.add_argument("--area", default="")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job=f"care {o['action']}"))
        if o["action"] == "escalate":
            self.stdout.write(f"逾期探访任务升级 {services.escalate_overdue(None, o['area'])} 条")
            return
        try:
            month = (dt.date.fromisoformat(o["month"] + "-01") if o["month"]
                     else clock.today().replace(day=1))
        except ValueError as exc:
            raise CommandError("--month 应为 YYYY-MM") from exc
        out = services.generate_tasks(month, o["area"])
        self.stdout.write(f"新生成 {out.created} 条，已有 {out.existing} 条")
        for code, n in out.by_group.items():
            self.stdout.write(f"  {plans.GROUPS[code].label}：{n}")

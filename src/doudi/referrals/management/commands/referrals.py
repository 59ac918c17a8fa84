"""doudi referrals escalate [--area CODE] [--as-of YYYY-MM-DD]

转介逾期升级: every referral still unanswered after its due date escalates one level (县 → 市
督办) with a new due date (`referrals.services.escalate_overdue`). `doudi monitor --escalate`
does the same in its nightly run.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandParser

from doudi.audit import context
from doudi.referrals import services


class Command(BaseCommand):
    help = "转介：逾期未答复的转介升级督办"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["escalate"], help="escalate：逾期升级")
        parser.add_argument("--area", default="", help="区划代码前缀（默认全部）")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="按哪一天判断逾期（默认今天）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job="referrals escalate"))
        moved = services.escalate_overdue(o["as_of"], o["area"])
        self.stdout.write(f"逾期转介升级 {moved} 条")

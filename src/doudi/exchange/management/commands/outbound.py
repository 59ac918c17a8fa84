"""doudi outbound list | produce (--all | KEY …) [--area CODE …] [--day D] [--full]

推送名单 on a schedule (cron): each list for each district (or the areas given) is produced and
written into the outbox (`DOUDI_OUTBOX`, one folder per department) in the department's layout
— the changes since the last file (新增/变更/退出; everyone the first time), or everyone with
`--full` — and each file is a recorded, audited delivery. A list with no change writes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.areas.models import Area
from doudi.audit import context
from doudi.exchange import outbound, outbound_types
from doudi.exchange.models import OutboundDelivery

DISTRICT_LEVEL = 3


class Command(BaseCommand):
    help = "推送名单 / outbound lists"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list")
        produce = sub.add_parser("produce")
        produce.add_argument("keys", nargs="*", help="名单标识（与 --all 二选一）")
        produce.add_argument("--all", action="store_true", help="全部推送名单")
        produce.add_argument("--area", action="append", default=[],
                             help="区划代码（可多次；默认每个县区）")
        produce.add_argument("--day", type=dt.date.fromisoformat, default=None)
        produce.add_argument("--full", action="store_true", help="全量（默认只写变动）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job=f"outbound {o['action']}"))
        if o["action"] == "list":
            for t in outbound_types.shipped():
                self.stdout.write(f"{t.key:28} {t.department}·{t.name}  {t.selection.describe()}")
            return
        if o["all"] == bool(o["keys"]):
            raise CommandError("请给出名单标识，或用 --all 生成全部推送名单")
        types = list(outbound_types.shipped()) if o["all"] else []
        for key in o["keys"]:
            found = outbound_types.get(key)
            if found is None:
                raise CommandError(f"没有推送名单“{key}”")
            types.append(found)
        areas = [a.strip() for a in o["area"]] or [
            a.prefix for a in Area.objects.filter(level=DISTRICT_LEVEL).order_by("code")]
        if any(not a.isdigit() for a in areas):
            raise CommandError("区划代码应为数字")
        kind = OutboundDelivery.FULL if o["full"] else OutboundDelivery.CHANGES
        for t in types:
            for area in areas:
                done = outbound.deliver(t, area, channel=OutboundDelivery.SCHEDULE, kind=kind,
                                        day=o["day"], write=True, skip_unchanged=True)
                if done is None:
                    self.stdout.write(f"{t} {area}：无变动")
                    continue
                d = done.delivery
                self.stdout.write(f"{t} {area}：{d.persons} 人（新增 {d.added}、变更 {d.changed}、"
                                  f"退出 {d.removed}；名单 {d.total} 人）→ {d.file_path}")

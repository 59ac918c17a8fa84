"""doudi feeds list | load-shipped | load FILE.yaml | purge [--today D] | token USERNAME

Feed types (数据接口类型) and their upkeep: list them, refresh the shipped ones after an upgrade,
load a district's own from YAML/JSON, purge unmatched rows past their retention, and issue a
long-lived API token for a department account.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from doudi.audit import context
from doudi.engine.feeds.feedspec import FeedSpecError
from doudi.exchange import feed_types
from doudi.exchange.models import FeedType


class Command(BaseCommand):
    help = "数据接口类型维护 / feed types"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list")
        sub.add_parser("load-shipped")
        load = sub.add_parser("load")
        load.add_argument("file", type=Path)
        purge = sub.add_parser("purge")
        purge.add_argument("--today", type=dt.date.fromisoformat, default=None)
        token = sub.add_parser("token")
        token.add_argument("username")
        token.add_argument("--days", type=int, default=365)

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job=f"feeds {o['action']}"))
        if o["action"] == "list":
            for ft in FeedType.objects.all():
                spec = ft.parsed()
                self.stdout.write(f"{ft.key:24} {ft.department}·{ft.name}  "
                                  f"{len(spec.fields)} 列  批次 {ft.batches.count()}"
                                  f"{'' if ft.is_active else '  （停用）'}")
        elif o["action"] == "load-shipped":
            self.stdout.write(f"更新系统提供的数据接口类型 {feed_types.load_shipped()} 个")
        elif o["action"] == "load":
            try:
                docs = feed_types.read_documents(o["file"].read_text(encoding="utf-8"),
                                                 o["file"].name)
                with transaction.atomic():  # all the file's types, or none of them
                    rows = [feed_types.save(d) for d in docs]
            except (FeedSpecError, OSError) as exc:
                raise CommandError(str(exc)) from exc
            except UnicodeDecodeError as exc:
                raise CommandError("文件应为 UTF-8 编码的 YAML/JSON") from exc
            self.stdout.write("已保存：" + "、".join(str(r) for r in rows))
        elif o["action"] == "purge":
            from doudi.exchange.retention import purge_unmatched

            report = purge_unmatched(o["today"])
            self.stdout.write(f"清除未匹配人员数据：批次 {report.batches} 个，行 {report.rows} 行；"
                              f"重新匹配到人员 {report.rematched} 行；清除失败导入的上传文件 "
                              f"{report.uploads} 个")
        elif o["action"] == "token":
            from doudi.exchange.department_api import issue_department_token

            try:
                token = issue_department_token(o["username"], days=o["days"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(token)

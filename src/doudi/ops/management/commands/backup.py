"""doudi backup [--out DIR|FILE] [--keep N] — the database, the uploaded files and a manifest
in one archive named by the time (`doudi.ops.backup`); prints its path and size. The
encryption key file is never in it: it is backed up separately."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.ops import backup


class Command(BaseCommand):
    help = "备份数据库与上传文件 / back up the database and the uploaded files"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", help="备份目录或文件名（默认 DOUDI_HOME/backups/）")
        parser.add_argument("--keep", type=int, default=0,
                            help="只保留该目录中最新的 N 份备份（默认不删除）")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["keep"] < 0:
            raise CommandError("--keep 不能为负数")
        try:
            made = backup.create(o["out"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        m = made.manifest
        files = sum(m["files"].values())
        self.stdout.write(f"备份完成：{made.path}")
        self.stdout.write(
            f"大小 {backup.human_size(made.size)}（{made.size:,} 字节），"
            f"{backup.VENDOR_LABEL[m['database']['vendor']]} 数据库 {len(m['row_counts'])} 张表，"
            f"上传文件 {files:,} 个，用时 {made.seconds:.1f} 秒")
        self.stdout.write(f"SHA-256 {made.sha256}（另存于 {made.path.name}.sha256）")
        self.stdout.write("注意：" + backup.KEY_FILE_NOTE)
        if o["keep"]:
            for old in backup.prune(Path(made.path).parent, o["keep"]):
                self.stdout.write(f"已删除旧备份 {old.name}")

"""doudi restore ARCHIVE [--yes] [--check] — verify an archive of `doudi backup` against its
manifest (a damaged one is refused before anything is touched), restore the database and the
uploaded files, migrate, and compare the row counts with the manifest. `--check` only
verifies (an off-site copy, the monthly drill)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.ops import backup


class Command(BaseCommand):
    help = "从备份恢复数据库与上传文件 / restore the database and files from a backup"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="doudi backup 生成的 .tar 文件")
        parser.add_argument("--yes", action="store_true",
                            help="目标数据库不是空的时，确认覆盖")
        parser.add_argument("--check", action="store_true", help="只校验备份文件，不恢复")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            if o["check"]:
                m = backup.verify(o["archive"])
                self.stdout.write(
                    f"校验通过：{len(m['members'])} 个文件与清单一致；备份于 {backup.when(m)}，"
                    f"兜底 {m.get('doudi_version')}，"
                    f"{backup.VENDOR_LABEL.get(m['database']['vendor'], '')} 数据库，"
                    f"上传文件 {sum(m['files'].values()):,} 个")
                return
            done = backup.restore(o["archive"], yes=o["yes"], log=self.stdout.write)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        for aside in done.set_aside:
            self.stdout.write(f"原有文件目录已移到 {aside}（核对无误后可删除）")
        if done.migrations_applied:
            self.stdout.write(f"已补做数据库迁移 {len(done.migrations_applied)} 个："
                              + "、".join(done.migrations_applied))
        self.stdout.write("行数核对（备份时 → 恢复后）：")
        for table, label in backup.key_tables().items():
            if table in done.counts:
                before, after = done.counts[table]
                mark = "" if before == after else "  ← 不一致"
                self.stdout.write(f"  {label}：{before:,} → {after:,}{mark}")
        others = {t: c for t, c in done.mismatched.items() if t not in backup.key_tables()}
        for table, (before, after) in others.items():
            self.stdout.write(f"  {table} {before:,} → {after:,}  ← 不一致")
        if done.mismatched:
            self.stdout.write(f"{len(done.mismatched)} 张表行数与备份时不同"
                              + ("（补做的迁移可能增删了数据）" if done.migrations_applied else ""))
        else:
            self.stdout.write(f"全部 {len(done.counts)} 张表的行数与备份时一致")
        self.stdout.write(f"恢复完成，用时 {done.seconds:.1f} 秒")

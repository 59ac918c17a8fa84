"""doudi keys init | status | rotate [--batch N] [--new-key] | retire KID

密钥管理 for the encrypted columns (docs/key-management.md):
`init` creates the key file if there is none; `status` counts each column's rows per key;
`rotate` adds a new current key and re-encrypts every row under it in batches, one transaction
each — run it again after an interruption and it finishes the same rotation (rows already under
the new key are skipped) instead of starting another; `retire` removes a key no row uses.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, connection

from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import crypto
from doudi.registry import encryption
from doudi.registry.fields import STORE


class Command(BaseCommand):
    help = "加密密钥管理：生成、查看、轮换、退役 / encryption keys: init, status, rotate, retire"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("init", help="没有密钥文件时生成 / create the key file if missing")
        sub.add_parser("status", help="各加密列按密钥统计行数 / rows per key in every column")
        rotate = sub.add_parser("rotate", help="生成新密钥并重新加密全部数据 / new key, "
                                               "re-encrypt everything (rerun to resume)")
        rotate.add_argument("--batch", type=int, default=encryption.BATCH,
                            help=f"每批行数（默认 {encryption.BATCH}），每批一个事务")
        rotate.add_argument("--new-key", action="store_true",
                            help="上次轮换未完成也再生成一个新密钥（如当前密钥已泄露）")
        retire = sub.add_parser("retire", help="删除已无数据使用的旧密钥 / remove an unused key")
        retire.add_argument("kid")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        try:
            with context.job(f"keys {o['action']}"):
                getattr(self, o["action"])(o)
        except crypto.CryptoError as exc:
            raise CommandError(str(exc)) from exc

    def init(self, o: dict) -> None:
        existed = STORE.path.exists()
        ring = STORE.refresh()
        self.stdout.write(f"密钥文件 {STORE.path}：{'已存在' if existed else '已生成'}，"
                          f"当前密钥 {ring.current}，共 {len(ring.keys)} 个")
        if not existed:
            self.stdout.write("请立即将密钥文件备份到与数据库备份分开的地方"
                              "（见 docs/key-management.md）")

    def status(self, o: dict) -> None:
        ring = STORE.refresh()
        self.stdout.write(f"密钥文件 {STORE.path}，当前密钥 {ring.current}，"
                          f"已知密钥 {', '.join(sorted(ring.keys))}")
        for s in encryption.status(connection, ring):
            keys = "，".join(f"{k} {n}" for k, n in s.by_key.items() if n) or "无数据"
            other = f"，未加密或未知密钥 {s.other}" if s.other else ""
            self.stdout.write(f"{s.column.table}.{s.column.column}：{keys}，空 {s.empty}{other}")

    def rotate(self, o: dict) -> None:
        if o["batch"] < 1:
            raise CommandError("--batch 应为正整数")
        ring = STORE.refresh()
        behind = sum(n for s in encryption.status(connection, ring)
                     for k, n in s.by_key.items() if k != ring.current)
        if behind and not o["new_key"]:
            self.stdout.write(f"上次轮换未完成：继续将 {behind} 行重新加密为密钥 {ring.current}")
        else:
            ring = ring.with_new_key()
            STORE.save(ring)  # running processes re-read the file within seconds
            audit.record(AuditEvent.UPDATE, object_type="keys", object_label="生成新加密密钥",
                         changes={"current_key": ring.current})
            self.stdout.write(f"已生成新密钥 {ring.current} 并设为当前密钥")
        for col in encryption.columns():
            self._reencrypt(col, ring, o["batch"])
        self._finish(ring)

    def _reencrypt(self, col: encryption.Column, ring: crypto.KeyRing, batch: int) -> None:
        done = 0

        def after_batch(n: int) -> None:
            nonlocal done
            done += n
            if n:
                audit.record(AuditEvent.UPDATE, object_type=col.label,
                             object_label=f"密钥轮换：重新加密 {col.column}",
                             changes={"column": col.column, "rows": n, "key": ring.current})
            self.stdout.write(f"{col.table}.{col.column}：已重新加密 {done} 行")
            self.stdout.flush()

        try:
            encryption.reencrypt(connection, col, ring, batch=batch, after_batch=after_batch)
        except IntegrityError as exc:
            raise CommandError(
                f"{col.table}.{col.column} 重新加密时违反唯一约束：轮换期间登记了重复数据，"
                f"请核查后再次运行 / duplicate value registered during the rotation: {exc}"
            ) from exc

    def _finish(self, ring: crypto.KeyRing) -> None:
        left = {k: n for s in encryption.status(connection, ring)
                for k, n in s.by_key.items() if k != ring.current and n}
        if any(left.values()):
            self.stdout.write(f"仍有数据未使用新密钥（轮换期间有新写入）：{left}；请再次运行 "
                              "doudi keys rotate")
            return
        old = sorted(k for k in ring.keys if k != ring.current)
        self.stdout.write(f"轮换完成：全部数据已使用密钥 {ring.current}。")
        if old:
            self.stdout.write(
                f"旧密钥 {', '.join(old)} 已无数据使用；在仍需恢复的旧数据库备份过期后，"
                f"可执行 doudi keys retire <密钥编号> 将其退役（密钥备份中保留至那时）。")

    def retire(self, o: dict) -> None:
        ring, kid = STORE.refresh(), o["kid"]
        if kid not in ring.keys:
            raise CommandError(f"密钥文件中没有 {kid}")
        used = sum(s.by_key.get(kid, 0) for s in encryption.status(connection, ring))
        if used:
            raise CommandError(f"仍有 {used} 行数据使用密钥 {kid}，请先执行 doudi keys rotate")
        STORE.save(ring.without(kid))
        audit.record(AuditEvent.UPDATE, object_type="keys", object_label="退役加密密钥",
                     changes={"retired_key": kid})
        self.stdout.write(f"密钥 {kid} 已从密钥文件删除；仍需恢复的旧数据库备份须使用含该密钥的"
                          "密钥备份")

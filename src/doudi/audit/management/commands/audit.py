"""doudi audit verify [--from-seq N] [--anchor SEQ:HASH] [--grace MIN] | doudi audit seal |
doudi audit head | doudi audit person <身份证号> [--out FILE.xlsx]

`verify` walks the audit log's hash chain (see doudi/audit/chain.py) and exits 1 at any break;
it only reads. `seal` chains rows left unsealed (a process that died between its commit and
its seal; the next audited commit does the same). `head` prints the anchor to keep off the
machine; `person` is 个人信息查阅.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from doudi.audit import chain, context, personal_access
from doudi.audit.models import AuditEvent
from doudi.core import idnumber

HEAD_HELP = """打印最新一条已封存审计记录的链序号与哈希，即“锚点”。

审计日志是一条哈希链：每条记录的哈希包含上一条的哈希。
能写数据库的人可以改动记录后把其后所有哈希重算一遍，
因此须把锚点保存在本机以外、他人改不到的地方，例如：
  - 每日由定时任务把本命令的输出发到审计管理员的邮箱；
  - 打印后签字归档；
  - 报送上级部门或存入另一台服务器。
日后运行
  doudi audit verify --anchor 链序号:哈希
即可证明该条记录及其之前的全部记录自保存锚点以来未被改动、删除或插入。"""

VERIFY_HELP = """按链序号顺序逐条核验审计日志哈希链（分批读取，记录再多内存也不增长）。

审计记录随业务一起提交，提交后立即“封存”入链。报告每一处断点：内容被改动、
记录被删除（链条断开）、插入的记录，以及超过宽限时间仍未封存的记录（未封存）。
本命令只读不写；未封存的记录可用 doudi audit seal 封存。
退出码：链条完整为 0；发现任何断点为 1；参数错误为 2。可用于定时任务与监控告警。"""

SEAL_HELP = """把已提交但尚未入链的审计记录按编号顺序封存入链。

正常情况下每次提交后会自动封存；写入进程在提交后、封存前中断时会留下未封存的记录，
下一次有审计记录的提交会一并封存，系统空闲时也可运行本命令。"""


def _anchor(text: str) -> tuple[int, str]:
    number, _, digest = text.partition(":")
    if not number.isdigit() or len(digest) != 64:
        raise CommandError("--anchor 应为 链序号:哈希（doudi audit head 的输出）", returncode=2)
    return int(number), digest.lower()


class Command(BaseCommand):
    help = ("审计日志：核验防篡改哈希链、封存、打印锚点、个人信息查阅 / "
            "audit log chain and access")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        raw = argparse.RawDescriptionHelpFormatter
        verify = sub.add_parser("verify", help="核验审计日志哈希链", description=VERIFY_HELP,
                                formatter_class=raw)
        verify.add_argument("--from-seq", type=int, default=0,
                            help="从该链序号起核验（含与上一条的衔接）；默认从头")
        verify.add_argument("--anchor", default="",
                            help="链序号:哈希，核对此前保存的锚点（见 doudi audit head）")
        verify.add_argument("--batch", type=int, default=5000, help="每批读取条数")
        verify.add_argument("--grace", type=int, default=int(chain.GRACE.total_seconds() // 60),
                            help="记录提交后多少分钟仍未封存即报告（默认 %(default)s）")
        sub.add_parser("seal", help="封存尚未入链的审计记录", description=SEAL_HELP,
                       formatter_class=raw)
        sub.add_parser("head", help="打印最新审计记录的编号与哈希（锚点）", description=HEAD_HELP,
                       formatter_class=raw)
        person = sub.add_parser("person", help="个人信息查阅：某人的信息及其被查阅、修改的记录")
        person.add_argument("id_number", help="身份证号")
        person.add_argument("--out", default="", help="写入 Excel 文件（.xlsx）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        if o["action"] == "verify":
            if o["grace"] < 0:
                raise CommandError("--grace 不能为负数", returncode=2)
            self._verify(o["from_seq"], _anchor(o["anchor"]) if o["anchor"] else None,
                         o["batch"], dt.timedelta(minutes=o["grace"]))
        elif o["action"] == "seal":
            self.stdout.write(f"已封存 {chain.seal_pending()} 条审计记录")
        elif o["action"] == "head":
            self._head()
        else:
            self._person(o["id_number"], o["out"])

    def _verify(self, from_seq: int, anchor: tuple[int, str] | None, batch: int,
                grace: dt.timedelta) -> None:
        result = chain.verify(AuditEvent, from_seq=from_seq, anchor=anchor, batch=max(batch, 1),
                              grace=grace)
        span = (f"（链序第 {result.first_seq} 条至第 {result.last_seq} 条）"
                if result.first_seq is not None else "")
        self.stdout.write(f"已核验审计记录 {result.checked} 条{span}")
        if result.unsealed_recent:
            self.stdout.write(f"另有 {result.unsealed_recent} 条刚提交、尚未封存（在宽限时间内）")
        if result.anchor_checked and result.ok:
            self.stdout.write(f"锚点第 {anchor[0]} 条相符")  # type: ignore[index]
        if result.ok:
            self.stdout.write(self.style.SUCCESS("哈希链完整，未发现改动、删除或插入"))
            return
        shown = result.breaks[:20]
        self.stdout.write(self.style.ERROR(f"发现断点 {len(result.breaks)} 处，"
                                           f"首个断点：{result.breaks[0]}"))
        for b in shown:
            self.stdout.write(f"  {b}")
        if len(result.breaks) > len(shown):
            self.stdout.write(f"  ……另有 {len(result.breaks) - len(shown)} 处未列出")
        self.stdout.flush()
        sys.exit(1)

    def _head(self) -> None:
        top = chain.head(AuditEvent)
        if top is None:
            self.stdout.write("审计日志为空")
            return
        seq, rid, digest, at = top
        self.stdout.write(f"最新已封存审计记录：链序第 {seq} 条（记录编号 {rid}），"
                          f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S}")
        unsealed = AuditEvent.objects.filter(chain_seq__isnull=True).count()
        self.stdout.write(f"共 {AuditEvent.objects.count()} 条，其中未封存 {unsealed} 条")
        self.stdout.write(f"锚点：{seq}:{digest}")

    def _person(self, raw_id: str, out: str) -> None:
        from doudi.registry.models import Person

        try:
            id_number = idnumber.parse(raw_id).id_number
        except idnumber.InvalidIdNumber as exc:
            raise CommandError(f"身份证号无效：{exc}") from exc
        person = Person.objects.filter(id_number=id_number).first()
        if person is None:
            raise CommandError("未找到该身份证号的人员")
        action = AuditEvent.EXPORT if out else AuditEvent.VIEW_FULL
        with context.job("audit person"):
            rep = personal_access.report(person, by=personal_access.SYSTEM, action=action)
        if out:
            path = Path(out)
            path.write_bytes(personal_access.to_xlsx(rep))
            self.stdout.write(f"已写入 {path}：家庭关系 {len(rep.memberships)} 条，"
                              f"救助保障 {len(rep.enrollments)} 条，"
                              f"查阅与变更记录 {len(rep.events)} 条")
            return
        for label, value in rep.fields:
            self.stdout.write(f"{label}：{value}")
        for title, rows in (("家庭成员关系", rep.memberships), ("救助保障", rep.enrollments)):
            self.stdout.write(f"\n{title}（{len(rows)}）")
            for row in rows:
                self.stdout.write("  " + "，".join(f"{k}：{v}" for k, v in row.items() if v))
        self.stdout.write(f"\n查阅与变更记录（{len(rep.events)}）")
        for e in rep.events:
            self.stdout.write(f"  {timezone.localtime(e.at):%Y-%m-%d %H:%M:%S} {e.actor} "
                              f"{e.action} {e.object_type} {e.object_label} {e.changes}")

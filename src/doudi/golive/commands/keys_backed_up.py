"""doudi golive keys-backed-up --where TEXT: record (audited) that every key in the key file has
been copied to its two places apart from the database backups (docs/key-management.md)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from doudi.golive import key_custody

HELP = "确认加密密钥文件已另行备份（记入审计日志；密钥轮换后须再次确认）"


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--where", required=True,
                        help="两份密钥备份的存放处，如“信息中心保险柜加密U盘；局密钥托管系统”")


def run(options: dict[str, Any], out: Any) -> int:
    found = key_custody.confirm(options["where"])
    keys = "、".join(f"{kid}（指纹 {fp}）" for kid, fp in sorted(found.items()))
    out.write(f"已记录：密钥 {keys} 已备份，存放于 {options['where'].strip()}")
    out.write("密钥轮换（doudi keys rotate）后须再次备份并确认")
    return 0

"""doudi golive import-history: the old system's payments and decisions as history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from doudi.golive import history

HELP = ("导入原系统历史发放明细和历史审批记录（默认试导入，只列出导入计划；--real 正式导入，"
        "一个文件全部导入或全部不导入）")
SHOWN = 200  # refused rows printed; the whole plan is in the import's plan file


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--payments", metavar="文件", help="历史发放明细（xlsx / xls / csv）")
    parser.add_argument("--decisions", metavar="文件", help="历史审批记录（xlsx / xls / csv）")
    parser.add_argument("--district", required=True, metavar="区划代码",
                        help="区县的行政区划代码，如 341002")
    parser.add_argument("--real", action="store_true",
                        help="正式导入（不加此项为试导入：只生成导入计划，不写入）")


def run(options: dict[str, Any], out) -> int:  # noqa: ANN001
    if not options.get("payments") and not options.get("decisions"):
        raise CommandError("请至少给出 --payments 或 --decisions 之一")
    refused = False
    steps = (("payments", history.import_payments), ("decisions", history.import_decisions))
    for key, step in steps:
        if not options.get(key):
            continue
        path = Path(options[key])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        outcome = step(path.read_bytes(), path.name, district=options["district"],
                       real=bool(options.get("real")))
        record = outcome.record
        out.write(f"{path.name}：{record.get_mode_display()}，{record.get_status_display()}")
        out.write(outcome.plan.summary())
        if outcome.written:
            out.write("已写入：" + "，".join(f"{history.WRITTEN.get(k, k)} {v}"
                                          for k, v in outcome.written.items()))
        bad = outcome.plan.refused
        for row in bad[:SHOWN]:
            out.write("  " + row.text())
        if len(bad) > SHOWN:
            out.write(f"  ……另有 {len(bad) - SHOWN} 项，见导入计划文件 {record.plan_path}")
        refused = refused or bool(bad)
    return 1 if refused else 0

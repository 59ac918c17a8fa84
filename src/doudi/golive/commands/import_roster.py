"""doudi golive import-roster FILE [--district CODE]: the old system's last monthly roster
(末次花名册), kept whole for the reconciliation or refused whole. Exits 1 when refused."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from doudi.golive import reconcile
from doudi.golive.commands.check import district_of
from doudi.golive.commands.import_caseload import read_files

HELP = "导入原系统末次发放花名册（对账用；有错误行时整份不导入）"


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("file", help="原系统最后一个月的发放花名册（xlsx/xls/csv）")
    parser.add_argument("--district", default="", help="区县代码（6 位）；只服务一个区县时可省略")


def run(options: dict[str, Any], out) -> int:  # noqa: ANN001
    [(name, data)] = read_files([options["file"]])
    record, got = reconcile.import_roster(name, data, district_code=district_of(
        options["district"]), by=None)
    for r in got.report.iter_rows(named=True):
        where = f"第 {r['row']} 行" if r["row"] else ""
        value = f"“{r['value']}”" if r["value"] else ""
        out.write(f"✗ {r['file']}{where} {r['label']}{value}：{r['reason']}")
    out.write(record.message)
    return 0 if got.ok else 1

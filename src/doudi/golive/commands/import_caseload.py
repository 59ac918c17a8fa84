"""doudi golive import-caseload FILE… [--district CODE] [--real] [--report PATH]: the old
system's caseload. A dry run (the default) prints what the real run would do and every refused
row; `--real` writes it all or nothing. Exits 1 when any row is refused."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from doudi.golive import caseload, layouts
from doudi.golive.commands.check import day_of, district_of

HELP = "导入原系统在保数据（默认试导入，--real 正式导入；有错误行时不导入）"


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", help="原系统导出的在保数据文件（xlsx/xls/csv，可多个）")
    parser.add_argument("--district", default="", help="区县代码（6 位）；只服务一个区县时可省略")
    parser.add_argument("--real", action="store_true", help="正式导入（默认只试导入）")
    parser.add_argument("--day", default="", help="导入日 YYYY-MM-DD，默认今天")
    parser.add_argument("--report", default="", help="把逐户导入计划和错误行写入该 Excel 文件")
    parser.add_argument("--map", action="append", default=[], metavar="字段=列名",
                        help="文件中的列名与格式字段不同时指定对应（可多次），如 --map "
                             "head_id=户主证件号码；正式导入成功后记住")
    parser.add_argument("--layout", default="caseload_combined",
                        help="--map 所指的导出格式（caseload_combined、caseload_households、"
                             "caseload_members）")


def mappings(given: list[str], layout_key: str) -> dict[str, dict[str, str]]:
    """--map KEY=列名 … for one layout, its field keys checked."""
    if not given:
        return {}
    layout = layouts.get(layout_key)
    keys = {f.key for f in layout.spec.fields}
    out: dict[str, str] = {}
    for item in given:
        key, sep, header = item.partition("=")
        if not sep or key.strip() not in keys or not header.strip():
            raise CommandError(f"--map {item}：应为 字段=列名，字段可选："
                               + "、".join(sorted(keys)))
        out[key.strip()] = header.strip()
    return {layout.key: out}


def read_files(names: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"找不到文件：{name}")
        out.append((path.name, path.read_bytes()))
    return out


def run(options: dict[str, Any], out) -> int:  # noqa: ANN001
    mapped = mappings(options["map"], options["layout"])
    p = caseload.plan(read_files(options["files"]), district_code=district_of(options["district"]),
                      day=day_of(options["day"]), mappings=mapped)
    if options["report"]:
        caseload.write_report(p, Path(options["report"]))
    report = p.sources.report_frame()
    for r in report.iter_rows(named=True):
        value = f"“{r['value']}”" if r["value"] else ""
        where = f"{r['file']}{r['sheet'] and '“' + r['sheet'] + '”'}" + \
            (f"第 {r['row']} 行" if r["row"] else "")
        out.write(f"✗ {where} {r['label']}{value}：{r['reason']}")
    for notice in p.sources.notices:
        out.write(f"提示：{notice}")
    if not options["real"]:
        record = caseload.record_dry_run(p, by=None)
        out.write(f"试导入：{record.message}")
        return 0 if p.ok else 1
    try:
        applied = caseload.apply(p, by=None)
    except caseload.CaseloadError as exc:
        out.write(f"正式导入未执行：{exc}")
        return 1
    for key, columns in mapped.items():  # the district's own headers, kept for next time
        for field_key, header in columns.items():
            layouts.remember(layouts.get(key), field_key, header)
    out.write(f"正式导入：{applied.record.message}")
    return 0

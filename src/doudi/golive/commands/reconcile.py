"""doudi golive reconcile [--district CODE] [--day YYYY-MM-DD]: the imported caseload against
the old system's last roster and the rules, per town and programme, and every difference for
review (nothing is changed). Exits 1 while differences remain to be reviewed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from doudi.core.money import yuan_text
from doudi.golive import reconcile
from doudi.golive.commands.check import day_of, district_of

HELP = "上线对账：在保数据与原系统末次花名册、现行规则逐户比对，列出差异（不作修改）"


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--district", default="", help="区县代码（6 位）；只服务一个区县时可省略")
    parser.add_argument("--day", default="", help="对账日 YYYY-MM-DD，默认今天")


def _yuan(fen: object) -> str:
    return "—" if fen is None else yuan_text(int(fen))


def run(options: dict[str, Any], out) -> int:  # noqa: ANN001
    made = reconcile.reconcile(district_code=district_of(options["district"]), by=None,
                               day=day_of(options["day"]))
    out.write("乡镇（街道） 项目 在保户数/花名册户数 人数/花名册人数 "
              "月保障金/花名册/规则测算（元）")
    for s in made.summary:
        out.write(f"{s['town']} {s['programme']} {s['households']}/{s['roster_rows']} "
                  f"{s['persons']}/{s['roster_persons']} {_yuan(s['monthly_fen'])}/"
                  f"{_yuan(s['roster_fen'])}/{_yuan(s['rules_fen'])}")
    for d in made.differences:
        out.write(f"差异 {d['legacy_number']} {d['programme']} {d['label']}："
                  f"记录 {_yuan(d['recorded'])}，对照 {_yuan(d['other'])}"
                  + (f"（{d['reason']}）" if d.get("reason") else ""))
    out.write(f"对账完成：差异 {len(made.differences)} 条，请逐户复核")
    return 1 if made.differences else 0

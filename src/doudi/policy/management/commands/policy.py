"""`doudi policy load-shipped` · `doudi policy list KEY [--area CODE] [--date YYYY-MM-DD]`"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from doudi.audit import context
from doudi.core import clock
from doudi.policy import services
from doudi.policy.models import PolicyParameter, chain_prefixes
from doudi.policy.values import to_parameter
from doudi.rules.parameters import display_value


class Command(BaseCommand):
    help = "政策参数：载入随系统发布的参数（load-shipped）、查看某参数的历次取值（list）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load-shipped", help="补入数据库中缺少的随系统发布参数，不改动本地设定")
        listing = sub.add_parser("list", help="列出参数的历次取值")
        listing.add_argument("key")
        listing.add_argument("--area", default="", help="区划代码：只列该区划适用的取值")
        listing.add_argument("--date", help="标出该日生效的取值，默认今天 YYYY-MM-DD")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "load-shipped":
            self._load()
        else:
            self._list(opts["key"], opts["area"].strip(), opts.get("date"))

    def _load(self) -> None:
        with context.job("policy load-shipped"):
            report = services.load_shipped()
        self.stdout.write(f"新增 {len(report.added)} 条随系统发布的参数"
                          f"（本地已设定同日取值而保留本地的 {len(report.kept_local)} 条）")
        for key, area, day in report.differing:
            self.stdout.write(f"  注意：{key} {area or '全国'} {day} 的发布取值与数据库不同，"
                              "未改动；如需采用，请设定新的取值")

    def _list(self, key: str, area: str, date: str | None) -> None:
        if area and not area.isdigit():
            raise CommandError(f"区划代码应为数字：{area!r}")
        try:
            day = dt.date.fromisoformat(date) if date else clock.today()
        except ValueError:
            raise CommandError(f"日期应为 YYYY-MM-DD：{date!r}") from None
        rows = PolicyParameter.objects.filter(key=key)
        if area:  # the rows that apply there: its own and its ancestors' (12-digit codes too)
            rows = rows.filter(area_code__in=chain_prefixes(area))
        rows = list(rows.order_by("-effective_from", "-area_code"))
        if not rows:
            raise CommandError(f"参数 {key} 未定义" + (f"（区划 {area}）" if area else ""))
        current = services.parameter_set().find(key, area, day) if area else None
        names = services.area_labels({r.area_code for r in rows})
        for row in rows:
            p = to_parameter(row)
            mark = "现行" if current == p else ("待生效" if row.effective_from > day else "")
            flags = "" if row.verified else " 未核实"
            self.stdout.write(
                f"{row.effective_from}  {names[row.area_code]}({row.area_code or '-'})  "
                f"{display_value(p)}  [{row.get_source_display()}{flags}] {mark}".rstrip())
            self.stdout.write(f"    依据：{row.reference}" + (f"  {row.url}" if row.url else ""))

"""`doudi policy load-shipped` · `doudi policy list KEY [--area CODE] [--date YYYY-MM-DD]` ·
`doudi policy coverage [--area CODE …] [--since YYYY-MM-DD] [--shipped] [--problems]`"""

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
from doudi.rules import coverage
from doudi.rules.labels import value_text


class Command(BaseCommand):
    help = "政策参数：载入随系统发布的参数（load-shipped）、查看某参数的历次取值（list）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load-shipped", help="补入数据库中缺少的随系统发布参数，不改动本地设定")
        listing = sub.add_parser("list", help="列出参数的历次取值")
        listing.add_argument("key")
        listing.add_argument("--area", default="", help="区划代码：只列该区划适用的取值")
        listing.add_argument("--date", help="标出该日生效的取值，默认今天 YYYY-MM-DD")
        cover = sub.add_parser(
            "coverage", help="各区划的参数覆盖情况：在哪一级设定、是否核实、覆盖的日期和缺口")
        cover.add_argument("--area", action="append", default=[],
                           help="区划代码，可重复；默认为本系统服务的区划和已登记家庭所在的区县")
        cover.add_argument("--since", default=coverage.SINCE.isoformat(),
                           help=f"从此日起检查缺口，默认 {coverage.SINCE.isoformat()}")
        cover.add_argument("--shipped", action="store_true",
                           help="检查随系统发布的参数文件，而不是数据库中的参数")
        cover.add_argument("--problems", action="store_true",
                           help="只列出有缺口或从未核实的参数")
        cover.add_argument("--shares", action="store_true",
                           help="随系统发布的各参数文件已核实取值的条数和比例")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "load-shipped":
            self._load()
        elif opts["action"] == "coverage" and opts["shares"]:
            self._shares()
        elif opts["action"] == "coverage":
            self._coverage(opts["area"], opts["since"], opts["shipped"], opts["problems"])
        else:
            self._list(opts["key"], opts["area"].strip(), opts.get("date"))

    def _load(self) -> None:
        with context.job("policy load-shipped"):
            report = services.load_shipped()
        self.stdout.write(f"新增 {len(report.added)} 条随系统发布的参数"
                          f"（本地已设定同日取值而保留本地的 {len(report.kept_local)} 条），"
                          f"更新依据（文号、链接、核实情况）{len(report.refreshed)} 条")
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
                f"{value_text(p)}  [{row.get_source_display()}{flags}] {mark}".rstrip())
            cited = coverage.citation(p)
            cited = row.reference if cited == row.reference else f"{row.reference}（{cited}）"
            self.stdout.write(f"    依据：{cited}" + (f"  {row.url}" if row.url else ""))

    def _shares(self) -> None:
        for line in coverage.shares_table():
            self.stdout.write(line)

    @staticmethod
    def _params(use_shipped: bool) -> Any:
        if use_shipped:
            from doudi.rules.shipped import shipped

            return shipped()
        return services.parameter_set()

    def _coverage(self, areas: list[str], since_text: str, use_shipped: bool,
                  problems_only: bool) -> None:
        try:
            since = dt.date.fromisoformat(since_text)
        except ValueError:
            raise CommandError(f"日期应为 YYYY-MM-DD：{since_text!r}") from None
        areas = [a.strip() for a in areas if a.strip()]
        bad = [a for a in areas if not a.isdigit() or len(a) > 12]
        if bad:
            raise CommandError(f"区划代码应为不超过 12 位的数字：{bad[0]!r}")
        if not areas:
            areas = deployed_areas()
        if not areas:
            raise CommandError("没有可检查的区划：请用 --area 指定区划代码")
        params = self._params(use_shipped)
        today = clock.today()
        rows_areas = {p.area for p in params}
        names = services.area_labels(set(areas) | rows_areas)
        for area in areas:
            found = coverage.coverage(params, area, since=since)
            gaps = [c for c in found if c.gaps]
            never = [c for c in found if c.never_verified]
            absent = [c for c in found if c.optional and not c.defined]
            self.stdout.write(f"== {names.get(area, area)}（{area}）：自 {since} 起的参数覆盖情况")
            for c in found:
                if problems_only and not (c.gaps or c.never_verified):
                    continue
                if c.optional and not c.defined:
                    self.stdout.write(f"{c.label}（{c.key}）  可选，未设定：按规则的替代取值计算")
                    continue
                levels = "、".join(c.levels) or "无"
                self.stdout.write(f"{c.label}（{c.key}）  设定级别：{levels}")
                for span in c.spans:
                    end = ("至今" if span.start <= today else "以后") if span.end is None \
                        else span.end.isoformat()
                    period = f"{span.start} – {end}"
                    if span.row is None:
                        mark = "（可选，按替代取值）" if c.optional else "  ← 缺口：不可计算"
                        self.stdout.write(f"  {period}  无取值{mark}")
                        continue
                    row = span.row
                    where = coverage.level_of(row.area) + (
                        f" {names.get(row.area, row.area)}" if row.area else "")
                    flag = "已核实" if row.verified else "未核实"
                    self.stdout.write(f"  {period}  {where}  {value_text(row)}  {flag}"
                                      f"（{row.effective} 起）  {coverage.citation(row)}")
                if c.never_verified:
                    self.stdout.write("  ! 从未核实：上线前须对照原文确认")
            self.stdout.write(
                f"合计 {len(found)} 个参数：有缺口 {len(gaps)} 个"
                + (f"（{'、'.join(c.key for c in gaps)}）" if gaps else "")
                + f"；从未核实 {len(never)} 个；可选未设定 {len(absent)} 个")
            self.stdout.write("")


def deployed_areas() -> list[str]:
    """The areas this deployment serves: the configured public areas and the counties of the
    registered households."""
    from doudi.casework.online import served_prefixes
    from doudi.registry.models import Household

    counties = {code[:6] for code in Household.objects.values_list("area_code", flat=True)
                .distinct() if code}
    return sorted(set(served_prefixes()) | counties)

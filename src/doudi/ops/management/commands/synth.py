"""`doudi synth --area 341002 --households 20000 --seed 1 --out DIR [--xlsx] [--into-db]`"""

from __future__ import annotations

import datetime as dt
import tempfile
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from doudi.audit import context
from doudi.core import clock


class Command(BaseCommand):
    help = ("生成合成区县：真实村居中的家庭与人员、按规则测算的在保对象、带脏数据的各部门数据文件、"
            "埋点案例真值（truth.parquet），写为 Parquet/CSV（--xlsx 另写 Excel），可导入登记库")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--area", required=True, help="区划代码前缀，如 341002")
        parser.add_argument("--households", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", help="输出目录")
        parser.add_argument("--xlsx", action="store_true", help="部门数据另写 Excel (.xlsx)")
        parser.add_argument("--dirty", type=float, default=0.02,
                            help="部门数据中脏数据行的比例，默认 0.02")
        parser.add_argument("--plant", type=int, default=10,
                            help="每万户每类埋点案例数，默认 10")
        parser.add_argument("--into-db", action="store_true", help="同时导入登记库（含在保类别）")
        parser.add_argument("--today", help="基准日期 YYYY-MM-DD，默认今天")

    def handle(self, *args: Any, **o: Any) -> None:
        from doudi.synth import cli

        if not o["out"] and not o["into_db"]:
            raise CommandError("请给出 --out 目录或 --into-db")
        if o["households"] < 1:
            raise CommandError("--households 应为正整数")
        if not 0 <= o["dirty"] < 0.5:
            raise CommandError("--dirty 应在 0 与 0.5 之间")
        if o["plant"] < 0:
            raise CommandError("--plant 不能为负数")
        try:
            today = dt.date.fromisoformat(o["today"]) if o["today"] else clock.today()
        except ValueError:
            raise CommandError("--today 应为 YYYY-MM-DD") from None
        parameters = None
        if o["into_db"]:
            from doudi.policy.services import parameter_set

            parameters = parameter_set()  # the database's standards, so enrolments agree
        with tempfile.TemporaryDirectory() as scratch:
            try:
                result = cli.run(o["area"], o["households"], o["seed"], o["out"] or scratch,
                                 today, xlsx=o["xlsx"], dirty_share=o["dirty"],
                                 per_10k=o["plant"], parameters=parameters)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        s = result.summary
        self.stdout.write(f"生成 {s['households']:,} 户、{s['persons']:,} 人，部门数据 "
                          f"{s['feed_rows']:,} 行（脏数据 {s['dirty_rows']:,} 处），埋点案例 "
                          f"{sum(s['truth'].values()):,} 个；用时 {s['total_seconds']:.1f} 秒；"
                          + (f"已写入 {o['out']}" if o["out"] else "未写出文件"))
        if o["into_db"]:
            from doudi.synth.load_enrolments import load_enrolments
            from doudi.synth.loader import load

            pop = result.district.population
            with context.job("synth"):
                report = load(pop.households, pop.persons, today)
                enrolled = load_enrolments(result.district.enrolments, pop.households,
                                           pop.persons)
            self.stdout.write(f"已导入登记库：{report.households:,} 户、{report.persons:,} 人、"
                              f"{report.observations:,} 条经济状况、在保类别 "
                              f"{sum(enrolled.counts.values()):,} 条")

"""`doudi synth --area 341002 --households 20000 --seed 1 --out DIR [--into-db]`"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from doudi.audit import context


class Command(BaseCommand):
    help = "生成合成人口（真实村居、户型、身份证号、收入与财产），写为 Parquet，可导入登记库"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--area", required=True, help="区划代码前缀，如 341002")
        parser.add_argument("--households", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", help="输出目录（Parquet 与 manifest.json）")
        parser.add_argument("--into-db", action="store_true", help="同时导入登记库")
        parser.add_argument("--today", help="基准日期 YYYY-MM-DD，默认今天")

    def handle(self, *args: Any, **o: Any) -> None:
        from doudi.synth.population import generate

        if not o["out"] and not o["into_db"]:
            raise CommandError("请给出 --out 目录或 --into-db")
        if o["households"] < 1:
            raise CommandError("--households 应为正整数")
        try:
            today = dt.date.fromisoformat(o["today"]) if o["today"] else dt.date.today()
        except ValueError:
            raise CommandError("--today 应为 YYYY-MM-DD") from None
        started = time.monotonic()
        try:
            population = generate(o["area"], o["households"], o["seed"], today)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"生成 {population.households.height:,} 户、"
                          f"{population.persons.height:,} 人，用时 "
                          f"{time.monotonic() - started:.1f} 秒")
        if o["out"]:
            from doudi.synth.writer import write

            write(population, Path(o["out"]))
            self.stdout.write(f"已写入 {o['out']}")
        if o["into_db"]:
            from doudi.synth.loader import load

            with context.job("synth"):
                report = load(population.households, population.persons, today)
            self.stdout.write(f"已导入登记库：{report.households:,} 户、{report.persons:,} 人、"
                              f"{report.observations:,} 条经济状况")

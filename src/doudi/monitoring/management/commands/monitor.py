"""doudi monitor [--area CODE] [--as-of YYYY-MM-DD] [--engine local|spark] [--score truth.parquet]
              [--escalate] [--export-inputs DIR] [--by-city]

Runs the monitoring (监测比对) for an area now, printing progress and the warnings by
indicator; `--score` then prints recall and precision per planted kind against a synthetic
district's truth; `--escalate` first moves overdue warnings up one level (and escalates
overdue referrals, as `doudi referrals escalate`). `--engine spark` runs
the same functions on Spark (`doudi[spark]`; SPARK_MASTER, default local[2]);
`--export-inputs DIR` writes the run's inputs for `spark-submit` on a cluster instead
(docs/scale-out.md). `--by-city` runs (or exports, to DIR/<city code>) each city under the
area in turn, one run per city: a province's run never holds more than one city's registry
and feed rows (monitoring is per household, so the cities' runs together raise what one
province run would).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models.functions import Substr

from doudi.audit import context
from doudi.core import clock
from doudi.engine.monitoring.indicators import shipped
from doudi.monitoring import services
from doudi.monitoring.score_run import score_run
from doudi.registry.models import Household


def cities(area: str) -> list[str]:
    """The city prefixes under `area` (a province, or the whole country) that hold active
    households; a city or anything below is its own one area."""
    if len(area) >= 4:
        return [area]
    return sorted(Household.objects.filter(area_code__startswith=area, is_active=True)
                  .order_by().annotate(city=Substr("area_code", 1, 4))
                  .values_list("city", flat=True).distinct())


def write_indicators(chosen: list, directory: Path) -> None:
    """The area's indicators with its tuned values, for the cluster run to use."""
    from doudi.engine.monitoring.indicators import shipped_documents

    tuned = {i.key: i for i in chosen}
    docs = []
    for doc in shipped_documents():
        if doc["key"] not in tuned:
            continue  # switched off here
        params = {name: {**spec, "value": tuned[doc["key"]].params[name].value}
                  for name, spec in (doc.get("params") or {}).items()}
        docs.append({**doc, "params": params})
    (directory / "indicators.yaml").write_text(
        yaml.safe_dump({"indicators": docs}, allow_unicode=True, sort_keys=False),
        encoding="utf-8")


class Command(BaseCommand):
    help = "动态监测比对 / run the monitoring and raise warnings"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", default="", help="区划代码前缀（默认全部）")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="监测日期（默认今天）")
        parser.add_argument("--score", type=Path, default=None, metavar="truth.parquet",
                            help="与合成数据真值比对，输出各类召回率和准确率")
        parser.add_argument("--escalate", action="store_true", help="先将逾期预警升级")
        parser.add_argument("--engine", choices=["local", "spark"], default="local",
                            help="计算引擎：local（本机 Polars）或 spark")
        parser.add_argument("--export-inputs", type=Path, default=None, metavar="DIR",
                            help="只导出本次监测的输入（供集群 spark-submit），不运行")
        parser.add_argument("--by-city", action="store_true",
                            help="按地市逐个运行或导出（省级监测：每次只读取一个地市的数据）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        context.bind(context.Actor(user_id=None, username="cli", job="monitor"))
        if o["score"] is not None and not o["score"].is_file():
            raise CommandError(f"文件不存在：{o['score']}")
        if o["by_city"] and o["score"] is not None:
            raise CommandError("按地市运行时不能与合成数据真值比对"
                               "（--score 只用于一个区县的合成数据）")
        areas = cities(o["area"]) if o["by_city"] else [o["area"]]
        if o["export_inputs"] is not None:
            for area in areas:
                self._export(area, o["as_of"], o["export_inputs"] / area if o["by_city"]
                             else o["export_inputs"])
            return
        if o["escalate"]:
            from doudi.referrals.services import escalate_overdue as escalate_referrals

            moved = services.escalate_overdue(o["as_of"], o["area"])
            self.stdout.write(f"逾期升级 {moved} 条")
            self.stdout.write(f"逾期转介升级 {escalate_referrals(o['as_of'], o['area'])} 条")
        for area in areas:
            if o["by_city"]:
                self.stdout.write(f"地市 {area}：")
            self._run(area, o)

    def _export(self, area: str, as_of: dt.date | None, directory: Path) -> None:
        from doudi.engine.monitoring.spark import write_inputs
        from doudi.monitoring.inputs import gather

        inputs, summary = gather(area, as_of or clock.today())
        write_inputs(inputs, directory)
        write_indicators(services.indicators_for(area), directory)
        self.stdout.write(f"已导出：家庭 {summary['households']} 户、人员 "
                          f"{summary['persons']} 人、部门数据 {len(summary['feeds'])} 类 → "
                          f"{directory}")

    def _run(self, area: str, o: dict) -> None:
        run = services.start_run(by=None, area_code=area, trigger="cli", as_of=o["as_of"])

        def progress(percent: int, phase: str) -> None:
            self.stdout.write(f"  {percent:3d}%  {phase}")

        run = services.execute(run, progress, engine=o["engine"])
        names = {i.key: i.name for i in shipped()}
        self.stdout.write(run.message)
        for key, n in sorted(run.counts.items()):
            self.stdout.write(f"  {names.get(key, key)}（{key}）：{n}")
        for key, why in sorted(run.skipped.items()):
            self.stdout.write(f"  未运行 {names.get(key, key)}：{why}")
        if o["score"] is not None:
            table, overall = score_run(run, o["score"])
            self.stdout.write("类别                   真值  发现  召回率   预警  正确  准确率")
            for r in table.iter_rows(named=True):
                recall = "—" if r["recall"] is None else f"{r['recall']:.3f}"
                precision = "—" if r["precision"] is None else f"{r['precision']:.3f}"
                self.stdout.write(f"{r['kind']:<22} {r['truth']:>5} {r['found']:>5} "
                                  f"{recall:>7} {r['warnings']:>6} {r['right']:>5} "
                                  f"{precision:>7}")
            self.stdout.write(f"总计 召回率 {overall['recall']:.3f}（最低 "
                              f"{overall['min_recall']:.3f}） 准确率 {overall['precision']:.3f}")

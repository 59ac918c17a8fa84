"""`doudi rules test PATH...` · `doudi rules explain FILE.yaml` · `doudi rules simulate …`"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from doudi.rules import scenarios
from doudi.rules.explain import explain, render_text
from doudi.rules.parameters import ParameterError
from doudi.rules.shipped import shipped

DEFAULT_SCENARIOS = scenarios.Path(scenarios.__file__).parent / "scenarios"


class Command(BaseCommand):
    help = "政策规则：运行测算案例（test）、打印认定依据（explain）、测算调整标准的影响（simulate）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        test = sub.add_parser("test", help="运行 YAML 测算案例，有不一致时以非零状态退出")
        test.add_argument("paths", nargs="*", help="案例文件或目录（默认：随系统发布的案例）")
        exp = sub.add_parser("explain", help="打印案例中每户的认定依据")
        exp.add_argument("file")
        exp.add_argument("--all", action="store_true", help="列出全部项目（含不相关的）")
        sim = sub.add_parser("simulate", help="在登记数据上测算参数调整的影响")
        sim.add_argument("--area", required=True, help="区划代码（区县或以下）")
        sim.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE", help="调整的参数，可重复")
        sim.add_argument("--date", help="测算日期，默认今天 YYYY-MM-DD")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "test":
            self._test(opts["paths"] or [str(DEFAULT_SCENARIOS)])
        elif action == "explain":
            self._explain(opts["file"], opts["all"])
        else:
            from doudi.policy.simulation import run_cli

            run_cli(self.stdout, opts["area"], opts["overrides"], opts.get("date"))

    def _test(self, paths: list[str]) -> None:
        try:
            files = scenarios.find_files(paths)
            cases = [c for f in files for c in scenarios.load_cases(f)]
        except scenarios.ScenarioError as exc:
            raise CommandError(str(exc)) from None
        if not cases:
            raise CommandError("没有找到任何案例")
        params = shipped()
        failed = 0
        for case in cases:
            outcome = scenarios.check(case, params)
            if outcome.passed:
                continue
            failed += 1
            self.stdout.write(f"✗ {case.origin} {case.name}")
            if outcome.error:
                self.stdout.write(f"    错误：{outcome.error}")
            for m in outcome.mismatches:
                self.stdout.write(f"    {m.output}: 期望 {scenarios.show(m.expected)}，"
                                  f"实际 {scenarios.show(m.actual)}")
        self.stdout.write(f"{len(cases) - failed} 个通过，{failed} 个不一致，"
                          f"共 {len(cases)} 个案例（{len(files)} 个文件）")
        if failed:
            raise CommandError(f"{failed} 个案例不一致", returncode=1)

    def _explain(self, path: str, everything: bool) -> None:
        try:
            cases = scenarios.load_cases(scenarios.Path(path))
            for case in cases:
                result = scenarios.run_case(case, shipped())
                hid = str(case.household.get("id", "case"))
                title = f"== {case.name}（区划 {case.area}，{case.day.isoformat()}）"
                self.stdout.write(render_text(explain(result, hid, everything), title))
        except (scenarios.ScenarioError, ParameterError, ValueError) as exc:
            raise CommandError(str(exc)) from None


"""What-if simulation over the registry (调标测算): evaluate every household of an area with the
parameters in force and with the changed ones, and compare by town and programme."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from django.core.management.base import CommandError

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.registry.models import Household
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate
from doudi.rules.labels import parameter_label
from doudi.rules.parameters import ParameterError, ParameterSet
from doudi.rules.whatif import compare


class SimulationError(ServiceError, ValueError):
    """A 调标测算 that cannot be run; the message is Chinese."""


@dataclass
class SimulationReport:
    area: Area
    day: dt.date
    overrides: dict[str, str]
    households: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # per programme and town
    totals: list[dict[str, Any]] = field(default_factory=list)  # per programme


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SimulationError(f"参数调整应写作 KEY=VALUE：{item}")
        out[key.strip()] = value.strip()
    return out


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def simulate(
    area: Area, overrides: dict[str, str], day: dt.date, parameters: ParameterSet,
    user: Any = None,
) -> SimulationReport:
    """Compare the programmes for every household under `area` (only those `user` may see)."""
    if not overrides:
        raise SimulationError("请至少调整一个参数")
    try:
        changed = parameters.with_overrides(overrides, area.prefix, day, note="调标测算")
    except ParameterError as exc:
        raise SimulationError(str(exc)) from None
    households = Household.objects.filter(area_code__startswith=area.prefix)
    if user is not None:
        households = households & Household.objects.visible_to(user, roles.VIEW_REGISTRY)
    h, m = build_frames(households, day)
    report = SimulationReport(area, day, overrides, h.height)
    if h.height == 0:
        return report
    try:
        table = compare(evaluate(h, m, parameters, day, strict=True),
                        evaluate(h, m, changed, day, strict=True))
    except ParameterError as exc:
        raise SimulationError(str(exc)) from None
    towns = dict(Area.objects.filter(code__in=[t.ljust(12, "0") for t in table["town"].unique()])
                 .values_list("code", "name"))
    money = ("budget_before", "budget_after", "budget_change")
    for row in table.to_dicts():
        row["town_name"] = towns.get(row["town"].ljust(12, "0"), row["town"])
        report.rows.append({**row, **{k: _yuan(row[k]) for k in money}})
    for total in table.group_by("programme", "label", maintain_order=True).agg(
        *[c for c in ("before", "after", "entering", "leaving", *money)]
    ).to_dicts():
        report.totals.append({**total, **{k: _yuan(sum(total[k])) for k in money},
                              **{k: sum(total[k]) for k in ("before", "after", "entering",
                                                            "leaving")}})
    return report


def render(report: SimulationReport) -> str:
    changes = "，".join(f"{parameter_label(k)} = {v}" for k, v in report.overrides.items())
    lines = [f"调标测算：{report.area.name}（{report.area.code}），{report.day}，{changes}",
             f"参与测算的家庭 {report.households} 户", ""]
    header = f"{'项目':<14}{'乡镇/街道':<12}{'调整前':>8}{'调整后':>8}{'新增':>6}{'退出':>6}" \
             f"{'月资金变化(元)':>16}"
    lines.append(header)
    for row in report.rows:
        lines.append(f"{row['label']:<14}{row['town_name']:<12}{row['before']:>8}{row['after']:>8}"
                     f"{row['entering']:>6}{row['leaving']:>6}{row['budget_change']:>16,}")
    lines.append("")
    for t in report.totals:
        lines.append(f"合计 {t['label']}：{t['before']} → {t['after']}（新增 {t['entering']}，"
                     f"退出 {t['leaving']}），月资金 {t['budget_before']:,} → "
                     f"{t['budget_after']:,} 元（{t['budget_change']:+,} 元）")
    return "\n".join(lines)


def run_cli(stdout: TextIO, area_code: str, items: list[str], day_text: str | None) -> None:
    from doudi.policy.services import parameter_set

    try:
        overrides = parse_overrides(items)
        day = dt.date.fromisoformat(day_text) if day_text else clock.today()
        area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
        if area is None:
            raise SimulationError(f"区划 {area_code} 不存在")
        report = simulate(area, overrides, day, parameter_set())
    except (SimulationError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    stdout.write(render(report))

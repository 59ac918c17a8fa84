"""绩效评价: the towns of an area side by side for a period on five indicators — 审核时限,
预警处置, 探访到位, 问题整改 and 应保尽保 — each a share whose two terms are figures of
`reports.statistics`, counted by the same function (`statistics.counts`) that 统计分析 and the
monitoring dashboard read, so the three pages never disagree.

A period under way (this month, this year) is judged as of today: what was due counts up to
today (a visit due next week is not yet late), and what stands (pending and overdue warnings,
在保, 应保未保) is counted today — the dashboard's day. A past period is judged on its last day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from doudi.core.excel import one_sheet
from doudi.core.shares import percent, ratio_bp
from doudi.reports import statistics

APPROVAL_WORKDAYS = statistics.APPROVAL_WORKDAYS


@dataclass(frozen=True)
class Indicator:
    """One indicator: the share `numerator` ÷ (sum of `denominator`), figures of statistics."""

    key: str
    label: str  # the indicator (审核时限 …)
    rate_label: str  # its share (按时办结率 …)
    numerator: str
    numerator_label: str
    denominator: tuple[str, ...]
    denominator_label: str
    lower_is_better: bool = False
    note: str = ""


INDICATORS: tuple[Indicator, ...] = (
    Indicator("approval", "审核时限", "按时办结率", "applications_on_time", "按时办结",
              ("applications_decided",), "审批办结",
              note=f"期内审批办结的申请中，受理后 {APPROVAL_WORKDAYS} 个工作日内办结的比例"
                   "（民发〔2021〕57号）"),
    Indicator("warnings", "预警处置", "逾期率", "warnings_overdue", "逾期",
              ("warnings_pending",), "未办结预警", lower_is_better=True,
              note="期末（本期截至今日）未办结预警中超过核实处置期限的比例，与监测预警首页同一口径"),
    Indicator("visits", "探访到位", "探访到位率", "visit_tasks_done", "按期探访",
              ("visit_tasks_due",), "应探访",
              note="期内（本期截至今日）到期的探访任务中按期完成的比例"),
    Indicator("corrections", "问题整改", "按期整改率", "findings_corrected", "按期整改",
              ("findings_due",), "应整改",
              note="整改期限在期内（本期截至今日）的检查问题中按期整改的比例"),
    Indicator("coverage", "应保尽保", "应保尽保率", "covered_households", "在保户数",
              ("covered_households", "uncovered_pending"), "在保户数＋应保未保待处置",
              note="期末（本期截至今日）在保户数占在保户数与待处置应保未保预警之和的比例，"
                   "与监测预警首页同一口径"),
)
# shown beside the indicators: who found the campaigns' problems (互查, 第三方评估)
FOUND_BY = (("findings_peer_households", "其中互查发现问题（户）"),
            ("findings_evaluator_households", "其中第三方评估发现问题（户）"))
FIGURES = tuple(dict.fromkeys([*(f for i in INDICATORS for f in (i.numerator, *i.denominator)),
                               *(f for f, _ in FOUND_BY)]))


@dataclass
class TownPerformance:
    town: str
    figures: dict[str, int] = field(default_factory=dict)

    def part(self, indicator: Indicator) -> int:
        return self.figures.get(indicator.numerator, 0)

    def whole(self, indicator: Indicator) -> int:
        return sum(self.figures.get(f, 0) for f in indicator.denominator)

    def rate_bp(self, indicator: Indicator) -> int | None:
        return ratio_bp(self.part(indicator), self.whole(indicator))

    def found_by(self) -> list[tuple[str, int]]:
        return [(f, self.figures.get(f, 0)) for f, _ in FOUND_BY]

    def cells(self) -> list[tuple[Indicator, int, int, int | None]]:
        """(indicator, numerator, denominator, share in basis points) in the page's order."""
        return [(i, self.part(i), self.whole(i), self.rate_bp(i)) for i in INDICATORS]


def judged_until(last: dt.date) -> dt.date:
    """The last day a period ending on `last` is judged on: that day, or today if sooner."""
    return statistics.standing_day(last)


def towns(area: str, first: dt.date, last: dt.date) -> list[TownPerformance]:
    """Each town under `area` (a code prefix) for the days `first`…`last`."""
    until = judged_until(last)
    rows: dict[str, TownPerformance] = {}
    for figure in FIGURES:
        for town, n in statistics.counts(figure, area, first, until, 9).items():
            rows.setdefault(town, TownPerformance(town)).figures[figure] = n
    return [rows[k] for k in sorted(rows)]


def total(rows: list[TownPerformance], area: str) -> TownPerformance:
    """The towns' figures added up (the area's own row)."""
    out = TownPerformance(area)
    for r in rows:
        for figure, n in r.figures.items():
            out.figures[figure] = out.figures.get(figure, 0) + n
    return out


def xlsx(rows: list[TownPerformance], names: dict[str, str], title: str) -> bytes:
    header = ["镇街"]
    for i in INDICATORS:
        header += [f"{i.label}：{i.denominator_label}", f"{i.label}：{i.numerator_label}",
                   f"{i.label}：{i.rate_label}"]
    header += [label for _, label in FOUND_BY]
    return one_sheet("绩效评价", header, (
        [names.get(r.town, r.town), *[v for _, part, whole, bp in r.cells()
                                      for v in (whole, part, percent(bp))],
         *(n for _, n in r.found_by())]
        for r in rows), title=title)

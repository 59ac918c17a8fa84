"""备案审查的抽查与风险规则 (pure, no Django): which decisions a town took under delegated
power the district must review.

Every delegated decision is filed; a filing is selected for review when it is drawn at the
sampling rate (`casework.filing.sample_rate`) or when any risk rule below fires. The rules are
a table — code, Chinese label, the policy keys it reads, and a test over the decision's facts —
so the page's filter, the docs and the tests read the same rows, and a new rule is one row.

The draw is deterministic: CRC-32 of the application number (not Python's salted hash) modulo
10 000 against the rate in basis points, so an auditor can redo it from the number alone and a
filing never changes its mind.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

BASIS = 10_000
SAMPLED = "sampled"  # the reason a filing drawn at the rate is selected
SAMPLED_LABEL = "随机抽中"


@dataclass(frozen=True)
class Facts:
    """What is known about one decision when it is filed."""

    decision: str  # "approved" | "refused"
    amount_fen: int | None  # the amount approved (monthly, or once for one-off aid)
    # the median of the county's comparable approved amounts over the year before (None: fewer
    # than `casework.filing.median_min_decisions` of them)
    median_fen: int | None
    rules_eligible: bool | None  # the rules' verdict on the decision day (None: not computable)
    decider_visited: bool  # the decider recorded the home visit (入户调查) of the case
    decider_took_in: bool  # the decider took the application in (受理)


@dataclass(frozen=True)
class Thresholds:
    """The policy parameters the rules read, as the engine carries them."""

    sample_rate_bp: int  # casework.filing.sample_rate
    above_median_bp: int  # casework.filing.amount_above_median_rate


@dataclass(frozen=True)
class RiskRule:
    code: str
    label: str
    keys: tuple[str, ...]  # the policy parameters it reads
    fires: Callable[[Facts, Thresholds], bool]


def _above_median(f: Facts, t: Thresholds) -> bool:
    # amount > median × (1 + rate), in integers: amount × 10 000 > median × (10 000 + rate)
    return (f.decision == "approved" and f.amount_fen is not None and f.median_fen is not None
            and f.amount_fen * BASIS > f.median_fen * (BASIS + t.above_median_bp))


RULES: tuple[RiskRule, ...] = (
    RiskRule("amount_above_median", "批准金额明显高于同类决定中位数",
             ("casework.filing.amount_above_median_rate",
              "casework.filing.median_min_decisions"), _above_median),
    RiskRule("refused_but_eligible", "不予批准，但规则测算符合条件", (),
             lambda f, t: f.decision == "refused" and f.rules_eligible is True),
    RiskRule("decider_visited", "审批人与入户调查人为同一人", (),
             lambda f, t: f.decider_visited),
    RiskRule("decider_took_in", "审批人与受理人为同一人", (),
             lambda f, t: f.decider_took_in),
)
BY_CODE = {r.code: r for r in RULES}
# every reason a filing may be selected for, as the page's filter offers them
REASONS: dict[str, str] = {SAMPLED: SAMPLED_LABEL, **{r.code: r.label for r in RULES}}


@dataclass(frozen=True)
class Assessment:
    sampled: bool
    risks: tuple[str, ...]  # codes of the rules that fired, in table order

    @property
    def selected(self) -> bool:
        return self.sampled or bool(self.risks)

    @property
    def reasons(self) -> list[str]:
        return ([SAMPLED] if self.sampled else []) + list(self.risks)


def drawn(key: str, rate_bp: int) -> bool:
    """Whether the filing named `key` (its application number) falls in the sample."""
    return zlib.crc32(key.encode()) % BASIS < max(0, min(rate_bp, BASIS))


def assess(key: str, facts: Facts, thresholds: Thresholds) -> Assessment:
    return Assessment(drawn(key, thresholds.sample_rate_bp),
                      tuple(r.code for r in RULES if r.fires(facts, thresholds)))


def median(amounts: Iterable[int], min_count: int) -> int | None:
    """The median (the lower middle of an even count, so it is an amount that was decided) of
    at least `min_count` amounts; None when there are fewer."""
    values = sorted(amounts)
    if not values or len(values) < max(1, min_count):
        return None
    return values[(len(values) - 1) // 2]


def reason_labels(codes: Iterable[str]) -> list[str]:
    return [REASONS.get(c, c) for c in codes]

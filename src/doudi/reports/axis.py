"""Chart axes a person can read: ticks at round steps (1, 2, 2.5 or 5 × 10ⁿ) and tick labels
with at most two decimals, never a float's tail (0.1111111111). A chart with a second axis
gets the same number of steps on both, each round, so both sets of ticks are readable."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


def round_step(raw: Decimal) -> Decimal:
    """The smallest round step (1, 2, 2.5, 5 × 10ⁿ) not below `raw` (> 0)."""
    power = Decimal(10) ** math.floor(math.log10(raw))
    return next(s * power for s in STEPS if s * power >= raw)


def ticks(top: float | int | Decimal, intervals: int = 5) -> list[Decimal]:
    """0 and round steps up to the first tick at or above `top` (about `intervals` of them)."""
    top = Decimal(str(top))
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    step = round_step(top / intervals)
    return [step * i for i in range(max(1, math.ceil(top / step)) + 1)]


def ticks_like(top: float | int | Decimal, count: int) -> list[Decimal]:
    """`count` ticks from 0 at one round step that reaches `top`: a second axis aligned with
    the first axis's ticks."""
    intervals = max(1, count - 1)
    top = Decimal(str(top))
    step = round_step(top / intervals) if top > 0 else Decimal(1) / intervals
    return [step * i for i in range(intervals + 1)]


def label(value: float | int | Decimal | None) -> str:
    """A tick or value as a person writes it: 1,234 · 0.25 · 12.5 (two decimals at most,
    rounded half up, trailing zeros dropped)."""
    if value is None:
        return ""
    number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{number:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text

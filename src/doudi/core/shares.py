"""Shares (比例、占比、完成率) in basis points (1/100 of a per cent), exact: every rate a page,
a chart or a spreadsheet shows is computed by `share_bp` and written by `percent`, so 2 of 3
is 66.67 % everywhere (rounded half up), never 66.66 % in one place and 66.67 % in another."""

from __future__ import annotations

from typing import TypeVar

BASIS = 10_000  # basis points in a whole

T = TypeVar("T")


def share_bp(part: T, whole: T) -> T:
    """part ÷ whole in basis points, rounded half up, in integers (no float on the way). Works
    on ints and on Polars integer expressions alike; the caller decides what a zero whole
    shows (None, "—")."""
    return (part * 2 * BASIS + whole) // (2 * whole)  # type: ignore[operator]


def ratio_bp(part: int, whole: int) -> int | None:
    """`share_bp`, or None when there is nothing to divide by."""
    return share_bp(part, whole) if whole else None


def percent(bp: int | None) -> str:
    """Basis points as a percentage with two decimals: 6667 → "66.67%"; None → "—"."""
    if bp is None or bp == "":
        return "—"
    sign = "-" if bp < 0 else ""
    whole, rest = divmod(abs(int(bp)), 100)
    return f"{sign}{whole}.{rest:02d}%"

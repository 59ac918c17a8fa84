"""Exact money arithmetic on Polars integer columns: amounts in fen, shares in basis points.

An amount that is a fraction (a 差额 shared over covered persons, a share of a standard) is kept
as numerator / denominator and rounded once, to the step and in the mode the parameters give.
"""

from __future__ import annotations

import polars as pl

from doudi.rules.parameters import BASIS

ROUNDING_MODES = {"half_up": "四舍五入", "up": "向上取整", "down": "向下取整"}


Mode = str | pl.Expr  # a plain string when the whole batch rounds alike (one branch, not three)


def divide_rounded(numer: pl.Expr, unit: pl.Expr, mode: Mode) -> pl.Expr:
    """numer / unit as a whole number, rounded half up, up or down (numer ≥ 0, unit > 0)."""
    branches = {
        "up": (numer + unit - 1) // unit,
        "down": numer // unit,
        "half_up": (2 * numer + unit) // (2 * unit),
    }
    if isinstance(mode, str):
        return branches[mode]
    return (pl.when(mode == "up").then(branches["up"])
            .when(mode == "down").then(branches["down"]).otherwise(branches["half_up"]))


def _quotient_rounded(numer: pl.Expr, unit: pl.Expr, mode: Mode) -> pl.Expr:
    """`divide_rounded` of whole numbers (not lists). Where the mode differs between rows, one
    division decides all three modes: up adds 1 when anything remains, half up when twice the
    remainder reaches the unit (the remainder written so that Polars reuses the quotient)."""
    if isinstance(mode, str):
        return divide_rounded(numer, unit, mode)
    quotient = numer // unit
    whole = quotient * unit
    carry = (pl.when(mode == "up").then(whole < numer).when(mode == "down").then(False)
             .otherwise(2 * (numer - whole) >= unit))
    return quotient + carry.cast(pl.Int64)


def round_fraction(numer: pl.Expr, denom: pl.Expr | int, step: pl.Expr, mode: Mode) -> pl.Expr:
    """numer / denom rounded to a multiple of `step` fen; negative numerators give 0."""
    numer = pl.max_horizontal(numer, pl.lit(0, pl.Int64))
    return _quotient_rounded(numer, step * denom, mode) * step


def share(amount: pl.Expr, basis_points: pl.Expr, step: pl.Expr, mode: Mode) -> pl.Expr:
    """amount × share, rounded once."""
    return round_fraction(amount * basis_points, BASIS, step, mode)


def exact_share_floor(amount: pl.Expr, basis_points: pl.Expr) -> pl.Expr:
    """amount × share in whole fen, rounded down (for thresholds that must not be exceeded)."""
    return (amount * basis_points) // BASIS

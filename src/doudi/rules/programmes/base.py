"""What a programme module declares: its parameters, its phases over the frames, the criteria
an explanation prints, and the outputs a scenario can check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

# a phase adds columns to the household or member frame; `columns` names the parameter columns
# present (tables and list flags vary with the areas evaluated)
Phase = Callable[[pl.LazyFrame, frozenset[str]], pl.LazyFrame]

# column shortcuts every programme uses
STANDARD = pl.col("standard")  # 低保标准 by the household's hukou, fen per person and month
STEP = pl.col("dibao.rounding")
MODE = pl.col("dibao.rounding.mode")


@dataclass(frozen=True)
class Criterion:
    """One test of a programme, printed as: label — detail (with values) — 符合/不符合.

    `detail` is a template: `{column}` or `{column:yuan}` / `{column:count}` / `{column:pct}`
    placeholders are filled from the household (or member) row; `parameters` are the keys whose
    values and legal references are cited (`{hukou}` stands for urban/rural)."""

    column: str
    label: str
    detail: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """A computation line of the amount (no outcome), e.g. 月低保金 = …"""

    label: str
    detail: str
    parameters: tuple[str, ...] = ()
    when: str | None = None  # boolean column: print only when true


@dataclass(frozen=True)
class Programme:
    name: str
    label: str
    level: str  # "household" or "member"
    eligible: str  # the column that says the programme applies
    amount: str | None = None  # the column with the monthly (or one-off) amount in fen
    relevant: str | None = None  # explain only rows where this column is true (None: always)
    parameters: tuple[str, ...] = ()
    member_parameters: tuple[str, ...] = ()  # parameter columns member phases read
    member_needs: tuple[str, ...] = ()  # household result columns member phases read
    member_features: Phase | None = None
    aggregates: Callable[[], list[pl.Expr]] | None = None
    household_results: Phase | None = None
    member_results: Phase | None = None
    criteria: tuple[Criterion, ...] = ()
    steps: tuple[Step, ...] = ()
    # scenario output name → (column, kind) with kind in yuan | bool | int | text | ids | yuan_list
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)

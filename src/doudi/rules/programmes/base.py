"""What a programme module declares: its parameters, its phases over the frames, the criteria
an explanation prints, and the outputs a scenario can check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

STANDARD = pl.col("standard")  # 低保标准 by the household's hukou, fen per person and month


@dataclass(frozen=True)
class Batch:
    """The parameters as the phases of one evaluation see them. A parameter with one value over
    every household of the batch is a literal (nothing carried on millions of rows, a branch on
    it decided once while the plan is built); the others are columns joined by area."""

    columns: frozenset[str]  # every parameter column: keys, table entries, list flags
    constants: Mapping[str, tuple[Any, pl.DataType]]  # name → (value, dtype)
    # the literal of each constant, built once: a batch is reused for every call on the same
    # areas and day, and building literals is a measurable part of a one-household evaluation
    literals: Mapping[str, pl.Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.literals:
            object.__setattr__(self, "literals", {
                name: pl.lit(value, dtype=dtype) for name, (value, dtype) in self.constants.items()
            })

    def param(self, name: str) -> pl.Expr:
        literal = self.literals.get(name)
        return literal if literal is not None else pl.col(name)

    def optional(self, name: str, fallback: pl.Expr) -> pl.Expr:
        """An optional parameter (`Programme.optional_parameters`) where the area defines it,
        `fallback` where it does not."""
        if name not in self.columns:
            return fallback
        if name in self.constants:
            return fallback if self.constants[name][0] is None else self.literals[name]
        return pl.coalesce(pl.col(name), fallback)

    def optional_mode(self, name: str, fallback: str | pl.Expr) -> str | pl.Expr:
        """An optional rounding mode (text) where the area sets one, `fallback` elsewhere: a plain
        string when the whole batch shares it, as `mode` gives."""
        if name not in self.columns:
            return fallback
        if name in self.constants:
            value = self.constants[name][0]
            return fallback if value is None else str(value)
        return pl.coalesce(pl.col(name), pl.lit(fallback) if isinstance(fallback, str)
                           else fallback)

    def has(self, name: str) -> bool:
        return name in self.columns

    def flag(self, key: str, entry: str) -> pl.Expr:
        """True where list parameter `key` contains `entry` (false when no area lists it)."""
        name = f"{key}[{entry}]"
        return self.param(name) if name in self.columns else pl.lit(False)

    def listed(self, key: str, entry: str) -> bool | None:
        """Whether list parameter `key` contains `entry` in every area of the batch (True), in
        none (False), or in some only (None: the flag column decides row by row)."""
        name = f"{key}[{entry}]"
        if name not in self.columns:
            return False
        if name in self.constants:
            return bool(self.constants[name][0])
        return None

    def any_listed(self, key: str, facts: Mapping[str, pl.Expr]) -> pl.Expr:
        """True where a member meets the fact of an entry that list parameter `key` names:
        `OR(flag(key, entry) & fact)`. An entry no area of the batch lists is left out of the
        plan, and one every area lists is its fact alone, so no fact is computed for nothing
        (a household fact is an aggregation over a million households)."""
        out: pl.Expr | None = None
        for entry, fact in facts.items():
            listed = self.listed(key, entry)
            if listed is False:
                continue
            term = fact if listed else self.flag(key, entry) & fact
            out = term if out is None else out | term
        return pl.lit(False) if out is None else out

    @property
    def step(self) -> pl.Expr:
        return self.param("dibao.rounding")

    @property
    def mode(self) -> str | pl.Expr:
        """The rounding mode: a plain string when the whole batch shares it."""
        if "dibao.rounding.mode" in self.constants:
            return str(self.constants["dibao.rounding.mode"][0])
        return pl.col("dibao.rounding.mode")


# a phase adds columns to the household or member frame
Phase = Callable[[pl.LazyFrame, Batch], pl.LazyFrame]
# household sums: column name → the member expression summed
Sums = Callable[[Batch], Mapping[str, pl.Expr]]


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
class OneOffRequest:
    """What an application for a one-off programme states and the rules read from it (临时救助:
    the type of need and the amount asked for), and the column with what the family was
    already granted this year (computed from the recorded one-off payments, never typed)."""

    kind: str  # input column: the type of the request
    need: str  # input column: the amount asked for, fen
    received: str  # input column: granted to the family this calendar year, fen
    kinds: Mapping[str, str]  # the types an application may state → Chinese label
    urgent: str = ""  # the type that is 急难: may be advanced (先行救助) or take the short path


@dataclass(frozen=True)
class Programme:
    name: str
    label: str
    level: str  # "household" or "member"
    eligible: str  # the column that says the programme applies
    amount: str | None = None  # the column with the monthly (or one-off) amount in fen
    relevant: str | None = None  # explain only rows where this column is true (None: always)
    parameters: tuple[str, ...] = ()
    # keys read only where the area defines them (a fallback otherwise): never "missing"
    optional_parameters: tuple[str, ...] = ()
    member_parameters: tuple[str, ...] = ()  # parameter columns member phases read
    # the programmes whose results this one reads; when one of them cannot be computed for an
    # area (a parameter missing), neither can this one. None: every programme before it
    depends: tuple[str, ...] | None = None
    # programme → (list parameter, entry): read only where the area's list names the entry
    # (两项补贴 reads 特困 only where 特困人员 are among the living-subsidy groups)
    depends_if: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    member_needs: tuple[str, ...] = ()  # household result columns member phases read
    member_features: Phase | None = None
    # household column → a member expression summed over the household's members (a count is
    # the sum of a condition; null counts 0), Int64; 0 for a household without members
    sums: Sums | None = None
    # the same, for sums the member phases read (`doudi.rules.family`): given to every member
    # of the household, never in the results (their names start with `_`)
    household_facts: Sums | None = None
    household_results: Phase | None = None
    member_results: Phase | None = None
    criteria: tuple[Criterion, ...] = ()
    steps: tuple[Step, ...] = ()
    # scenario output name → (column, kind) with kind in yuan | bool | int | text | ids | yuan_list
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)
    request: OneOffRequest | None = None  # one-off programmes: what an application states
    # list or table parameter → its entries' Chinese names (分类施保对象, 残疾类别 …)
    choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

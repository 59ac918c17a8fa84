"""Evaluate every programme for a batch of households on one day: one Polars plan per phase, the
same for one family at the town office and a million overnight.

Phases: parameters are resolved once per distinct area code and joined onto households; member
features are derived and summed per household (with the household facts member programmes
read); household programmes run in registry order; household results the member programmes
need are gathered back onto members; member programmes run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from doudi.rules.frames import LATER_MEMBER_COLUMNS, MEMBER_SCHEMA, flag_column, params_frame
from doudi.rules.parameters import ParameterMissing, ParameterSet, label_of
from doudi.rules.programmes import PROGRAMMES, Programme
from doudi.rules.programmes.base import Batch

ENGINE = os.environ.get("DOUDI_POLARS_ENGINE", "in-memory")


@dataclass
class Result:
    """Household rows (one per household) and member rows (one per member) with every input,
    the parameters used and each programme's criteria and amounts."""

    households: pl.DataFrame
    members: pl.DataFrame
    day: dt.date
    parameters: ParameterSet
    # parameter values shared by the whole batch, which the frames do not repeat on every row
    constants: dict[str, Any] = field(default_factory=dict)


def selected(names: Iterable[str] | None) -> list[Programme]:
    if names is None:
        return list(PROGRAMMES.values())
    wanted = set(names)
    unknown = wanted - set(PROGRAMMES)
    if unknown:
        raise ValueError(f"未知的救助项目：{'、'.join(sorted(unknown))}")
    # a programme needs the ones before it; keep registry order and include prerequisites
    last = max(i for i, name in enumerate(PROGRAMMES) if name in wanted)
    return list(PROGRAMMES.values())[: last + 1]


def parameter_keys(programmes: Iterable[Programme]) -> set[str]:
    return {k for p in programmes for k in p.parameters}


def optional_keys(programmes: Iterable[Programme]) -> set[str]:
    return {k for p in programmes for k in p.optional_parameters}


UNAVAILABLE = "不可计算"


def missing_column(name: str) -> str:
    """The column naming the missing parameter that keeps programme `name` from being computed
    for a row (null where it was computed)."""
    return f"{name}.missing"


def unavailable_reason(key: str, area_code: str, day: dt.date, *, name: str | None = None,
                       area: str | None = None) -> str:
    """不可计算：缺少参数 KEY（区划 CODE，日期 YYYY-MM-DD）. Pages pass the key's Chinese `name`
    and the `area`'s name, since they never show keys or codes."""
    where = area or area_code
    return f"{UNAVAILABLE}：缺少参数 {name or key}（区划 {where}，日期 {day.isoformat()}）"


def _blocked(
    programmes: list[Programme], missing: list[str], flags: dict[str, Any]
) -> dict[str, str]:
    """Programme → the missing key that keeps it from being computed in one area: one of its
    own parameters, or the root key of a programme it reads (`depends`, `depends_if`)."""
    absent = set(missing)
    blocked: dict[str, str] = {}
    for i, p in enumerate(programmes):
        own = next((k for k in p.parameters if k in absent), None)
        if own is not None:
            blocked[p.name] = own
            continue
        deps = [q.name for q in programmes[:i]] if p.depends is None else list(p.depends)
        deps += [q for q, (key, entry) in p.depends_if.items()
                 if flags.get(flag_column(key, entry))]
        root = next((blocked[d] for d in deps if d in blocked), None)
        if root is not None:
            blocked[p.name] = root
    return blocked


def _member_parameter_columns(
    programmes: list[Programme], columns: frozenset[str]
) -> set[str]:
    """Parameter columns member phases read: the keys themselves, table entries (`key.entry`)
    and list flags (`key[entry]`)."""
    keys = {k for p in programmes for k in p.member_parameters}
    return {c for c in columns if c in keys or c.split("[")[0] in keys
            or c.rsplit(".", 1)[0] in keys}


def _batch(params: pl.DataFrame) -> tuple[Batch, list[str]]:
    """The batch's view of the parameters, and the columns that differ between its areas (those
    are joined by area; the rest become literals)."""
    constants: dict[str, tuple[Any, pl.DataType]] = {}
    varying: list[str] = []
    for name in params.columns:
        if name == "area_code":
            continue
        column = params.get_column(name)
        if column.n_unique() == 1 and not isinstance(column.dtype, pl.List):
            constants[name] = (column[0], column.dtype)
        else:
            varying.append(name)
    columns = frozenset(c for c in params.columns if c != "area_code")
    return Batch(columns, constants), varying


def _prepared(
    parameters: ParameterSet, areas: tuple[str, ...], day: dt.date, programmes: list[Programme]
) -> tuple[pl.DataFrame, Batch, list[str]]:
    """The parameter frame for the areas and the batch view of it, kept on the (immutable)
    parameter set for the next call with the same areas and day."""
    names = tuple(p.name for p in programmes)
    cache: dict = parameters.__dict__.setdefault("_engine_cache", {})
    key = (areas, day, names)
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        missing: dict[str, list[str]] = {}
        params = params_frame(parameters, areas, day, parameter_keys(programmes),
                              optional_keys(programmes), missing)
        cache[key] = (params, *_batch(params), _status(params, missing, programmes))
    return cache[key]


def _status(
    params: pl.DataFrame, missing: dict[str, list[str]], programmes: list[Programme]
) -> pl.DataFrame | None:
    """area_code and, per programme, the missing key that blocks it there (`<name>.missing`);
    None when every programme can be computed in every area."""
    if not missing:
        return None
    rows = []
    for row in params.iter_rows(named=True):
        blocked = _blocked(programmes, missing.get(row["area_code"], []), row)
        rows.append({"area_code": row["area_code"],
                     **{missing_column(p.name): blocked.get(p.name) for p in programmes}})
    schema = {"area_code": pl.String(), **{missing_column(p.name): pl.String()
                                           for p in programmes}}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _blank_blocked(
    h: pl.DataFrame, m: pl.DataFrame, status: pl.DataFrame | None, params: pl.DataFrame,
    programmes: list[Programme],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each programme's `<name>.missing` column, and its results blanked (null) on the rows of
    an area where it cannot be computed: nothing computed from a stand-in value is kept."""
    marks = [missing_column(p.name) for p in programmes]
    if status is None:
        nulls = [pl.lit(None, pl.String).alias(c) for c in marks]
        return h.with_columns(nulls), m.with_columns(nulls)
    h = h.join(status, on="area_code", how="left", maintain_order="left")
    m = m.join(h.select("household_id", *marks), on="household_id", how="left",
               maintain_order="left")
    inputs = set(params.columns)

    def blank(frame: pl.DataFrame) -> pl.DataFrame:
        exprs = []
        for p in programmes:
            mark = pl.col(missing_column(p.name))
            for c in frame.columns:
                if c.startswith(f"{p.name}.") and c not in inputs and c not in marks:
                    exprs.append(pl.when(mark.is_null()).then(pl.col(c)).otherwise(None).alias(c))
        return frame.with_columns(exprs) if exprs else frame

    return blank(h), blank(m)


def household_order(
    households: pl.DataFrame, members: pl.DataFrame
) -> tuple[pl.Series, pl.Series | None]:
    """Each member's household as the household's row number (`_h`), with the members in
    household order: row numbers ascending, a member whose household is not in the batch (null)
    last. Returns the row numbers in that order and the permutation of the members that gives
    it (None when the members came in it).

    Members listed household by household in the households' order (as the registry and the
    synthetic district give them) are numbered by where each household's run of members
    starts, without matching a single key; otherwise the keys are joined and the members put
    in order."""
    keys = households.get_column("household_id")
    own = members.get_column("household_id")
    if own.len() and own.dtype == keys.dtype and own.null_count() == 0:
        starts = own.ne_missing(own.shift(1))
        runs = own.filter(starts)
        if runs.len() == keys.len() and (runs == keys).all():
            return (starts.cum_sum() - 1).cast(pl.UInt32).alias("_h"), None
    rows = members.select("household_id").join(
        households.select("household_id").with_row_index("_h"), on="household_id",
        how="left", maintain_order="left",
    ).get_column("_h")
    if rows.null_count() == 0 and rows.is_sorted():
        return rows, None
    order = rows.arg_sort(nulls_last=True)
    return rows.gather(order), order


def household_sums(
    members: pl.DataFrame, rows: pl.Series, n: int, sums: Mapping[str, pl.Expr]
) -> pl.DataFrame:
    """Each household's sums over its members (`Programme.sums`, `household_facts`), one row per
    household in household order, 0 for a household without members. The members are in
    household order (`household_order`), so each household's members are one run and a sum is
    a reduction over each run: no hashing, no grouping, nothing to put back in order."""
    schema = {name: pl.Int64() for name in sums}
    if not sums:
        return pl.DataFrame()
    known = rows.len() - rows.null_count()  # members of no household in the batch are last
    placed = rows.slice(0, known).to_numpy()
    ends = np.append(np.flatnonzero(placed[1:] != placed[:-1]), known - 1) if known \
        else np.zeros(0, dtype=np.intp)  # where each household's run ends
    which = placed[ends]  # the household of each run
    everyone = ends.size == n  # every household has members: run k is household k
    # conditions stay booleans (a bit a member, not eight bytes) until they are counted
    frame = members.lazy().select(expr.alias(name) for name, expr in sums.items())
    values = frame.select(
        pl.col(name).fill_null(False) if dtype == pl.Boolean
        else pl.col(name).cast(pl.Int64).fill_null(0)
        for name, dtype in frame.collect_schema().items()
    ).collect(engine=ENGINE)
    running = np.empty(known, dtype=np.int64)  # one buffer for every sum's running totals
    columns: dict[str, np.ndarray] = {}
    for name in sums:
        # a run's sum is the difference of the running totals at its end and the previous one's
        np.cumsum(values.get_column(name).to_numpy()[:known], dtype=np.int64, out=running)
        per_run = np.diff(running[ends], prepend=0)
        if everyone:
            columns[name] = per_run
        else:
            columns[name] = np.zeros(n, dtype=np.int64)
            columns[name][which] = per_run
    return pl.DataFrame(columns, schema=schema)


def run(
    households: pl.DataFrame, members: pl.DataFrame, params: pl.DataFrame, b: Batch,
    varying: list[str], programmes: list[Programme],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The phases, each one plan collected in turn, so every intermediate is computed once.

    Members are worked on in household order and reach their household by row number
    (`household_order`), never by key: the household columns the member phases read are
    gathered onto members by that number, every household sum is computed in one pass over
    the members' runs (`household_sums`), and the household results the member programmes read
    are gathered back the same way. The members are returned in the order they came in."""
    n = households.height
    rows, order = household_order(households, members)
    if order is not None:
        members = members[order]

    def gathered(frame: pl.DataFrame, columns: list[str]) -> list[pl.Series]:
        """`columns` of a household-ordered frame, one row per member (a frame's take: the
        columns in parallel, each in one piece)."""
        return frame.select(columns)[rows].get_columns() if columns else []

    # the parameters that differ between areas, from the area's row of the parameter frame (the
    # area codes are its categories, in its order): no join of a million households
    area = households.get_column("area_code").cast(
        pl.Enum(params.get_column("area_code"))).to_physical()
    h_df = households.hstack(params.select(varying)[area]) if varying else households
    h_df = h_df.lazy().with_columns(
        pl.when(pl.col("hukou") == "urban").then(b.param("dibao.standard.urban"))
        .otherwise(b.param("dibao.standard.rural")).alias("standard")
    ).collect(engine=ENGINE)

    wanted = _member_parameter_columns(programmes, b.columns)
    joined = ["standard", "hukou", *sorted(c for c in wanted if c in varying)]
    m = members.with_columns(rows.alias("_h"), *gathered(h_df, joined)).lazy()
    for p in programmes:
        if p.member_features:
            m = p.member_features(m, b)
    m_df = m.collect(engine=ENGINE)

    sums = {k: e for p in programmes if p.sums for k, e in p.sums(b).items()}
    facts = {k: e for p in programmes if p.household_facts
             for k, e in p.household_facts(b).items()}
    totals = household_sums(m_df, rows, n, {**sums, **facts})

    h = h_df.hstack(totals.select(list(sums))).lazy()
    for p in programmes:
        if p.household_results:
            h = p.household_results(h, b)
    h_df = h.collect(engine=ENGINE)

    needs = sorted({c for p in programmes for c in p.member_needs})
    m = m_df.with_columns(*gathered(h_df, needs), *gathered(totals, list(facts))).lazy()
    for p in programmes:
        if p.member_results:
            m = p.member_results(m, b)
    m_df = m.drop("_h", *facts).collect(engine=ENGINE)
    if order is not None:  # back to the order the members came in
        m_df = m_df[order.arg_sort()]
    return h_df, m_df


def evaluate(
    households: pl.DataFrame, members: pl.DataFrame, parameters: ParameterSet, day: dt.date,
    programmes: Iterable[str] | None = None, strict: bool = False,
) -> Result:
    """Every programme for every household. A programme whose parameter is missing for an area
    on the day (or that reads such a programme) is not computed there: its results are null and
    `<name>.missing` names the missing key (`unavailable`); the others are computed. `strict`
    raises `ParameterMissing` instead, for callers that need every programme."""
    chosen = selected(programmes)
    areas = tuple(households.get_column("area_code").unique().sort().to_list())
    params, batch, varying, status = _prepared(parameters, areas, day, chosen)
    if strict and status is not None:
        found = unavailable(status, chosen)
        if found:
            _, area, key = found[0]
            raise ParameterMissing(
                f"缺少参数 {label_of(key)}：区划 {area} 在 {day} 没有生效的取值")
    absent = [c for c in LATER_MEMBER_COLUMNS if c not in members.columns]
    if absent:  # frames built before members carried these inputs
        members = members.with_columns(
            pl.lit(LATER_MEMBER_COLUMNS[c], MEMBER_SCHEMA[c]).alias(c) for c in absent)
    h, m = run(households, members, params, batch, varying, chosen)
    h, m = _blank_blocked(h, m, status, params, chosen)
    constants = {name: value for name, (value, _) in batch.constants.items()}
    return Result(h, m, day, parameters, constants)


def unavailable(
    frame: pl.DataFrame | None, programmes: Iterable[Programme] | None = None
) -> list[tuple[str, str, str]]:
    """(programme, area code, missing key) for every programme not computed somewhere in a
    result's household frame (or a status frame), in programme order."""
    if frame is None:
        return []
    chosen = list(PROGRAMMES.values()) if programmes is None else list(programmes)
    out = []
    for p in chosen:
        column = missing_column(p.name)
        if column not in frame.columns:
            continue
        for area, key in frame.select("area_code", column).filter(
                pl.col(column).is_not_null()).unique(maintain_order=True).iter_rows():
            out.append((p.name, area, key))
    return out

"""Evaluate every programme for a batch of households on one day: one lazy Polars plan, the same
for one family at the town office and a million overnight.

Phases: parameters are resolved once per distinct area code and joined onto households; member
features are derived and aggregated per household; household programmes run in registry order;
household results the member programmes need are joined back; member programmes run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.rules.frames import LATER_MEMBER_COLUMNS, MEMBER_SCHEMA, flag_column, params_frame
from doudi.rules.parameters import ParameterMissing, ParameterSet, label_of
from doudi.rules.programmes import PROGRAMMES, Programme
from doudi.rules.programmes.base import Batch

ENGINE = os.environ.get("DOUDI_POLARS_ENGINE", "in-memory")
STREAMING_FROM = 10_000  # households; below this the streaming engine's start-up costs more


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


def household_rows(households: pl.DataFrame, members: pl.DataFrame) -> pl.Series:
    """Each member's household as the household's row number (`_h`; null for a member whose
    household is not in the batch). Members listed household by household, in the households'
    order (as the registry and the synthetic district give them), are numbered by where each
    household's run of members starts, without matching a single key; otherwise the keys are
    joined."""
    keys = households.get_column("household_id")
    own = members.get_column("household_id")
    if own.len() and own.dtype == keys.dtype and own.null_count() == 0:
        starts = own.ne_missing(own.shift(1))
        runs = own.filter(starts)
        if runs.len() == keys.len() and (runs == keys).all():
            # not flagged sorted: Polars groups a sorted key several times slower
            return (starts.cum_sum() - 1).cast(pl.UInt32).alias("_h")
    return members.select("household_id").join(
        households.select("household_id").with_row_index("_h"), on="household_id",
        how="left", maintain_order="left",
    ).get_column("_h")


def _aligned(grouped: pl.DataFrame, n: int) -> pl.DataFrame:
    """The grouping's rows in household order, one per household: null for a household with no
    member (the group of members of no household in the batch is left out)."""
    keys = grouped.get_column("_h")
    values = grouped.drop("_h")
    if grouped.height == n and keys.null_count() == 0 and (
            n == 0 or (keys.is_sorted() and keys[0] == 0 and keys[-1] == n - 1)):
        return values  # unique keys, sorted, from 0 to n − 1: already in household order
    found = keys.is_not_null()
    position = pl.arange(0, grouped.height, dtype=pl.UInt32, eager=True)
    slot = pl.repeat(None, n, dtype=pl.UInt32, eager=True).scatter(
        keys.filter(found), position.filter(found))
    return values.select(pl.all().gather(slot))


def run(
    households: pl.DataFrame, members: pl.DataFrame, params: pl.DataFrame, b: Batch,
    varying: list[str], programmes: list[Programme],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The phases, each one plan collected in turn, so every intermediate is computed once.

    A member reaches its household by row number (`household_rows`), never by key: household
    columns the member phases read are gathered onto members by that number, and the one
    grouping of members by household (every programme's aggregates and household facts)
    comes back in household order. A large batch groups on Polars' streaming engine, which
    groups a million households several times faster than the in-memory one."""
    n = households.height
    big = n >= STREAMING_FROM
    rows = household_rows(households, members)

    def gathered(frame: pl.DataFrame, columns: Iterable[str]) -> list[pl.Series]:
        return [frame.get_column(c).gather(rows) for c in columns]

    h = households.lazy()
    if varying:
        h = h.join(params.lazy().select("area_code", *varying), on="area_code", how="left",
                   maintain_order="left")
    h_df = h.with_columns(
        pl.when(pl.col("hukou") == "urban").then(b.param("dibao.standard.urban"))
        .otherwise(b.param("dibao.standard.rural")).alias("standard")
    ).collect(engine=ENGINE)

    wanted = _member_parameter_columns(programmes, b.columns)
    joined = ["standard", "hukou", *sorted(c for c in wanted if c in varying)]
    m = members.with_columns(rows, *gathered(h_df, joined)).lazy()
    for p in programmes:
        if p.member_features:
            m = p.member_features(m, b)
    m_df = m.collect(engine=ENGINE)

    aggs = [e for p in programmes if p.aggregates for e in p.aggregates()]
    facts = [e for p in programmes if p.household_facts for e in p.household_facts(b)]
    grouped = _aligned(
        m_df.lazy().group_by("_h").agg(*aggs, *facts)
        .collect(engine="streaming" if big else ENGINE), n)
    agg_names = [e.meta.output_name() for e in aggs]
    fact_names = [e.meta.output_name() for e in facts]

    h = h_df.hstack(grouped.select(agg_names)).lazy().with_columns(
        pl.col(agg_names).fill_null(0))
    for p in programmes:
        if p.household_results:
            h = p.household_results(h, b)
    h_df = h.collect(engine=ENGINE)

    needs = sorted({c for p in programmes for c in p.member_needs})
    m = m_df.with_columns(*gathered(h_df, needs), *gathered(grouped, fact_names)).lazy()
    for p in programmes:
        if p.member_results:
            m = p.member_results(m, b)
    return h_df, m.drop("_h", *fact_names).collect(engine=ENGINE)


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

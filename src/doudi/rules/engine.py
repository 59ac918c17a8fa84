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

from doudi.rules.frames import params_frame
from doudi.rules.parameters import ParameterSet
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
        params = params_frame(parameters, areas, day, parameter_keys(programmes))
        cache[key] = (params, *_batch(params))
    return cache[key]


def run(
    households: pl.DataFrame, members: pl.DataFrame, params: pl.DataFrame, b: Batch,
    varying: list[str], programmes: list[Programme],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The phases, each one lazy plan collected in turn. Collecting between phases keeps every
    intermediate computed once, and lets the grouping of a large batch run on Polars' streaming
    engine, which groups a million households several times faster than the in-memory one."""
    # `_h` is the household's row number: every later join and the grouping use it instead of
    # the caller's key
    h = households.lazy().with_row_index("_h")
    if varying:
        h = h.join(params.lazy().select("area_code", *varying), on="area_code", how="left",
                   maintain_order="left")
    big = households.height >= STREAMING_FROM

    def done(frame: pl.LazyFrame) -> pl.LazyFrame:
        # a large batch computes each phase once and moves on; a small one keeps one plan,
        # whose fixed cost per collection would otherwise dominate
        return frame.collect(engine=ENGINE).lazy() if big else frame.cache()

    h_df = done(h.with_columns(
        pl.when(pl.col("hukou") == "urban").then(b.param("dibao.standard.urban"))
        .otherwise(b.param("dibao.standard.rural")).alias("standard")
    ))

    wanted = _member_parameter_columns(programmes, b.columns)
    joined = ["_h", "standard", "hukou", *sorted(c for c in wanted if c in varying)]
    m = members.lazy().join(h_df.select("household_id", *joined), on="household_id",
                            how="left", maintain_order="left")
    for p in programmes:
        if p.member_features:
            m = p.member_features(m, b)
    m_df = done(m)

    aggs = [e for p in programmes if p.aggregates for e in p.aggregates()]
    agg = m_df.group_by("_h").agg(aggs)
    if big:
        agg = agg.collect(engine="streaming").lazy()
    agg_names = [e.meta.output_name() for e in aggs]
    h = h_df.join(agg, on="_h", how="left", maintain_order="left").with_columns(
        pl.col(agg_names).fill_null(0)
    )
    for p in programmes:
        if p.household_results:
            h = p.household_results(h, b)
    h_df = done(h)

    needs = sorted({c for p in programmes for c in p.member_needs})
    m = m_df.join(h_df.select("_h", *needs), on="_h", how="left",
                         maintain_order="left")
    for p in programmes:
        if p.member_results:
            m = p.member_results(m, b)
    h_out, m_out = pl.collect_all([h_df.drop("_h"), m.drop("_h")], engine=ENGINE)
    return h_out, m_out


def evaluate(
    households: pl.DataFrame, members: pl.DataFrame, parameters: ParameterSet, day: dt.date,
    programmes: Iterable[str] | None = None,
) -> Result:
    chosen = selected(programmes)
    areas = tuple(households.get_column("area_code").unique().sort().to_list())
    params, batch, varying = _prepared(parameters, areas, day, chosen)
    h, m = run(households, members, params, batch, varying, chosen)
    constants = {name: value for name, (value, _) in batch.constants.items()}
    return Result(h, m, day, parameters, constants)

"""Evaluate every programme for a batch of households on one day: one lazy Polars plan, the same
for one family at the town office and a million overnight.

Phases: parameters are resolved once per distinct area code and joined onto households; member
features are derived and aggregated per household; household programmes run in registry order;
household results the member programmes need are joined back; member programmes run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from doudi.rules.frames import params_frame
from doudi.rules.parameters import ParameterSet
from doudi.rules.programmes import PROGRAMMES, Programme


@dataclass
class Result:
    """Household rows (one per household) and member rows (one per member) with every input,
    the parameters used and each programme's criteria and amounts."""

    households: pl.DataFrame
    members: pl.DataFrame
    day: dt.date
    parameters: ParameterSet


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


def plan(
    households: pl.LazyFrame, members: pl.LazyFrame, params: pl.LazyFrame,
    programmes: list[Programme],
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    params = params.with_columns(
        pl.col("dibao.standard.urban").alias("_standard_urban"),
        pl.col("dibao.standard.rural").alias("_standard_rural"),
    )
    h = households.join(params, on="area_code", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("hukou") == "urban").then(pl.col("_standard_urban"))
        .otherwise(pl.col("_standard_rural")).alias("standard")
    ).drop("_standard_urban", "_standard_rural")

    columns = frozenset(params.collect_schema().names())
    member_params = {"standard", "hukou", *_member_parameter_columns(programmes, columns)}
    m = members.join(h.select("household_id", *sorted(member_params)), on="household_id",
                     how="left", maintain_order="left")
    for p in programmes:
        if p.member_features:
            m = p.member_features(m, columns)
    aggs = [e for p in programmes if p.aggregates for e in p.aggregates()]
    agg = m.group_by("household_id").agg(aggs)
    agg_names = [e.meta.output_name() for e in aggs]
    h = h.join(agg, on="household_id", how="left", maintain_order="left").with_columns(
        pl.col(agg_names).fill_null(0)
    )
    for p in programmes:
        if p.household_results:
            h = p.household_results(h, columns)
    needs = sorted({c for p in programmes for c in p.member_needs})
    m = m.join(h.select("household_id", *needs), on="household_id", how="left",
               maintain_order="left")
    for p in programmes:
        if p.member_results:
            m = p.member_results(m, columns)
    return h, m


def evaluate(
    households: pl.DataFrame, members: pl.DataFrame, parameters: ParameterSet, day: dt.date,
    programmes: Iterable[str] | None = None,
) -> Result:
    chosen = selected(programmes)
    areas = households.get_column("area_code").unique().sort().to_list()
    params = params_frame(parameters, areas, day, parameter_keys(chosen))
    h, m = plan(households.lazy(), members.lazy(), params.lazy(), chosen)
    h_df, m_df = pl.collect_all([h, m], engine="in-memory")
    return Result(h_df, m_df, day, parameters)

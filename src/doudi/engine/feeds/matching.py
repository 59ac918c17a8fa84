"""Matching department rows to registry persons (人员比对).

By resident ID first (`match` = "id"); a row whose ID nobody in the registry holds, or that has
no ID, is matched by name + birth date when exactly one registry person has both
(`match` = "name_birth", a weaker match shown as such). Every other row stays, with a null
`person_id` and `match` = "none": unmatched rows are reported, never dropped.

A row whose ID belongs to a registry person of another name (under the variants the district
allows, `names`) is matched to nobody: `match` = "name_mismatch". The importer refuses such a
row ("身份证号与姓名不符"): a truncated ID may be someone else's valid one.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from doudi.engine.feeds.cells import birth_date_of_id
from doudi.engine.feeds.feedspec import FeedSpec
from doudi.engine.feeds.names import normalise_name

PERSON_SCHEMA = {"person_id": pl.Int64, "id_number": pl.String, "name": pl.String,
                 "birth_date": pl.Date}
MATCH_KINDS = {"id": "身份证号", "name_birth": "姓名+出生日期（弱匹配）", "none": "未匹配",
               "name_mismatch": "身份证号与姓名不符（未匹配）"}
NAME_MISMATCH = "身份证号与姓名不符"


def match(rows: pl.DataFrame, spec: FeedSpec, persons: pl.DataFrame,
          name_variants: Iterable[str] = ()) -> pl.DataFrame:
    """`rows` with `person_id` (Int64, null when unmatched) and `match` appended. `persons`
    may carry `former_names` (a list of 曾用名), read when `name_variants` allows them."""
    variants = set(name_variants)
    former = "former_names" in persons.columns and "former_names" in variants
    formers = persons.select("person_id", "former_names") if former else None
    persons = persons.select(list(PERSON_SCHEMA)).cast(PERSON_SCHEMA)  # type: ignore[arg-type]
    out = rows.with_row_index("__i")
    mismatch = pl.lit(False)
    if spec.id_field:
        by_id = persons.select(pl.col("id_number").alias(spec.id_field),
                               pl.col("person_id").alias("__by_id"),
                               pl.col("name").alias("__registry_name"))
        out = out.join(by_id, on=spec.id_field, how="left")
        if spec.name_field:
            out = _name_check(out, spec.name_field, variants, formers)
            mismatch = pl.col("__mismatch")
            out = out.with_columns(pl.when(~mismatch).then(pl.col("__by_id")).alias("__by_id"))
        out = out.drop("__registry_name")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("__by_id"))
    if spec.name_field:
        birth = (pl.col(spec.birth_field) if spec.birth_field
                 else birth_date_of_id(pl.col(spec.id_field)))
        unique = (persons.filter(pl.len().over("name", "birth_date") == 1)
                  .select(pl.col("name").alias("__name"), pl.col("birth_date").alias("__birth"),
                          pl.col("person_id").alias("__by_name")))
        out = (out.with_columns(pl.col(spec.name_field).alias("__name"), birth.alias("__birth"))
               .join(unique, on=["__name", "__birth"], how="left")
               .drop("__name", "__birth"))
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("__by_name"))
    return (out.sort("__i").with_columns(
        pl.when(~mismatch).then(pl.coalesce("__by_id", "__by_name")).alias("person_id"),
        pl.when(mismatch).then(pl.lit("name_mismatch"))
        .when(pl.col("__by_id").is_not_null()).then(pl.lit("id"))
        .when(pl.col("__by_name").is_not_null()).then(pl.lit("name_birth"))
        .otherwise(pl.lit("none")).alias("match"))
        .drop("__i", "__by_id", "__by_name", "__mismatch", strict=False))


def _name_check(out: pl.DataFrame, name_field: str, variants: set[str],
                formers: pl.DataFrame | None) -> pl.DataFrame:
    """`__mismatch`: the row has a name and the ID's registry person has another (nor, where
    allowed, is it one of their former names). A blank name is not checked."""
    given = normalise_name(pl.col(name_field), variants)
    differs = (pl.col("__by_id").is_not_null() & pl.col(name_field).is_not_null()
               & (given != normalise_name(pl.col("__registry_name"), variants)))
    out = out.with_columns(differs.fill_null(False).alias("__mismatch"))
    if formers is not None and out.get_column("__mismatch").any():
        known = (formers.explode("former_names").drop_nulls()
                 .select(pl.col("person_id").alias("__by_id"),
                         normalise_name(pl.col("former_names"), variants).alias("__former"),
                         pl.lit(True).alias("__was")))
        out = (out.with_columns(given.alias("__former"))
               .join(known, on=["__by_id", "__former"], how="left")
               .with_columns((pl.col("__mismatch") & pl.col("__was").is_null())
                             .alias("__mismatch"))
               .drop("__former", "__was").unique("__i", keep="first"))
    return out

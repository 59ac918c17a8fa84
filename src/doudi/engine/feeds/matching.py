"""Matching department rows to registry persons (人员比对).

By resident ID first (`match` = "id"); a row whose ID nobody in the registry holds, or that has
no ID, is matched by name + birth date when exactly one registry person has both
(`match` = "name_birth", a weaker match shown as such). Every other row stays, with a null
`person_id` and `match` = "none": unmatched rows are reported, never dropped.
"""

from __future__ import annotations

import polars as pl

from doudi.engine.feeds.cells import birth_date_of_id
from doudi.engine.feeds.feedspec import FeedSpec

PERSON_SCHEMA = {"person_id": pl.Int64, "id_number": pl.String, "name": pl.String,
                 "birth_date": pl.Date}
MATCH_KINDS = {"id": "身份证号", "name_birth": "姓名+出生日期（弱匹配）", "none": "未匹配"}


def match(rows: pl.DataFrame, spec: FeedSpec, persons: pl.DataFrame) -> pl.DataFrame:
    """`rows` with `person_id` (Int64, null when unmatched) and `match` appended."""
    persons = persons.select(list(PERSON_SCHEMA)).cast(PERSON_SCHEMA)  # type: ignore[arg-type]
    out = rows.with_row_index("__i")
    if spec.id_field:
        by_id = persons.select(pl.col("id_number").alias(spec.id_field),
                               pl.col("person_id").alias("__by_id"))
        out = out.join(by_id, on=spec.id_field, how="left")
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
        pl.coalesce("__by_id", "__by_name").alias("person_id"),
        pl.when(pl.col("__by_id").is_not_null()).then(pl.lit("id"))
        .when(pl.col("__by_name").is_not_null()).then(pl.lit("name_birth"))
        .otherwise(pl.lit("none")).alias("match"))
        .drop("__i", "__by_id", "__by_name"))

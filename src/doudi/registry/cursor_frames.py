"""Querysets read straight into Polars for the batch paths (the rules' inputs of a district, the
monitoring run): the SQL the ORM compiles, run on its cursor, so no model instance is built and
no field converts a value per row — an encrypted column comes back as its stored ciphertext,
never decrypted. Dates are selected as text (`as_text`): SQLite's per-row date converter costs
more than the fetch."""

from __future__ import annotations

from typing import Any

import polars as pl
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast


def as_text(field: str) -> Cast:
    """A date column as its ISO text (read back as a Polars date by `read_frame`)."""
    return Cast(field, CharField())


def read_frame(query: QuerySet[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of a `values_list` query as a frame of `schema` (its columns in the query's
    order). A pl.Date column is expected as text."""
    try:
        sql, params = query.query.get_compiler(using=query.db).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (`pk__in=[]`, `.none()`)
        return pl.DataFrame(schema=schema)
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows and len(rows[0]) != len(schema):
        raise ValueError(f"query gives {len(rows[0])} columns, schema names {len(schema)}")
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    # rows straight into Polars (faster than transposing them in Python); dates as text
    frame = pl.DataFrame(rows, schema={n: pl.String() if n in dates else t
                                       for n, t in schema.items()},
                         orient="row", strict=False)
    return frame.with_columns(pl.col(n).str.slice(0, 10).str.to_date("%Y-%m-%d")
                              for n in dates) if dates else frame

"""Which economic facts count on a day (当前有效的经济状况): the one definition that the rules'
inputs, the household page, the API and the verification report all read.

A fact is an `Observation` of a member or of the household. On a day, for each (household,
member, kind, item) the latest row observed on or before the day counts (a new month's
declaration replaces the last), leaving out rows a correction superseded (they were wrong
from the start, so they count on no day); when that latest row has ended on or before the day
(失业, 房屋出售), nothing counts for the item — an older row does not come back.

`current` gives the rows of a few households (a page, the API); `current_frame` gives the same
facts of a whole district as a frame, for the batch paths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db.models import QuerySet

from doudi.registry.cursor_frames import as_text, read_frame
from doudi.registry.models import Observation

#: the fields `current` reads of rows passed as `.values(...)` dicts
KEY_FIELDS = ("household_id", "person_id", "kind", "item", "ended_on")


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def current(observations: QuerySet[Observation], day: dt.date) -> list[Any]:
    """The facts of `observations` that count on `day`, as model rows or — when the queryset
    is a `.values(...)` one, which must name `KEY_FIELDS` — as dicts."""
    rows = (observations.filter(superseded_by__isnull=True, observed_on__lte=day)
            .order_by("household_id", "person_id", "kind", "item", "-observed_on", "-id"))
    found, seen = [], set()
    for row in rows:
        key = tuple(_get(row, name) for name in KEY_FIELDS[:4])
        if key in seen:
            continue
        seen.add(key)
        ended = _get(row, "ended_on")
        if ended is None or ended > day:
            found.append(row)
    return found


#: what `current_frame` gives of each fact
FRAME_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "person_id": pl.Int64(), "kind": pl.String(),
    "item": pl.String(), "amount_fen": pl.Int64(), "quantity": pl.Int64(),
}


def current_frame(observations: QuerySet[Observation], day: dt.date) -> pl.DataFrame:
    """The facts of `observations` that count on `day`, as `current` chooses them, in a frame
    of FRAME_SCHEMA: read on the database cursor and chosen in Polars, for a district's
    millions of observations."""
    rows = read_frame(
        observations.filter(superseded_by__isnull=True, observed_on__lte=day).order_by()
        .annotate(_observed=as_text("observed_on"), _ended=as_text("ended_on"))
        .values_list(*FRAME_SCHEMA, "_observed", "id", "_ended"),
        {**FRAME_SCHEMA, "observed_on": pl.Date(), "id": pl.Int64(), "ended_on": pl.Date()})
    key = list(KEY_FIELDS[:4])
    latest = (rows.sort(["observed_on", "id"], descending=True)
              .unique(key, keep="first", maintain_order=True))
    return (latest.filter(pl.col("ended_on").is_null() | (pl.col("ended_on") > day))
            .sort(key, nulls_last=False).select(list(FRAME_SCHEMA)))

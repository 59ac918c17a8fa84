"""The database as the monitoring run reads it: the registry of an area as the rules' frames
(with resident IDs, wages and declared medical spending), the enrollments in force, and what
each department feed says now (`exchange.current`). Feed rows matched to a person at import
(by ID, or weakly by name and birth date) carry that person's registry ID.

Resident IDs are compared as the registry stores them, encrypted: members carry their stored
ciphertext, a feed row matched at import its person's, and any other row its typed ID
encrypted the way the import matches IDs (`registry.fields.tokens_of`). Nothing of the
registry is decrypted; the warnings' evidence never shows an ID (`engine.monitoring.run`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
from django.db.models import Q

from doudi.benefits import coverage
from doudi.benefits.models import Enrollment, ReviewTask
from doudi.core.crypto import key_id_of
from doudi.engine.feeds.feedspec import parse_spec
from doudi.engine.monitoring.run import (
    COVERED_STATUSES,
    ENROLLMENT_SCHEMA,
    REVIEW_SCHEMA,
    Inputs,
)
from doudi.exchange.current import current_rows
from doudi.exchange.models import FeedType
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.fields import STORE, tokens_of
from doudi.registry.models import CategoryAssignment, Household, Membership
from doudi.registry.rules_input import build_frames


def _enrollments(area_code: str, day: dt.date) -> pl.DataFrame:
    rows = list(Enrollment.objects.filter(area_code__startswith=area_code,
                                          status__in=COVERED_STATUSES)
                .values_list("household_id", "person_id", "programme", "part", "status",
                             "amount_fen"))
    # each enrollment as the programme the run compares eligibility with (单人保 as 低保; one-off
    # 临时救助 not at all), a part as its part (两项补贴's subsidies are compared one by one);
    # recognitions kept as registry categories (低保边缘、支出型困难 have no monthly payment)
    # count as covered too. A paid programme's category (低保, 特困) does not: it follows the
    # enrollment, and alone it is no coverage (`coverage.paid_statuses`).
    compared = {code: catalogue.compared_with(code) for code in {r[2] for r in rows}}
    out = [(h, p, part or compared[programme], s, a) for h, p, programme, part, s, a in rows
           if compared[programme]]
    open_now = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    paid = {p.category for p in coverage.paid_statuses()}
    recognitions = [c for c in catalogue.categories() if c not in paid]
    categories = (CategoryAssignment.objects.filter(open_now, category__in=recognitions,
                                                    area_code__startswith=area_code)
                  .values_list("household_id", "person_id", "category"))
    memberships = dict(Membership.objects.filter(
        open_now, person_id__in=[p for _, p, _ in categories if p]).values_list(
        "person_id", "household_id"))
    for household_id, person_id, category in categories:
        household = household_id or memberships.get(person_id)
        if household is not None:
            out.append((household, person_id, category, "active", 0))
    return pl.DataFrame(out, schema=ENROLLMENT_SCHEMA, orient="row").unique(
        ["household_id", "member_id", "programme"], keep="first", maintain_order=True)


def _feed(feed: FeedType, ids: pl.DataFrame) -> tuple[pl.DataFrame | None, list[int]]:
    spec = parse_spec(feed.spec)
    rows, batches = current_rows(feed)
    if rows.height == 0 or not spec.id_field:
        return None, [b.version for b in batches]
    if spec.id_field != "id_number":
        rows = rows.drop("id_number", strict=False).rename({spec.id_field: "id_number"})
    rows = rows.with_columns(pl.col("id_number").cast(pl.String))
    if "person_id" in rows.columns:  # the import's match wins over the typed ID
        # a row matched to a person outside the area is another area's (a province run city by
        # city neither holds nor encrypts the other cities' rows)
        rows = rows.filter(pl.col("person_id").is_null()
                           | pl.col("person_id").is_in(ids.get_column("person_id").implode()))
        rows = rows.join(ids, on="person_id", how="left")
    else:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("_registry_id"))
    typed = rows.filter(pl.col("_registry_id").is_null()).get_column("id_number")
    rows = rows.with_columns(pl.coalesce(
        "_registry_id", pl.col("id_number").replace_strict(
            _as_stored(typed, ids.get_column("_registry_id")), default=None,
            return_dtype=pl.String)).alias("id_number")).drop("_registry_id")
    # evidence cites the batch and row; the import's match columns are the run's business only
    rows = rows.rename({"__version": "batch"}).drop("__batch", "person_id", "match",
                                                    strict=False)
    return rows, [b.version for b in batches]


def _as_stored(typed: pl.Series, stored: pl.Series) -> dict[str, str]:
    """A department row's typed resident ID → the form the registry stores it in: the token
    of the key the registry holds it under, else (nobody holds it) the current key's. The IDs
    are encrypted (`tokens_of`, as the import matches them), the registry is not decrypted."""
    tokens = tokens_of(typed.drop_nulls().to_list())
    if not tokens:
        return {}
    held = set(stored.filter(stored.is_in(list(tokens))).to_list())
    current = STORE.ring().current
    out: dict[str, str] = {}
    for token, number in tokens.items():
        if token in held or (number not in out and key_id_of(token) == current):
            out[number] = token
    return out


def gather(area_code: str, day: dt.date,
           progress: Callable[[int, str], None] = lambda p, s: None) -> tuple[Inputs, dict]:
    """The run's inputs for an area, and a summary of where they came from."""
    progress(5, "读取家庭档案")
    households = Household.objects.filter(area_code__startswith=area_code, is_active=True)
    h, m = build_frames(households, day, extras=True)
    m = m.with_columns(pl.col("member_id").cast(pl.Int64))
    progress(30, "读取保障对象")
    enrollments = _enrollments(area_code, day)
    progress(40, "读取部门数据")
    # members' IDs are as stored (ciphertext); feed rows are brought to the same form
    ids = m.select(pl.col("member_id").alias("person_id"),
                   pl.col("id_number").alias("_registry_id"))
    feeds: dict[str, pl.DataFrame] = {}
    used: dict[str, list[int]] = {}
    for feed in FeedType.objects.order_by("key"):
        frame, versions = _feed(feed, ids)
        if frame is not None:
            feeds[feed.key] = frame
            used[feed.key] = versions
    # a review of a part is that part's (each part of a person is reviewed on its own)
    reviews = pl.DataFrame([
        (h, p, part or programme, due) for h, p, programme, part, due in
        ReviewTask.objects.filter(status=ReviewTask.OPEN, area_code__startswith=area_code)
        .values_list("enrollment__household_id", "enrollment__person_id",
                     "enrollment__programme", "enrollment__part", "due_date")],
        schema=REVIEW_SCHEMA, orient="row")
    summary = {"households": h.height, "persons": m.height, "enrollments": enrollments.height,
               "reviews": reviews.height, "feeds": used}
    return Inputs(households=h, members=m, enrollments=enrollments, feeds=feeds,
                  parameters=parameter_set(), today=day, reviews=reviews), summary

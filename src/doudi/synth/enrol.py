"""Enrolments consistent with the rules (在保对象): evaluate every household of the registry and
record the programme categories for most of those who qualify — not all, so the monitoring has
应保未保 to find. Selection is a fixed integer hash of the household (or person) id and the seed,
so the same population and seed give the same enrolments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl
from django.db import transaction
from django.db.models import QuerySet

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.registry.models import CategoryAssignment, Household
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate
from doudi.rules.parameters import ParameterSet

HOUSEHOLD_CATEGORIES = {"dibao": "dibao.eligible", "edge": "edge.eligible",
                        "hardship": "hardship.eligible"}
PERSON_CATEGORIES = {"tekun": "tekun.eligible"}


@dataclass
class EnrolReport:
    counts: dict[str, int] = field(default_factory=dict)


def chosen_share(ids: pl.Expr, seed: int, coverage_bp: int) -> pl.Expr:
    """A stable pseudo-random share of the ids (Knuth's multiplicative hash)."""
    return ((ids.cast(pl.Int64) * 2_654_435_761 + seed * 40_503) % 1_000_003) % 10_000 \
        < coverage_bp


def enrol_from_rules(households: QuerySet[Household], day: dt.date, parameters: ParameterSet,
                     seed: int = 1, coverage_bp: int = 9_000) -> EnrolReport:
    h, m = build_frames(households, day)
    report = EnrolReport()
    if h.height == 0:
        return report
    result = evaluate(h, m, parameters, day)
    areas = dict(zip(h["household_id"].to_list(), h["area_code"].to_list(), strict=True))
    rows: list[CategoryAssignment] = []
    for category, column in HOUSEHOLD_CATEGORIES.items():
        ids = result.households.filter(
            pl.col(column) & chosen_share(pl.col("household_id"), seed, coverage_bp)
        )["household_id"].to_list()
        rows += [CategoryAssignment(household_id=i, category=category, start_date=day,
                                    area_code=areas[i]) for i in ids]
        report.counts[category] = len(ids)
    for category, column in PERSON_CATEGORIES.items():
        chosen = result.members.filter(
            pl.col(column) & chosen_share(pl.col("member_id").cast(pl.Int64), seed, coverage_bp)
        ).select("member_id", "household_id").to_dicts()
        rows += [CategoryAssignment(person_id=int(r["member_id"]), category=category,
                                    start_date=day, area_code=areas[r["household_id"]])
                 for r in chosen]
        report.counts[category] = len(chosen)
    with transaction.atomic():
        CategoryAssignment.objects.bulk_create(rows, batch_size=2_000)
        audit.record(AuditEvent.IMPORT, object_type="registry.categoryassignment",
                     object_label="按规则测算登记在保类别（合成数据）",
                     changes={**report.counts, "coverage": coverage_bp / 10_000})
    return report

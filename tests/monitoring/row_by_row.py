"""The reference the batch read is held to: the registry read as the monitoring run read it
before it stopped decrypting — the ORM row by row, every resident ID decrypted, and department
rows joined to members on plaintext IDs. Slow and simple on purpose; tests compare the run's
frames and warnings with what this gives."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
from django.db.models import Q

from doudi.benefits import coverage
from doudi.care.models import InstitutionResident
from doudi.core.ages import age_on
from doudi.engine.feeds.feedspec import parse_spec
from doudi.exchange.current import current_rows
from doudi.exchange.models import FeedType
from doudi.programmes import catalogue
from doudi.registry import facts
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation
from doudi.registry.rules_input import (
    COUNTED_VEHICLES,
    EARNED_ITEMS,
    ENGINE_HOUSEHOLD_SCHEMA,
    ENGINE_MEMBER_SCHEMA,
    member_sex,
)
from doudi.rules.frames import STUDENT_LEVELS

HOUSEHOLD = {**ENGINE_HOUSEHOLD_SCHEMA, "annual_medical_expense": pl.Int64()}
MEMBER = {**ENGINE_MEMBER_SCHEMA, "wage": pl.Int64(), "id_number": pl.String()}


def frames(area: str, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Household and member frames of the area's active households, IDs in plaintext."""
    ids = list(Household.objects.filter(area_code__startswith=area, is_active=True)
               .order_by("id").values_list("id", flat=True))
    current = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    memberships = list(
        Membership.objects.filter(current, household_id__in=ids)
        .filter(Q(person__death_date__isnull=True) | Q(person__death_date__gt=day))
        .select_related("person").order_by("household_id", "start_date", "id"))
    person_ids = [m.person_id for m in memberships]
    cats: dict[int, set[str]] = defaultdict(set)
    for pid, category in CategoryAssignment.objects.filter(
            current, person_id__in=person_ids).values_list("person_id", "category"):
        cats[pid].add(category)
    force = coverage.records("covered_households", "", day)
    in_dibao = set(force.filter(programme=catalogue.DIBAO, household_id__in=ids)
                   .values_list("household_id", flat=True))
    in_tekun = set(force.filter(programme=catalogue.TEKUN, person_id__in=person_ids)
                   .values_list("person_id", flat=True))
    in_institution = set(InstitutionResident.objects.filter(
        Q(left_on__isnull=True) | Q(left_on__gt=day), person_id__in=person_ids,
        admitted_on__lte=day).values_list("person_id", flat=True))
    heads: dict[int, int] = {}
    for m in memberships:
        if m.relation == "head" or m.household_id not in heads:
            heads[m.household_id] = m.person_id
    income: dict[tuple[int, int], int] = defaultdict(int)
    earned: dict[tuple[int, int], int] = defaultdict(int)
    wage: dict[tuple[int, int], int] = defaultdict(int)
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for obs in facts.current(Observation.objects.filter(household_id__in=ids), day):
        hid, amount = obs.household_id, obs.amount_fen or 0
        count = obs.quantity if obs.quantity is not None else 1
        if obs.kind == "income":
            pid = obs.person_id or heads.get(hid)
            if pid is None:
                continue
            income[hid, pid] += amount
            earned[hid, pid] += amount if obs.item in EARNED_ITEMS else 0
            wage[hid, pid] += amount if obs.item == "wage" else 0
        elif obs.kind == "asset":
            totals[hid]["financial_assets"] += amount
        elif obs.kind == "housing":
            totals[hid]["houses" if obs.item == "residential" else "non_residential"] += count
        elif obs.kind == "vehicle" and obs.item in COUNTED_VEHICLES:
            totals[hid]["vehicles"] += count
        elif obs.kind == "business":
            totals[hid]["business"] = 1
        elif obs.kind == "expense":
            totals[hid]["expense"] += amount
            totals[hid]["medical"] += amount if obs.item == "medical" else 0
    hh_rows = []
    for hh in Household.objects.filter(id__in=ids).order_by("id"):
        t = totals[hh.id]
        hh_rows.append([hh.id, hh.area_code, hh.hukou_type, t["financial_assets"],
                        t["vehicles"], t["houses"], t["non_residential"], bool(t["business"]),
                        None, t["expense"] * 12, hh.id in in_dibao, 0, None, 0, 0,
                        t["medical"] * 12])
    member_rows = []
    for m in memberships:
        p, pid, key = m.person, m.person_id, (m.household_id, m.person_id)
        grade = p.disability_grade or 0
        member_rows.append([
            m.household_id, str(pid), age_on(p.birth_date, day),
            member_sex(p.sex, p.id_number), income[key], earned[key], grade,
            (p.disability_category or "none") if grade else "none",
            bool(p.serious_illness) or "serious_illness" in cats[pid],
            p.student_status in STUDENT_LEVELS, p.labour_capacity != "none", p.adl_failed,
            p.has_supporter and pid not in in_tekun, "orphan" in cats[pid],
            "de_facto_unsupported" in cats[pid], m.co_resident, False, False,
            pid in in_institution, m.relation or None, False, wage[key], p.id_number])
    return (pl.DataFrame(hh_rows, schema=HOUSEHOLD, orient="row"),
            pl.DataFrame(member_rows, schema=MEMBER, orient="row"))


def feeds(members: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every feed's current rows, the ID column the registry's plaintext ID where the import
    matched the row to a current member, else the typed one."""
    ids = members.select(pl.col("member_id").cast(pl.Int64).alias("person_id"),
                         pl.col("id_number").alias("_registry_id"))
    out = {}
    for feed in FeedType.objects.order_by("key"):
        spec = parse_spec(feed.spec)
        rows, _ = current_rows(feed)
        if rows.height == 0 or not spec.id_field:
            continue
        if spec.id_field != "id_number":
            rows = rows.drop("id_number", strict=False).rename({spec.id_field: "id_number"})
        if "person_id" in rows.columns:
            rows = rows.join(ids, on="person_id", how="left").with_columns(
                pl.coalesce("_registry_id", "id_number").alias("id_number")).drop("_registry_id")
        out[feed.key] = rows.rename({"__version": "batch"}).drop("__batch", "person_id",
                                                                 "match", strict=False)
    return out

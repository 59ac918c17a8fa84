"""The registry as the rules engine reads it (规则测算输入): household and member frames as of a
day, built from current memberships, person facts, open categories, the enrollments in force
and the latest economic observation of each item.

Income and expenses are monthly observations; the facts that count on the day are those
`registry.facts.current` names (the latest of each member's item, neither superseded by a
correction nor ended). Household-level income (no person) is counted with the head. Earned
income is wages (工资性收入) and business income (经营净收入).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import polars as pl
from django.db.models import Q, QuerySet

from doudi.core.ages import age_on
from doudi.programmes import catalogue
from doudi.registry import facts
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation
from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, STUDENT_LEVELS, InputError, sex_of

ENGINE_HOUSEHOLD_SCHEMA = {**HOUSEHOLD_SCHEMA, "household_id": pl.Int64()}
ENGINE_MEMBER_SCHEMA = {**MEMBER_SCHEMA, "household_id": pl.Int64()}
EARNED_ITEMS = {"wage", "business"}
COUNTED_VEHICLES = {"car"}  # 残疾人代步车、燃油摩托车、电动车 are not counted in 广东


def _person_categories(person_ids: list[int], day: dt.date) -> dict[int, set[str]]:
    """The facts the rules read from persons' categories in force (孤儿, 事实无人抚养, 重病)."""
    current = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    by_person: dict[int, set[str]] = defaultdict(set)
    for row in CategoryAssignment.objects.filter(current, person_id__in=person_ids) \
            .values("person_id", "category"):
        by_person[row["person_id"]].add(row["category"])
    return by_person


def _enrolled(household_ids: list[int], person_ids: list[int], day: dt.date) -> tuple[
    set[int], set[int]
]:
    """Households in 低保 (渐退, 单人保) and persons in 特困 (no supporter) on the day: whoever
    is enrolled in force, as `benefits.coverage` counts 在保 — never a category alone."""
    from doudi.benefits import coverage

    force = coverage.records("covered_households", "", day)
    dibao = set(force.filter(programme=catalogue.DIBAO, household_id__in=household_ids)
                .values_list("household_id", flat=True))
    tekun = set(force.filter(programme=catalogue.TEKUN, person_id__in=person_ids)
                .values_list("person_id", flat=True))
    return dibao, tekun


def _in_institution(person_ids: list[int], day: dt.date) -> set[int]:
    """Persons living in an institution on the day (集中供养 / 集中养育): a residency admitted on
    or before it and not left by it — the care register's record, the one place this is kept."""
    from doudi.care.models import InstitutionResident

    return set(InstitutionResident.objects.filter(
        Q(left_on__isnull=True) | Q(left_on__gt=day), person_id__in=person_ids,
        admitted_on__lte=day).values_list("person_id", flat=True))


def member_sex(sex: str | None, id_number: str | None) -> str | None:
    """male / female for the rules: the person's recorded sex, else the resident ID's (an ID
    that does not validate says nothing)."""
    try:
        return sex_of(sex or None, id_number)
    except InputError:
        return None


def _chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def build_frames(
    households: QuerySet[Household], day: dt.date, extras: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Frames for `households` as of `day`: household ids are the registry's, member ids are
    person ids as text. `has_supporter` (有法定义务人且有履行能力) and `adl_failed` (生活不能自理
    项数) are the person's registry facts; a person enrolled in 特困 counts as having no
    supporter whatever the fact says, since the recognition established it.
    `extras` adds what the monitoring run reads too: declared medical spending per year, and
    each member's wage and resident ID."""
    hh_rows, member_rows = [], []
    for ids in _chunks(list(households.order_by("id").values_list("id", flat=True))):
        h, m = _build_chunk(ids, day)
        hh_rows += h
        member_rows += m
    hh_schema, member_schema = ENGINE_HOUSEHOLD_SCHEMA, ENGINE_MEMBER_SCHEMA
    if extras:  # what the monitoring run reads besides the rules' inputs
        hh_schema = {**hh_schema, "annual_medical_expense": pl.Int64()}
        member_schema = {**member_schema, "wage": pl.Int64(), "id_number": pl.String()}
    hh_cols, member_cols = list(hh_schema), list(member_schema)
    return (pl.DataFrame([[r[c] for c in hh_cols] for r in hh_rows], schema=hh_schema,
                         orient="row"),
            pl.DataFrame([[r[c] for c in member_cols] for r in member_rows],
                         schema=member_schema, orient="row"))


def _build_chunk(ids: list[int], day: dt.date) -> tuple[list[dict], list[dict]]:
    current = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    memberships = list(
        Membership.objects.filter(current, household_id__in=ids)
        .filter(Q(person__death_date__isnull=True) | Q(person__death_date__gt=day))
        .values("household_id", "person_id", "relation", "co_resident", "person__birth_date",
                "person__disability_category", "person__disability_grade",
                "person__serious_illness", "person__labour_capacity", "person__student_status",
                "person__has_supporter", "person__adl_failed", "person__id_number",
                "person__sex")
    )
    person_ids = [m["person_id"] for m in memberships]
    person_categories = _person_categories(person_ids, day)
    in_dibao, in_tekun = _enrolled(ids, person_ids, day)
    in_institution = _in_institution(person_ids, day)
    # household-level income is counted with the head (or the first member when there is none)
    heads: dict[int, int] = {}
    for m in memberships:
        if m["relation"] == "head" or m["household_id"] not in heads:
            heads[m["household_id"]] = m["person_id"]
    income: dict[int, int] = defaultdict(int)
    earned: dict[int, int] = defaultdict(int)
    wage: dict[int, int] = defaultdict(int)
    household_facts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    observations = Observation.objects.filter(household_id__in=ids).values(
        *facts.KEY_FIELDS, "amount_fen", "quantity")
    for obs in facts.current(observations, day):
        hid, amount = obs["household_id"], obs["amount_fen"] or 0
        totals = household_facts[hid]
        if obs["kind"] == "income":
            pid = obs["person_id"] or heads.get(hid)
            if pid is None:
                continue  # nobody left in the household on that day
            income[pid] += amount
            if obs["item"] in EARNED_ITEMS:
                earned[pid] += amount
            if obs["item"] == "wage":
                wage[pid] += amount
        elif obs["kind"] == "asset":
            totals["financial_assets"] += amount
        elif obs["kind"] == "housing":
            key = "houses" if obs["item"] == "residential" else "non_residential_property"
            totals[key] += obs["quantity"] if obs["quantity"] is not None else 1
        elif obs["kind"] == "vehicle" and obs["item"] in COUNTED_VEHICLES:
            totals["vehicles"] += obs["quantity"] if obs["quantity"] is not None else 1
        elif obs["kind"] == "business":
            totals["business"] = 1
        elif obs["kind"] == "expense":
            totals["monthly_expense"] += amount
            if obs["item"] == "medical":
                totals["monthly_medical"] += amount

    households = Household.objects.filter(id__in=ids).values("id", "area_code", "hukou_type")
    hh_rows = []
    for hh in households:
        totals = household_facts[hh["id"]]
        hh_rows.append({
            "household_id": hh["id"], "area_code": hh["area_code"], "hukou": hh["hukou_type"],
            "financial_assets": totals["financial_assets"], "vehicles": totals["vehicles"],
            "houses": totals["houses"],
            "non_residential_property": totals["non_residential_property"],
            "business": bool(totals["business"]), "annual_income": None,
            "annual_rigid_expenditure": totals["monthly_expense"] * 12,
            "dibao_enrolled": hh["id"] in in_dibao, "dibao_current_amount": 0,
            "linshi_type": None, "linshi_need": 0, "linshi_received_this_year": 0,
            "annual_medical_expense": totals["monthly_medical"] * 12,
        })
    member_rows = []
    for m in memberships:
        pid = m["person_id"]
        cats = person_categories.get(pid, set())
        grade = m["person__disability_grade"] or 0
        member_rows.append({
            "household_id": m["household_id"], "member_id": str(pid),
            "age": age_on(m["person__birth_date"], day),
            "sex": member_sex(m["person__sex"], m["person__id_number"]),
            "income": income.get(pid, 0), "earned_income": earned.get(pid, 0),
            "disability_grade": grade,
            "disability_type": (m["person__disability_category"] or "none") if grade else "none",
            "serious_illness": bool(m["person__serious_illness"]) or "serious_illness" in cats,
            "student": m["person__student_status"] in STUDENT_LEVELS,
            "labor_capacity": m["person__labour_capacity"] != "none",
            "adl_failed": m["person__adl_failed"],
            "has_supporter": m["person__has_supporter"] and pid not in in_tekun,
            "orphan": "orphan" in cats, "de_facto_unsupported": "de_facto_unsupported" in cats,
            "co_resident": m["co_resident"], "refused_work": False, "childless": False,
            "institutional": pid in in_institution, "relation": m["relation"] or None,
            # the registry records no job as such: work shows as wage or business income
            "employed": False,
            "wage": wage.get(pid, 0), "id_number": m["person__id_number"],
        })
    return hh_rows, member_rows

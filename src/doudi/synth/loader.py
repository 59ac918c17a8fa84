"""Load a synthetic population into the registry (`doudi synth --into-db`, the demo).

Bulk inserts households, persons, memberships and the month's economic observations in
batches, each batch in one transaction, with one audit row per batch (bulk inserts do not pass
through the per-row audit signals). Names' pinyin initials are computed here, as the registry
service would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl
from django.db import transaction

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core.ages import years_before
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.registry.services import name_initials

INCOME_ITEMS = {"income_wage": "wage", "income_business": "business",
                "income_pension": "pension", "income_transfer": "transfer",
                "income_property": "property"}
EXPENSE_ITEMS = {"monthly_medical_expense": "medical", "monthly_education_expense": "education"}
SEVERE = (1, 2)


@dataclass
class LoadReport:
    households: int = 0
    persons: int = 0
    observations: int = 0
    categories: int = 0


def _batches(frame: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    for start in range(0, frame.height, size):
        yield frame.slice(start, size)


def load(households: pl.DataFrame, persons: pl.DataFrame, today: dt.date,
         batch: int = 5_000, since_years: int = 3) -> LoadReport:
    """Insert the population; `households.household_id` / `persons.household_id` link them.
    Memberships start `since_years` before today (or at birth, if later)."""
    areas = {a.code: a for a in Area.objects.filter(
        code__in=households.get_column("area_code").unique().to_list())}
    since = years_before(today, since_years)
    month = today.replace(day=1)
    report = LoadReport()
    for chunk in _batches(households, batch):
        ids = chunk.get_column("household_id")
        by_household: dict[int, list[dict]] = {}
        for p in persons.filter(pl.col("household_id").is_in(ids.implode())).to_dicts():
            by_household.setdefault(p["household_id"], []).append(p)
        with transaction.atomic():
            rows = chunk.to_dicts()
            made = Household.objects.bulk_create([
                Household(number=r["number"], area=areas[r["area_code"]],
                          area_code=r["area_code"], address=r["address"],
                          hukou_type=r["hukou"]) for r in rows
            ], batch_size=2_000)
            members = [(hh, p) for hh, r in zip(made, rows, strict=True)
                       for p in by_household.get(r["household_id"], [])]
            people = Person.objects.bulk_create([_person(hh, p) for hh, p in members],
                                                batch_size=2_000)
            Membership.objects.bulk_create([
                Membership(household=hh, person=person, relation=p["relation"],
                           co_resident=p["co_resident"], area_code=hh.area_code,
                           start_date=max(p["birth_date"], since))
                for (hh, p), person in zip(members, people, strict=True)
            ], batch_size=2_000)
            observations = _observations(made, rows, members, people, month)
            Observation.objects.bulk_create(observations, batch_size=2_000)
            categories = _categories(members, people, month)
            CategoryAssignment.objects.bulk_create(categories, batch_size=2_000)
            audit.record(AuditEvent.IMPORT, object_type="registry.household",
                         object_label="合成人口导入",
                         changes={"households": len(made), "persons": len(people),
                                  "observations": len(observations),
                                  "categories": len(categories)})
        report.households += len(made)
        report.persons += len(people)
        report.observations += len(observations)
        report.categories += len(categories)
    return report


def _person(hh: Household, p: dict) -> Person:
    grade = p["disability_grade"] or None
    return Person(
        id_number=p["id_number"], name=p["name"], name_initials=name_initials(p["name"]),
        sex=p["sex"], birth_date=p["birth_date"], hukou_type=hh.hukou_type,
        area_code=hh.area_code, disability_category=p["disability_category"] if grade else "",
        disability_grade=grade, serious_illness="重病" if p["serious_illness"] else "",
        labour_capacity=p["labour_capacity"], student_status=p["student_status"] or "",
        has_supporter=not (p["childless"] or p["orphan"] or p["de_facto_unsupported"]),
        adl_failed=p["adl_failed"],
    )


def _observations(made: list[Household], rows: list[dict], members: list[tuple[Household, dict]],
                  people: list[Person], month: dt.date) -> list[Observation]:
    out = []
    for (hh, p), person in zip(members, people, strict=True):
        for column, item in INCOME_ITEMS.items():
            if p.get(column):
                out.append(Observation(household=hh, person=person, kind="income", item=item,
                                       amount_fen=p[column], observed_on=month,
                                       source="declared", area_code=hh.area_code))
    for hh, r in zip(made, rows, strict=True):
        def add(kind: str, item: str, amount: int | None = None, quantity: int | None = None,
                hh: Household = hh) -> None:
            out.append(Observation(household=hh, kind=kind, item=item, amount_fen=amount,
                                   quantity=quantity, observed_on=month, source="declared",
                                   area_code=hh.area_code))
        if r["financial_assets"]:
            add("asset", "deposit", amount=r["financial_assets"])
        if r["houses"]:
            add("housing", "residential", quantity=r["houses"])
        if r["non_residential_property"]:
            add("housing", "non_residential", quantity=r["non_residential_property"])
        if r["vehicles"]:
            add("vehicle", "car", quantity=r["vehicles"])
        if r["business"]:
            add("business", "registration")
        for column, item in EXPENSE_ITEMS.items():
            if r.get(column):
                add("expense", item, amount=r[column])
    return out


def _categories(members: list[tuple[Household, dict]], people: list[Person],
                month: dt.date) -> list[CategoryAssignment]:
    """Person categories the population states outright (孤儿, 事实无人抚养, 重度残疾, 重病);
    programme enrolments come from the rules, not from here."""
    out = []
    for (hh, p), person in zip(members, people, strict=True):
        codes = []
        if p["orphan"]:
            codes.append("orphan")
        if p["de_facto_unsupported"]:
            codes.append("de_facto_unsupported")
        if p["disability_grade"] in SEVERE:
            codes.append("severe_disability")
        if p["serious_illness"]:
            codes.append("serious_illness")
        out += [CategoryAssignment(person=person, category=c, start_date=month,
                                   area_code=hh.area_code) for c in codes]
    return out

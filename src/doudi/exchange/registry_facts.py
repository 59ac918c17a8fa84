"""Department lists that are registry facts (登记为人员类别的部门名单): 乡村振兴's 防返贫监测对象
and 脱贫户 lists. A feed type declaring `registry_fact` (engine.feeds.feedspec.RegistryFact) is a
snapshot: each import is the whole list, so after it

- a person matched by ID — or their current household, for a household category — who is on
  the list and not marked ended carries the category, from the list's `since` date (the import
  day when the list gives none);
- a category this feed recorded earlier ends on the import day when its holder is no longer on
  the list or is marked ended (风险已消除). A category a clerk recorded is never touched.

Only persons matched by ID count (a name + birth-date match is not certain enough to change the
registry), and only households inside the importing area. Every change is an audited save.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from django.db.models import Q

from doudi.engine.feeds.feedspec import FeedSpec
from doudi.exchange.models import FeedBatch
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Membership, Person


@dataclass(frozen=True)
class FactChanges:
    opened: int = 0
    ended: int = 0
    kept: int = 0

    def notice(self, label: str) -> str:
        return f"登记“{label}”：新增 {self.opened}，终止 {self.ended}，保持 {self.kept}"


def apply(batch: FeedBatch, rows: pl.DataFrame, spec: FeedSpec, day: dt.date) -> FactChanges:
    """Bring the registry's `spec.registry_fact` category in line with this batch (inside the
    import's transaction: the batch and its facts land together or not at all)."""
    fact = spec.registry_fact
    assert fact is not None
    category = CATEGORIES[fact.category]
    area = _prefix(batch.area_code)
    matched = rows.filter((pl.col("match") == "id") & pl.col("person_id").is_not_null())
    listed: dict[int, dt.date] = {}  # holder (household or person pk) → since
    ended: set[int] = set()
    owner = _households(matched.get_column("person_id").unique().to_list(), day, area) \
        if category.level == "H" else _persons(matched.get_column("person_id").unique()
                                                .to_list(), area)
    stops = set(fact.ended_values)
    for r in matched.iter_rows(named=True):
        holder = owner.get(r["person_id"])
        if holder is None:
            continue
        if fact.ended_by and (r.get(fact.ended_by) or "").strip() in stops:
            ended.add(holder)
            continue
        since = (r.get(fact.since) if fact.since else None) or day
        listed[holder] = min(since, listed.get(holder, since))
    ended -= set(listed)
    column = "household_id" if category.level == "H" else "person_id"
    open_rows = {getattr(c, column): c for c in CategoryAssignment.objects.filter(
        category=fact.category, end_date__isnull=True, area_code__startswith=area,
        **{f"{column}__isnull": False})}
    opened = closed = kept = 0
    note = f"{spec.name}（第 {batch.version} 批）"[:200]
    for holder, current in open_rows.items():
        if holder in listed:
            kept += 1
        elif current.source_feed == spec.key:  # left the list, or its risk was removed
            current.end_date = max(day, current.start_date)
            current.note = f"{current.note}；{note}未列入或已消除，终止"[:200]
            current.save()
            closed += 1
    areas = _areas(category.level, set(listed) - set(open_rows))
    for holder, since in sorted(listed.items()):
        if holder in open_rows:
            continue
        CategoryAssignment.objects.create(
            category=fact.category, start_date=min(since, day), source_feed=spec.key,
            note=note, area_code=areas[holder], **{column: holder})
        opened += 1
    return FactChanges(opened, closed, kept)


def _prefix(area_code: str) -> str:
    """The importing area as a scope prefix (a batch keeps the importer's 12-digit code)."""
    from doudi.areas.models import Area

    found = Area.objects.filter(code=area_code).values_list("prefix", flat=True).first()
    return found if found is not None else area_code


def _households(person_ids: list[int], day: dt.date, area: str) -> dict[int, int]:
    """person → their household on `day`, for households inside `area`."""
    return dict(Membership.objects.filter(
        person_id__in=person_ids, start_date__lte=day,
        household__area_code__startswith=area).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day)).values_list("person_id",
                                                                    "household_id"))


def _persons(person_ids: list[int], area: str) -> dict[int, int]:
    return {pk: pk for pk in Person.objects.filter(pk__in=person_ids,
                                                   area_code__startswith=area)
            .values_list("pk", flat=True)}


def _areas(level: str, holders: set[int]) -> dict[int, str]:
    from doudi.registry.models import Household

    model = Household if level == "H" else Person
    return dict(model.objects.filter(pk__in=holders).values_list("pk", "area_code"))

"""乡村振兴's view of the registry (防返贫监测户、脱贫户): which households of an area carry
those categories on a day, and for each the assistance in force and the warnings raised about
it — what 乡村振兴 staff read (read-only, masked) and what the 双线报送 report counts. One
definition serves both: the page and the statistics read `watched`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from doudi.benefits import coverage
from doudi.benefits.models import Enrollment
from doudi.monitoring import workflow
from doudi.monitoring.models import Warning
from doudi.programmes import catalogue
from doudi.registry.models import CategoryAssignment, Household, Membership

# the categories 乡村振兴 follows (both recorded from its own lists: exchange.registry_facts)
WATCH_CATEGORIES = ("relapse_watch", "lifted_from_poverty")


def in_force(day: dt.date) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))


def categories(area: str, day: dt.date, codes: tuple[str, ...] = WATCH_CATEGORIES
               ) -> QuerySet[CategoryAssignment]:
    """The watched categories in force on `day` in `area` (a code prefix)."""
    return CategoryAssignment.objects.filter(
        in_force(day), area_code__startswith=area, category__in=codes, household__isnull=False)


def watched(area: str, day: dt.date, codes: tuple[str, ...] = WATCH_CATEGORIES
            ) -> QuerySet[Household]:
    """Households of `area` carrying one of `codes` on `day`."""
    return Household.objects.filter(pk__in=categories(area, day, codes).values("household_id"))


def covered(area: str, day: dt.date, codes: tuple[str, ...] = WATCH_CATEGORIES
            ) -> QuerySet[Household]:
    """Watched households receiving 低保 or 特困 on `day` (the household's own enrollment or a
    member's): "及时将符合条件的防止返贫监测对象纳入农村低保或特困救助供养范围"."""
    basic = [*catalogue.counted_as(catalogue.DIBAO), *catalogue.counted_as(catalogue.TEKUN)]
    enrolled = Enrollment.objects.filter(coverage.in_force(day), programme__in=basic)
    return watched(area, day, codes).filter(pk__in=enrolled.values("household_id"))


def totals(area: str, day: dt.date) -> list[tuple[str, str, int, int]]:
    """(category, its name, households, of which covered by 低保 or 特困) for each watched
    category: the counts 乡村振兴's pages show."""
    from doudi.registry.categories import CATEGORIES

    return [(code, CATEGORIES[code].label, watched(area, day, (code,)).count(),
             covered(area, day, (code,)).count()) for code in WATCH_CATEGORIES]


@dataclass
class WatchedHousehold:
    household: Household
    categories: list[CategoryAssignment] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    warnings_open: int = 0
    warnings_closed: int = 0
    head: str = ""  # the head's masked name


def rows(households: QuerySet[Household], day: dt.date) -> list[WatchedHousehold]:
    """Each household with its watched categories, assistance in force and warning counts
    (five queries, whatever the number of households)."""
    found = {h.pk: WatchedHousehold(h) for h in households.select_related("area")}
    ids = list(found)
    for m in Membership.objects.filter(household_id__in=ids, relation="head",
                                       end_date__isnull=True).select_related("person"):
        found[m.household_id].head = m.person.masked_name
    for c in CategoryAssignment.objects.filter(in_force(day), household_id__in=ids,
                                               category__in=WATCH_CATEGORIES):
        found[c.household_id].categories.append(c)
    for e in Enrollment.objects.filter(coverage.in_force(day), household_id__in=ids) \
            .order_by("start_date", "id"):
        found[e.household_id].enrollments.append(e)
    for household_id, status in Warning.objects.filter(household_id__in=ids).values_list(
            "household_id", "status"):
        if status == workflow.CLOSED:
            found[household_id].warnings_closed += 1
        else:
            found[household_id].warnings_open += 1
    return list(found.values())

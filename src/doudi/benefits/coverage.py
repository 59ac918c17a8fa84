"""在保 (who is covered): the one definition of 在保户数, 在保人数, 低保户数 and 特困人数 on a day,
read by every page, report and API that shows them (the home page, 统计分析 and the reports
owed upward, the monitoring dashboard's 应保尽保 rate).

An enrollment is in force on a day when it started on or before it and has not ended by it
(`end_date` after the day); a suspended one (暂停) still counts — the family is in the system
and its payment resumes. A household is covered when one of its enrollments is in force; the
persons covered are the co-resident members of a household whose programme covers the whole
household (catalogue `household_covering`: 低保, 边缘, 支出型) and each person enrolled alone
(特困, 孤儿, 两项补贴 …), each counted once. 低保户数 counts 单人保 households with 低保
(catalogue `counted_as`). Everything is counted by the database, per child area.

`persons` answers the same question for given persons (the department outcomes API): which
enrollments cover each of them on a day, by the rule 在保人数 counts with. A registry category
of a programme that pays monthly (低保, 特困: `paid_statuses`) never makes anyone covered: it
follows the enrollment (the decision that enrols also sets it; `reconcile-status` settles old
data). 低保边缘 and 支出型 pay nothing monthly: their category is their recognition.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Substr

from doudi.benefits.models import Enrollment
from doudi.programmes import catalogue
from doudi.registry.models import Membership

FIGURES = {
    "covered_households": "在保户数",
    "covered_persons": "在保人数",
    "dibao_households": "低保户数",
    "tekun_persons": "特困人数",
}


def paid_statuses() -> list[catalogue.Programme]:
    """Programmes that pay monthly and set a registry category (低保, 特困): who holds that
    status is who is enrolled in force; the category only follows the enrollment."""
    return [p for p in catalogue.programmes()
            if p.category and p.monitored and not p.compared_with
            and any(u.amount for u in p.units)]


def in_force(day: dt.date) -> Q:
    """Enrollments in force on `day`."""
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))


def records(figure: str, area: str, day: dt.date) -> QuerySet[Enrollment]:
    """The enrollments a figure counts (the drill-down list); `area` is a code prefix."""
    rows = Enrollment.objects.filter(in_force(day), area_code__startswith=area)
    if figure == "dibao_households":
        return rows.filter(programme__in=catalogue.counted_as(catalogue.DIBAO))
    if figure == "tekun_persons":
        return rows.filter(programme__in=catalogue.counted_as(catalogue.TEKUN))
    if figure in ("covered_households", "covered_persons"):
        return rows
    raise KeyError(figure)


def _per_child(qs: QuerySet, width: int, distinct: str) -> dict[str, int]:
    return {r["_child"]: r["n"] for r in qs.order_by().annotate(
        _child=Substr("area_code", 1, width)).values("_child").annotate(
        n=Count(distinct, distinct=True))}


def covered_people(force: QuerySet, day: dt.date, **keys: object) -> tuple[QuerySet, QuerySet]:
    """Who the enrollments `force` cover on `day`, by the rule 在保人数 counts with: the
    co-resident members of a household covered whole, and each person covered alone. Two
    value querysets (members, alone) of `keys` and `who` (the person's id)."""
    whole = catalogue.household_covering()
    members = force.filter(
        Q(person__isnull=True) | Q(programme__in=whole),
        Q(household__memberships__end_date__isnull=True)
        | Q(household__memberships__end_date__gt=day),
        household__memberships__start_date__lte=day,
        household__memberships__co_resident=True,
    ).order_by().values(**keys, who=F("household__memberships__person_id"))
    alone = (force.filter(person__isnull=False).exclude(programme__in=whole)
             .order_by().values(**keys, who=F("person_id")))
    return members, alone


def _persons(area: str, day: dt.date, width: int) -> dict[str, int]:
    """Members of covered households and persons covered alone, once each, per child area."""
    members, alone = covered_people(records("covered_persons", area, day), day,
                                    child=Substr("area_code", 1, width))
    (members_sql, members_params), (alone_sql, alone_params) = (
        members.query.sql_with_params(), alone.query.sql_with_params())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT child, COUNT(DISTINCT who) FROM ({members_sql} UNION ALL "
                       f"{alone_sql}) covered GROUP BY child",
                       (*members_params, *alone_params))
        return dict(cursor.fetchall())


def by_child(area: str, day: dt.date, width: int) -> dict[str, dict[str, int]]:
    """figure → {child area prefix (the first `width` digits) → count} on `day`."""
    return {
        "covered_households": _per_child(records("covered_households", area, day), width,
                                         "household_id"),
        "covered_persons": _persons(area, day, width),
        "dibao_households": _per_child(records("dibao_households", area, day), width,
                                       "household_id"),
        "tekun_persons": _per_child(records("tekun_persons", area, day), width, "person_id"),
    }


def totals(area: str, day: dt.date) -> dict[str, int]:
    """Every figure for the whole of `area` on `day`."""
    return {figure: sum(counts.values())
            for figure, counts in by_child(area, day, len(area) or 2).items()}


def persons(person_ids: list[int], area: str, day: dt.date) -> dict[int, list[Enrollment]]:
    """person → the enrollments in force covering them on `day`, counted as `covered_persons`
    counts: a programme covering the whole household (or enrolled without a person) covers
    each co-resident member on the day; any other covers its own person. Only persons
    covered appear; `area` is a code prefix."""
    whole = catalogue.household_covering()
    households: dict[int, list[int]] = {}
    for start in range(0, len(person_ids), 5_000):
        for person_id, household_id in Membership.objects.filter(
                Q(end_date__isnull=True) | Q(end_date__gt=day),
                person_id__in=person_ids[start:start + 5_000], start_date__lte=day,
                co_resident=True).values_list("person_id", "household_id"):
            households.setdefault(household_id, []).append(person_id)
    force = records("covered_persons", area, day).order_by("start_date", "id")
    out: dict[int, list[Enrollment]] = {}
    ids = list(households)
    for start in range(0, len(ids), 5_000):
        for e in force.filter(Q(person__isnull=True) | Q(programme__in=whole),
                              household_id__in=ids[start:start + 5_000]):
            for person_id in households[e.household_id]:
                out.setdefault(person_id, []).append(e)
    for start in range(0, len(person_ids), 5_000):
        for e in force.filter(person_id__in=person_ids[start:start + 5_000]).exclude(
                programme__in=whole):
            out.setdefault(e.person_id, []).append(e)
    for got in out.values():
        got.sort(key=lambda e: (e.start_date, e.pk))
    return out


def _same_owner() -> QuerySet[Enrollment]:
    """The other enrollments of an enrollment's owner (household, person or none) and
    programme, for `Exists` against the outer row's `owner`."""
    return (Enrollment.objects.annotate(owner=Coalesce("person_id", Value(0)))
            .filter(household_id=OuterRef("household_id"), owner=OuterRef("owner"),
                    programme=OuterRef("programme")).exclude(pk=OuterRef("pk")))


def entered(area: str, first: dt.date, last: dt.date) -> QuerySet[Enrollment]:
    """新增保障对象 between `first` and `last`: enrollments starting then whose owner was not
    already enrolled in the programme the day before — an enrollment split into its parts
    (两项补贴), or a part added to one already paid, is no new beneficiary — and of parts
    starting together, one."""
    rows = Enrollment.objects.annotate(owner=Coalesce("person_id", Value(0))).filter(
        area_code__startswith=area, start_date__range=(first, last))
    before = _same_owner().filter(start_date__lt=OuterRef("start_date")).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=OuterRef("start_date")))
    twin = _same_owner().filter(start_date=OuterRef("start_date"), pk__lt=OuterRef("pk"))
    return rows.exclude(Exists(before)).exclude(Exists(twin))


def left(area: str, first: dt.date, last: dt.date) -> QuerySet[Enrollment]:
    """退出保障对象 between `first` and `last`: enrollments ending then whose owner has no other
    enrollment of the programme in force on the day it ended (a split into parts is no exit),
    and of parts ending together, one."""
    rows = Enrollment.objects.annotate(owner=Coalesce("person_id", Value(0))).filter(
        area_code__startswith=area, end_date__range=(first, last))
    after = _same_owner().filter(start_date__lte=OuterRef("end_date")).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=OuterRef("end_date")))
    twin = _same_owner().filter(end_date=OuterRef("end_date"), pk__lt=OuterRef("pk"))
    return rows.exclude(Exists(after)).exclude(Exists(twin))

"""Read-side helpers shared by the web UI, the API and exports. They narrow a queryset that
already went through `visible_to`, so they can never widen a user's scope."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from doudi.core import idnumber
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Membership, Person


def _with_current_member(persons: QuerySet[Person]) -> Q:
    """Households that have a current member among `persons` (a subquery, not a join, so
    no DISTINCT is needed and the planner can start from the person index)."""
    return Q(pk__in=Membership.objects.filter(end_date__isnull=True, person__in=persons)
             .values("household_id"))


def search_households(
    qs: QuerySet[Household], *, q: str = "", area_prefix: str = "", category: str = "",
    hukou_type: str = "",
) -> QuerySet[Household]:
    """搜索: a member's full name, pinyin initials, full ID or its last 4 characters, or the
    household number; filters by area prefix (town/village), category in force and 户籍类型.

    Partial names and longer ID fragments are not matched on purpose: probing them one
    character at a time would uncover what masking hides, without an audited reveal."""
    q = idnumber.normalize(q or "")
    if q:
        if q.isascii() and q.isalpha():
            match = _with_current_member(Person.objects.filter(name_initials__startswith=q.lower()))
        elif len(q) == 18:
            match = _with_current_member(Person.objects.filter(id_number=q))
        elif len(q) == 4 and q[:3].isdigit() and (q[3].isdigit() or q[3] == "X"):
            # IDs are stored encrypted: the last four are matched on their own column
            match = _with_current_member(Person.objects.filter(id_tail=q))
        elif q.isdigit():
            match = Q(number=q)
        else:
            match = _with_current_member(Person.objects.filter(name=q))
        qs = qs.filter(match)
    if area_prefix and area_prefix.isdigit():
        qs = qs.filter(area_code__startswith=area_prefix)
    if category in CATEGORIES:
        open_rows = CategoryAssignment.objects.filter(category=category, end_date__isnull=True)
        if CATEGORIES[category].level == "H":
            qs = qs.filter(pk__in=open_rows.values("household_id"))
        else:
            qs = qs.filter(_with_current_member(
                Person.objects.filter(pk__in=open_rows.values("person_id"))))
    if hukou_type in ("urban", "rural"):
        qs = qs.filter(hukou_type=hukou_type)
    return qs


def with_list_columns(qs: QuerySet[Household]) -> QuerySet[Household]:
    """Area names, current members (as `current_members`) and open categories for a page."""
    return qs.select_related("area", "area__parent").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(end_date__isnull=True)
            .select_related("person").order_by("start_date", "id"),
            to_attr="current_members",
        ),
        Prefetch(
            "categories",
            queryset=CategoryAssignment.objects.filter(end_date__isnull=True),
            to_attr="open_categories",
        ),
    )

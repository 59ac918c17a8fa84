"""Read-side helpers shared by the web UI, the API and exports. They narrow a queryset that
already went through `visible_to`, so they can never widen a user's scope."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from doudi.core import idnumber
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Membership


def search_households(
    qs: QuerySet[Household], *, q: str = "", area_prefix: str = "", category: str = "",
    hukou_type: str = "",
) -> QuerySet[Household]:
    """搜索: a member's name, pinyin initials, full ID or its last digits, or the household
    number; filters by area prefix (town/village), category in force and 户籍类型."""
    q = idnumber.normalize(q or "")
    if q:
        current = Q(memberships__end_date__isnull=True)
        if q.isascii() and q.isalpha():
            match = current & Q(memberships__person__name_initials__startswith=q.lower())
        elif len(q) == 18:
            match = current & Q(memberships__person__id_number=q)
        elif q.isdigit() or (q[:-1].isdigit() and q[-1] == "X"):
            match = Q(number=q) | (current & Q(memberships__person__id_number__endswith=q))
        else:
            match = current & Q(memberships__person__name__contains=q)
        qs = qs.filter(match)
    if area_prefix and area_prefix.isdigit():
        qs = qs.filter(area_code__startswith=area_prefix)
    if category in CATEGORIES:
        open_cat = Q(categories__category=category, categories__end_date__isnull=True)
        person_cat = Q(
            memberships__end_date__isnull=True,
            memberships__person__categories__category=category,
            memberships__person__categories__end_date__isnull=True,
        )
        qs = qs.filter(open_cat if CATEGORIES[category].level == "H" else person_cat)
    if hukou_type in ("urban", "rural"):
        qs = qs.filter(hukou_type=hukou_type)
    return qs.distinct()


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

"""The registry's part of the household page (doudi.web.household_page): 家庭成员, 类别 and
经济状况, and the audit events of the household, its members, their memberships, categories
and the household's economic facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from doudi.accounts import roles
from doudi.core import clock
from doudi.programmes import catalogue
from doudi.registry import facts
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.web import registry_forms
from doudi.web.household_page import Panel, register_panel, register_timeline


def _memberships(household: Household) -> list[Membership]:
    return list(household.memberships.select_related("person").order_by(
        "end_date", "start_date", "id"))


def _of_household(household: Household) -> Q:
    """Categories of the household itself and of its members (former members' too)."""
    return Q(household=household) | Q(person_id__in=household.memberships.values("person_id"))


def members(request: HttpRequest, household: Household) -> dict[str, Any]:
    memberships = _memberships(household)
    return {"current": [m for m in memberships if m.end_date is None],
            "former": [m for m in memberships if m.end_date is not None],
            "can_reveal": request.user.can(roles.VIEW_FULL_PII)}


def categories(request: HttpRequest, household: Household) -> dict[str, Any]:
    current = [m for m in _memberships(household) if m.end_date is None]
    return {
        "categories": list(CategoryAssignment.objects.visible_to(request.user)
                           .filter(_of_household(household)).select_related("person")),
        "can_edit": request.user.can(roles.EDIT_REGISTRY),
        "category_form": registry_forms.CategoryForm(
            members=current, initial={"start_date": clock.today()}),
        "end_form_errors": [],
        # programme statuses are ended by casework (停发, review), not from this page
        "decided": set(catalogue.categories()),
    }


HISTORY_LENGTH = 100


def _fact_state(row: Observation, current: set[int], today: dt.date) -> str:
    if row.superseded_by_id:
        return f"已更正（{row.correction_reason}）"
    if row.ended_on and row.ended_on <= today:
        return f"{row.ended_on:%Y-%m-%d} 终止（{row.end_reason}）"
    if row.pk in current:
        return f"有效，{row.ended_on:%Y-%m-%d} 终止" if row.ended_on else "有效"
    if row.observed_on > today:
        return "尚未到所属日期"
    return "已由较新记录取代"


def observations(request: HttpRequest, household: Household) -> dict[str, Any]:
    """The facts that count today, member by member (全家 first), and on demand every row
    recorded, with what became of it (更正, 终止, 取代)."""
    today = clock.today()
    current_members = list(household.current_memberships())
    rows = household.observations.select_related("person")
    current = facts.current(rows, today)
    owners = {None: "全家"} | {m.person_id: m.person.masked_name for m in current_members}
    for o in current:  # a member who has left, whose facts are still on record
        if o.person_id not in owners:
            owners[o.person_id] = f"{o.person.masked_name}（已迁出）"
    by_owner = [(label, [o for o in current if o.person_id == pk])
                for pk, label in owners.items()]
    current_ids = {o.pk for o in current}
    history = list(rows[:HISTORY_LENGTH])
    return {
        "facts_by_member": [(label, found) for label, found in by_owner if found],
        "history": [(o, _fact_state(o, current_ids, today)) for o in history],
        "history_more": rows.count() > HISTORY_LENGTH,
        "fact_members": [(m.person_id, m.person.masked_name) for m in current_members],
        "can_edit": request.user.can(roles.EDIT_REGISTRY),
        "observation_form": registry_forms.ObservationForm(
            members=current_members,
            initial={"observed_on": today.replace(day=1), "source": "declared"}),
        "fact_errors": [],
        "today": today,
    }


register_panel(Panel("members", 10, "家庭成员", "doudi/household/members.html", members))
register_panel(Panel("categories", 20, "类别", "doudi/household/categories.html", categories,
                     forms=("category_form", "end_form_errors")))
register_panel(Panel("observations", 30, "经济状况（按成员，更正留痕）",
                     "doudi/household/observations.html", observations,
                     forms=("observation_form", "fact_errors")))

register_timeline(Household, lambda household: [household.pk])
register_timeline(Membership, lambda household: household.memberships.values_list(
    "pk", flat=True))
register_timeline(Person, lambda household: household.memberships.values_list(
    "person_id", flat=True))
register_timeline(CategoryAssignment, lambda household: CategoryAssignment.objects.filter(
    _of_household(household)).values_list("pk", flat=True))
register_timeline(Observation, lambda household: household.observations.values_list(
    "pk", flat=True))

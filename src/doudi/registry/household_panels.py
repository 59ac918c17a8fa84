"""The registry's part of the household page (doudi.web.household_page): 家庭成员, 类别 and
经济状况, and the audit events of the household, its members, their memberships, categories
and the household's economic facts."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from doudi.accounts import roles
from doudi.core import clock
from doudi.programmes import catalogue
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


def observations(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {
        "observations": list(household.observations.select_related("person")[:50]),
        "can_edit": request.user.can(roles.EDIT_REGISTRY),
        "observation_form": registry_forms.ObservationForm(
            initial={"observed_on": clock.today().replace(day=1), "source": "declared"}),
    }


register_panel(Panel("members", 10, "家庭成员", "doudi/household/members.html", members))
register_panel(Panel("categories", 20, "类别", "doudi/household/categories.html", categories,
                     forms=("category_form", "end_form_errors")))
register_panel(Panel("observations", 30, "经济状况（按日期记录，不覆盖）",
                     "doudi/household/observations.html", observations,
                     forms=("observation_form",)))

register_timeline(Household, lambda household: [household.pk])
register_timeline(Membership, lambda household: household.memberships.values_list(
    "pk", flat=True))
register_timeline(Person, lambda household: household.memberships.values_list(
    "person_id", flat=True))
register_timeline(CategoryAssignment, lambda household: CategoryAssignment.objects.filter(
    _of_household(household)).values_list("pk", flat=True))
register_timeline(Observation, lambda household: household.observations.values_list(
    "pk", flat=True))

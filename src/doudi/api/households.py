"""/api/households — area-scoped, masked, paged; creation goes through the registry service."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from doudi.accounts import roles
from doudi.api.schemas import HouseholdDetailOut, HouseholdIn, HouseholdPage, refusals
from doudi.core import clock
from doudi.registry import facts, queries, services
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household

router = Router(tags=["家庭档案"])


class ListParams(Schema):
    # bounded: the row offset (page × page_size) must fit the database's integer
    page: int = Field(1, le=10_000_000)
    page_size: int = 50
    q: str = ""
    area: str = ""
    category: str = ""
    hukou: str = ""


def _summary(hh: Household) -> dict:
    head = next((m.person for m in hh.current_members if m.relation == "head"), None)
    return {
        "id": hh.pk, "number": hh.number, "area_code": hh.area_code, "area_name": hh.area.name,
        "town_name": hh.area.parent.name if hh.area.parent else "",
        "hukou_type": hh.hukou_type, "address": hh.address,
        "head_name": head.masked_name if head else "", "member_count": len(hh.current_members),
        "categories": [c.category for c in hh.open_categories],
    }


@router.get("", response={200: HouseholdPage, **refusals(400, 401, 422)},
            summary="家庭列表（本辖区）")
def list_households(request, params: Query[ListParams]):  # noqa: ANN001, ANN201
    size = max(1, min(params.page_size, 200))
    page = max(1, params.page)
    qs = queries.search_households(
        Household.objects.visible_to(request.user), q=params.q, area_prefix=params.area,
        category=params.category, hukou_type=params.hukou,
        user=request.user,
    ).order_by("number")
    count = qs.count()
    ids = list(qs.values_list("pk", flat=True)[(page - 1) * size : page * size])
    rows = queries.with_list_columns(Household.objects.filter(pk__in=ids).order_by("number"))
    return {"count": count, "page": page, "page_size": size, "items": [_summary(h) for h in rows]}


@router.get("/{household_id}", response={200: HouseholdDetailOut, **refusals(400, 401, 404, 422)},
            summary="家庭详情")
def get_household(request, household_id: int):  # noqa: ANN001, ANN201
    hh = get_object_or_404(
        queries.with_list_columns(Household.objects.visible_to(request.user)), pk=household_id
    )
    data = _summary(hh)
    data["members"] = [{
        "person_id": m.person.pk, "name": m.person.masked_name, "id_number": m.person.masked_id,
        "sex": m.person.sex, "age": m.person.age, "relation": m.relation,
        "hukou_type": m.person.hukou_type, "co_resident": m.co_resident,
        "disability_category": m.person.disability_category,
        "disability_grade": m.person.disability_grade,
        "serious_illness": m.person.serious_illness,
        "labour_capacity": m.person.labour_capacity,
        "student_status": m.person.student_status,
        "has_supporter": m.person.has_supporter, "adl_failed": m.person.adl_failed,
        "start_date": m.start_date,
    } for m in hh.current_members]
    person_ids = [m.person_id for m in hh.current_members]
    data["category_history"] = [{
        "category": c.category, "label": CATEGORIES[c.category].label, "person_id": c.person_id,
        "start_date": c.start_date, "end_date": c.end_date,
    } for c in CategoryAssignment.objects.visible_to(request.user).filter(
        Q(household=hh) | Q(person_id__in=person_ids))]
    # the facts that count today (corrected and ended ones are the page's history)
    data["observations"] = facts.current(hh.observations.values(
        *facts.KEY_FIELDS, "amount_fen", "quantity", "observed_on", "source"),
        clock.today())
    return data


@router.post("", response={201: HouseholdDetailOut, **refusals(400, 401, 403, 422)},
             summary="登记家庭及成员")
def create_household(request, payload: HouseholdIn):  # noqa: ANN001, ANN201
    if not request.user.can(roles.EDIT_REGISTRY):
        raise PermissionDenied("没有登记家庭的权限")
    household = services.create_household(
        by=request.user, area_code=payload.area_code, hukou_type=payload.hukou_type,
        address=payload.address, members=payload.members,
    )
    return Status(201, get_household(request, household.pk))

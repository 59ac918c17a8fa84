"""What every page module needs to check access and to show a household, in one place.

    require_capability(request, roles.EDIT_REGISTRY)      # 403 unless the user holds it
    household = visible_household(request, household_id)  # 404 unless in the user's area
    return render_household(request, household, application_error=str(exc))

A view refusing a POST shows the household page again with `render_household`, passing the
bound form or error message under the key the panel that shows it declared (see
`doudi.web.household_page`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from doudi.registry.models import Household
from doudi.web import household_page


def require_capability(request: HttpRequest, capability: str) -> None:
    """Refuse (403, 没有此项权限) a user who does not hold `capability`."""
    if not request.user.can(capability):
        raise PermissionDenied("没有此项权限")


def visible_household(request: HttpRequest, household_id: int) -> Household:
    """The household with this id among those the user may see, or 404 — the same answer for
    one that does not exist and one outside the user's area."""
    household = (Household.objects.visible_to(request.user)
                 .select_related("area", "area__parent").filter(pk=household_id).first())
    if household is None:
        raise Http404("家庭不存在或不在您的管辖范围内")
    return household


def render_household(request: HttpRequest, household: Household, **forms: Any) -> HttpResponse:
    """The household page; `forms` carries the bound forms and error messages a failed POST
    must show again (each key belongs to one panel, an unknown key is a TypeError)."""
    return household_page.render(request, household, forms)

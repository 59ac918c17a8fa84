"""政策参数 pages: the values in force for the user's area, a key's history along the area
chain, and — for 区县业务管理员 — setting a new dated value or withdrawing one not yet in force.
Reads go through `visible_to` and the service's `parameter_set`; writes through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.accounts.models import User
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.core import clock
from doudi.policy import services
from doudi.policy.models import LOCAL, PolicyParameter
from doudi.policy.services import PolicyError
from doudi.policy.values import as_text, from_text, to_parameter
from doudi.rules.parameters import Parameter, ParameterSet, display_value
from doudi.rules.programmes import PROGRAMMES
from doudi.web.access import require_capability
from doudi.web.errors import add_to_form
from doudi.web.policy_forms import PolicyValueForm, first_of_next_month, value_hint

OTHER_GROUP = "其他"


def bare_value(p: Parameter) -> str:
    """The value without its unit, which the page shows in a column of its own."""
    text, suffix = display_value(p), f" {p.unit_label}"
    return text[: -len(suffix)] if text.endswith(suffix) else text


def group_of(key: str) -> str:
    """The programme a key belongs to (dibao.standard.urban → 最低生活保障)."""
    programme = PROGRAMMES.get(key.split(".", 1)[0])
    return programme.label if programme else OTHER_GROUP


def _day(request: HttpRequest, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return today


@dataclass
class Line:
    """One key on the list page: what is in force for the user's area on the day asked."""

    key: str
    param: Parameter | None
    upcoming: dt.date | None  # the next date a row along the chain takes effect
    value: str = ""
    area_name: str = ""  # where the value in force was set: 全国, 黄山市 …


def _upcoming(pset: ParameterSet, key: str, prefix: str, day: dt.date) -> dt.date | None:
    dates = [p.effective for p in pset.history(key)
             if p.effective > day and prefix.startswith(p.area)]
    return min(dates, default=None)


def _lines(pset: ParameterSet, prefix: str, day: dt.date) -> list[tuple[str, list[Line]]]:
    groups: dict[str, list[Line]] = {}
    for key in pset.keys:
        line = Line(key, pset.find(key, prefix, day), _upcoming(pset, key, prefix, day))
        groups.setdefault(group_of(key), []).append(line)
    order = [p.label for p in PROGRAMMES.values()] + [OTHER_GROUP]
    return sorted(groups.items(), key=lambda item: order.index(item[0]))


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    """政策参数: every key, the value in force here on the day asked (today by default)."""
    require_capability(request, roles.VIEW_REGISTRY)
    today = clock.today()
    day = _day(request, today)
    prefix = request.user.scope_prefix
    groups = _lines(services.parameter_set(), prefix, day)
    found = [ln for _, lines in groups for ln in lines if ln.param is not None]
    names = services.area_labels({ln.param.area for ln in found})
    for ln in found:
        ln.value, ln.area_name = bare_value(ln.param), names[ln.param.area]
    context = {"groups": groups, "day": day, "today": today,
               "can_edit": request.user.can(roles.EDIT_POLICY)}
    template = "doudi/_policy_rows.html" if request.htmx else "doudi/policy_list.html"
    return render(request, template, context)


# -- one key ----------------------------------------------------------------------------------

def _known_key(key: str) -> ParameterSet:
    pset = services.parameter_set()
    if not pset.history(key):
        raise Http404("参数不存在")
    return pset


def _editable_areas(user: User) -> list[tuple[str, str]]:
    """The user's own area and, for a province or city, the cities and counties below it."""
    below = Area.objects.filter(code__startswith=user.area.prefix, level__lte=3)
    areas = [user.area, *below.exclude(code=user.area.code).order_by("code")]
    return [(a.prefix, ("　" * (a.level - user.area.level)) + a.name) for a in areas]


def _status(row: PolicyParameter, current: Parameter | None, today: dt.date) -> str:
    if row.effective_from > today:
        return "待生效"
    if current is not None and (current.area, current.effective) == (
            row.area_code, row.effective_from):
        return "现行"
    return ""


def _history(user: User, key: str, current: Parameter | None, today: dt.date) -> list[dict]:
    rows = (PolicyParameter.objects.visible_to(user).filter(key=key)
            .select_related("created_by").order_by("-effective_from", "-area_code"))
    names = services.area_labels({r.area_code for r in rows})
    return [{
        "row": r, "param": (p := to_parameter(r)), "value": bare_value(p),
        "area_name": names[r.area_code], "status": _status(r, current, today),
        "withdrawable": (r.source == LOCAL and r.effective_from > today
                         and in_scope(user, r.area_code, roles.EDIT_POLICY)),
    } for r in rows]


def _render_detail(request: HttpRequest, key: str,
                   form: PolicyValueForm | None = None) -> HttpResponse:
    pset = _known_key(key)
    user, today = request.user, clock.today()
    current = pset.find(key, user.scope_prefix, today)
    latest = pset.history(key)[0]
    can_edit = user.can(roles.EDIT_POLICY)
    if can_edit and form is None:
        form = PolicyValueForm(
            areas=_editable_areas(user), unit=latest.unit, today=today,
            initial={"area_code": user.scope_prefix, "effective_from": first_of_next_month(today),
                     "value": as_text(current or latest)})
    return render(request, "doudi/policy_detail.html", {
        "key": key, "group": group_of(key), "unit_label": latest.unit_label,
        "hint": value_hint(latest.unit), "current": current,
        "current_value": bare_value(current) if current else "",
        "current_area": services.area_labels([current.area])[current.area] if current else "",
        "history": _history(user, key, current, today), "today": today,
        "can_edit": can_edit, "form": form,
    })


@login_required
@require_GET
def policy_detail(request: HttpRequest, key: str) -> HttpResponse:
    require_capability(request, roles.VIEW_REGISTRY)
    return _render_detail(request, key)


@login_required
@require_POST
def policy_value_add(request: HttpRequest, key: str) -> HttpResponse:
    """设定新的取值; on an error the page comes back with everything as typed."""
    require_capability(request, roles.EDIT_POLICY)
    latest = _known_key(key).history(key)[0]
    form = PolicyValueForm(request.POST, areas=_editable_areas(request.user), unit=latest.unit,
                           today=clock.today())
    if form.is_valid():
        try:
            row = services.add_value(
                request.user, key, value=from_text(latest.unit, form.cleaned_data["value"]),
                **form.service_kwargs())
        except PolicyError as exc:
            add_to_form(form, exc)
        else:
            messages.success(request, f"已设定 {key} 自 {row.effective_from} 起的取值")
            return redirect("policy_detail", key=key)
    return _render_detail(request, key, form)


@login_required
@require_POST
def policy_value_withdraw(request: HttpRequest, key: str) -> HttpResponse:
    """撤销未生效的取值 (a local row whose date has not come)."""
    require_capability(request, roles.EDIT_POLICY)
    _known_key(key)
    row_id = request.POST.get("row_id", "")
    row = (PolicyParameter.objects.visible_to(request.user).filter(key=key, pk=row_id).first()
           if row_id.isdigit() else None)
    if row is None:
        messages.error(request, "该取值不存在或不在您的管辖范围内")
    else:
        services.delete_future_value(request.user, row)  # a refusal goes back to the page
        messages.success(request, f"已撤销 {key} 自 {row.effective_from} 起的取值")
    return redirect("policy_detail", key=key)

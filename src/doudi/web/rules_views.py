"""Pages of the rules engine: a household's eligibility with its explanation (认定依据), and the
what-if simulation (调标测算) for district staff."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from doudi.accounts import roles
from doudi.policy.services import parameter_set
from doudi.registry.models import Household, Person
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate
from doudi.rules.explain import explain
from doudi.rules.parameters import ParameterError


def _day(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return dt.date.today()


@login_required
def household_rules(request: HttpRequest, household_id: int) -> HttpResponse:
    """政策测算 for one household on a day, with every criterion and its legal reference."""
    household = Household.objects.visible_to(request.user, roles.VIEW_REGISTRY) \
        .filter(pk=household_id).first()
    if household is None:
        raise Http404("家庭不存在或不在您的管辖范围内")
    day = _day(request)
    context: dict[str, object] = {"household": household, "day": day, "error": None}
    try:
        h, m = build_frames(Household.objects.filter(pk=household.pk), day)
        result = evaluate(h, m, parameter_set(), day)
        explanations = explain(result, household.pk)
    except ParameterError as exc:
        context["error"] = str(exc)
        explanations = []
    names = {str(p.pk): p.masked_name for p in Person.objects.filter(
        pk__in=[int(e.subject) for e in explanations if e.subject])}
    context["explanations"] = [
        {"e": e, "who": names.get(e.subject or "", e.subject)} for e in explanations
    ]
    template = "doudi/household_rules_print.html" if request.GET.get("print") else \
        "doudi/_household_rules.html"
    return render(request, template, context)

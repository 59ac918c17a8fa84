"""在保状态对账: categories left open after their enrollment stopped are ended, enrollments in
force without their category get one, categories with no enrollment are only reported; the
report alone changes nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from doudi.benefits import services
from doudi.benefits.models import Enrollment
from doudi.registry.models import CategoryAssignment

pytestmark = pytest.mark.django_db
D = dt.date


def test_reconcile_reports_then_applies(world) -> None:
    u = world.users
    stopped = services.enroll(by=u.district_approver, household=world.village_hh,
                              programme="dibao", amount_fen=50_000, start_date=D(2025, 1, 1))
    # written before the one door: the category typed by hand, the stop not reaching it
    CategoryAssignment.objects.create(household=world.village_hh, category="dibao",
                                      start_date=D(2025, 1, 1), area_code=stopped.area_code)
    Enrollment.objects.filter(pk=stopped.pk).update(end_date=D(2026, 3, 1), status="ended")
    live = services.enroll(by=u.district_approver, household=world.same_town_hh,
                           programme="dibao", amount_fen=40_000, start_date=D(2025, 6, 1))
    CategoryAssignment.objects.create(household=world.other_town_hh, category="dibao",
                                      start_date=D(2025, 1, 1),
                                      area_code=world.other_town_hh.area_code)
    out = StringIO()
    call_command("benefits", "reconcile-status", stdout=out)
    text = out.getvalue()
    assert "终止 1" in text and "补认定 1" in text and "待核实 1" in text
    assert CategoryAssignment.objects.filter(end_date__isnull=True).count() == 2  # unchanged
    call_command("benefits", "reconcile-status", "--apply", stdout=StringIO())
    assert CategoryAssignment.objects.get(household=world.village_hh).end_date == D(2026, 3, 1)
    opened = CategoryAssignment.objects.get(household=world.same_town_hh)
    assert opened.start_date == live.start_date and opened.end_date is None
    assert CategoryAssignment.objects.get(household=world.other_town_hh).end_date is None
    again = StringIO()
    call_command("benefits", "reconcile-status", stdout=again)
    assert "终止 0，补认定 0；待核实 1" in again.getvalue()

"""A small district with categories and enrollments, and the 民政 machine account."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from doudi.audit import context
from doudi.benefits.models import Enrollment
from doudi.platform_sync import access
from doudi.registry.models import CategoryAssignment
from tests.conftest import VILLAGE


@pytest.fixture
def district(world):
    """The world's households, with 低保 for the village one (a household category and an
    enrollment) and 特困 for a member of the other town's household."""
    users = world.users
    with context.job("test platform sync district"):
        hh = world.village_hh
        CategoryAssignment.objects.create(household=hh, category="dibao",
                                          start_date=dt.date(2025, 1, 1), area_code=VILLAGE)
        Enrollment.objects.create(household=hh, programme="dibao", amount_fen=123_456,
                                  start_date=dt.date(2025, 1, 1), area_code=VILLAGE)
        other = world.other_town_hh
        member = other.current_memberships().exclude(relation="head").first().person
        CategoryAssignment.objects.create(person=member, category="tekun",
                                          start_date=dt.date(2025, 3, 1),
                                          area_code=other.area_code)
        Enrollment.objects.create(household=other, person=member, programme="tekun",
                                  amount_fen=98_700, start_date=dt.date(2025, 3, 1),
                                  end_date=None, area_code=other.area_code)
        users.department.department = access.PLATFORM_DEPARTMENT
        users.department.save()
    return SimpleNamespace(world=world, users=users, platform=users.department)

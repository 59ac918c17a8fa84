"""A whole 公示 period walked on the demo's clock: an application taken to 公示 "today" cannot
be closed until the demo clock is moved past the period's end (`doudi demo advance`); every
step without a date reads the one clock. Outside a demo the clock cannot be moved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from doudi.casework import services
from doudi.core import clock
from doudi.ops import demo_clock
from doudi.registry.models import Membership, Observation

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "sqlite", reason="the demo is SQLite")]


@pytest.fixture
def demo_database():
    demo_clock.mark_demo()
    yield
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA application_id = 0")
        cursor.execute("PRAGMA user_version = 0")
    clock.forget()


def test_the_publicity_period_is_walked_by_advancing_the_demo_clock(world, shipped_parameters,
                                                                   demo_database) -> None:
    u, hh = world.users, world.village_hh
    Observation.objects.filter(household=hh).delete()
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    app = services.create_application(by=u.village_assistant, household=hh, programme="dibao",
                                      channel="village", reason="无收入来源")
    assert app.submitted_on == clock.today() == clock.real_today()
    app = services.act(by=u.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "平房"})
    app = services.act(by=u.town_officer, application=app, action="complete_verification")
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="符合条件", data={"recommendation": "eligible"})
    assert app.state == "publicity" and app.publicity_ends_on > clock.today()
    with pytest.raises(services.CaseworkError, match="公示期"):
        services.act(by=u.town_officer, application=app, action="close_publicity")
    demo_clock.advance((app.publicity_ends_on - clock.today()).days)
    assert clock.today() == app.publicity_ends_on
    app = services.act(by=u.town_officer, application=app, action="close_publicity")
    assert app.state == "decision"
    assert app.events.filter(action="close_publicity").exists()


def test_the_clock_of_a_database_that_is_not_a_demo_stays_the_calendars(users) -> None:
    with pytest.raises(demo_clock.DemoError, match="不是演示数据库"):
        demo_clock.advance(30)
    assert clock.today() == clock.real_today()

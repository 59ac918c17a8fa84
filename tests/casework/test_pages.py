"""The 公示 list never shows an ID number or an unmasked name; the work queue marks overdue
items and lists only what the user may act on."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from doudi.casework import services
from doudi.casework.models import Application
from doudi.registry.models import Membership
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _to_publicity(world, hh, by_visit) -> Application:
    u = world.users
    app = services.create_application(by=u.town_officer, household=hh, programme="dibao",
                                      channel="town_window", reason="无收入")
    app = services.act(by=by_visit, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "一般"})
    app = services.act(by=u.town_officer, application=app, action="complete_verification")
    return services.act(by=u.town_officer, application=app, action="town_opinion",
                        opinion="符合", data={"recommendation": "eligible"})


def test_publicity_list_is_masked(client, world, shipped_parameters) -> None:
    apps = [_to_publicity(world, world.village_hh, world.users.village_assistant),
            _to_publicity(world, world.same_town_hh, world.users.town_officer)]
    client.login(username="town_officer", password=PASSWORD)
    month = timezone.localdate().strftime("%Y-%m")
    page = client.get(f"/applications/publicity/?month={month}").content.decode()
    people = Membership.objects.filter(household__in=[a.household for a in apps])
    for m in people.select_related("person"):
        assert m.person.id_number not in page
        assert m.person.id_number[-6:] not in page
        assert m.person.name not in page
    for a in apps:
        assert a.applicant.masked_name in page
    assert not re.search(r"\d{17}[\dX]", page)


def test_work_queue_marks_overdue_and_shows_only_actionable(client, world,
                                                            shipped_parameters) -> None:
    u = world.users
    old = services.create_application(by=u.town_officer, household=world.village_hh,
                                      programme="dibao", channel="town_window", reason="无收入",
                                      submitted_on=timezone.localdate() - dt.timedelta(days=30))
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get("/applications/").content.decode()
    assert old.number in page and "超期" in page
    services.act(by=u.village_assistant, application=old, action="record_visit",
                 data={"members_present": "户主", "living_conditions": "一般"})
    queue = client.get("/applications/").content.decode()
    mine = queue.split('id="my-queue"')[1].split("</table>")[0]
    assert old.number not in mine  # verification waits for the town, not the village
    client.login(username="town_officer", password=PASSWORD)
    mine = client.get("/applications/").content.decode().split('id="my-queue"')[1]
    assert old.number in mine.split("</table>")[0]

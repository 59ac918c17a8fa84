"""Visits started from the pages: a 登记探访 link on the household page and on a person's care
page for anyone, task or not; 生成探访任务 as a page action for the roles that may; the visit
form lists each programme once."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from doudi.accounts import roles
from doudi.audit import context
from doudi.care.models import VisitTask
from doudi.programmes import catalogue
from doudi.registry.models import Membership
from doudi.registry.services import assign_category
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username: str) -> None:
    assert client.login(username=username, password=PASSWORD)


def test_the_household_page_leads_to_a_visit_for_a_person_without_a_task(client,
                                                                         world) -> None:
    household = world.village_hh
    assert not VisitTask.objects.exists()
    _login(client, "village_assistant")
    page = client.get(f"/households/{household.pk}/").content.decode()
    for m in Membership.objects.filter(household=household, end_date__isnull=True):
        assert f"/care/persons/{m.person_id}/visit/" in page
    head = household.head()
    assert f"/care/persons/{head.pk}/visit/" in client.get(
        f"/care/persons/{head.pk}/").content.decode()
    form = client.get(f"/care/persons/{head.pk}/visit/")
    assert form.status_code == 200
    # a role that reads and never visits sees no such link
    client.logout()
    _login(client, "supervisor")
    assert "/visit/" not in client.get(f"/households/{household.pk}/").content.decode()


def test_the_visit_form_lists_each_programme_once_with_linshi_preselected(client,
                                                                        world) -> None:
    _login(client, "village_assistant")
    page = client.get(f"/care/persons/{world.village_hh.head().pk}/visit/").content.decode()
    select = re.search(r'<select name="programme">(.*?)</select>', page, re.S).group(1)
    labels = re.findall(r"<option[^>]*>([^<]*)</option>", select)
    assert labels == [label for _, label in catalogue.choices()]
    assert labels.count("临时救助") == 1
    assert re.search(rf'<option value="{catalogue.LINSHI}" selected>', select)


def test_generating_visit_tasks_is_a_page_action_for_the_roles_that_may(client, world) -> None:
    Membership.objects.update(start_date=dt.date(2020, 1, 1))
    head = world.village_hh.head()
    with context.job("test tekun"):
        assign_category(by=world.users.district_approver, category="tekun",
                        start_date=dt.date(2020, 1, 1), person=head, decided_by="测试数据")
    assert roles.GENERATE_VISIT_TASKS in roles.ROLES["district_officer"].capabilities
    assert roles.GENERATE_VISIT_TASKS not in roles.ROLES["village_assistant"].capabilities
    _login(client, "village_assistant")
    assert 'id="care-generate"' not in client.get("/care/").content.decode()
    assert client.post("/care/tasks/generate/").status_code == 403
    client.logout()
    _login(client, "district_officer")
    assert 'id="care-generate"' in client.get("/care/").content.decode()
    done = client.post("/care/tasks/generate/", follow=True)
    assert VisitTask.objects.filter(person=head).count() == 1
    assert "已生成探访任务 1 条（已有 0 条）" in done.content.decode()
    again = client.post("/care/tasks/generate/", follow=True).content.decode()
    assert "已生成探访任务 0 条（已有 1 条）" in again

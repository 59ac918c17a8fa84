"""The 公示 list never shows an ID number or an unmasked name; the work queue marks overdue
items and lists only what the user may act on."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

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
    book = client.get(f"/applications/publicity/?month={month}&format=xlsx")


    cells = "\n".join("\t".join(str(c) for c in row) for row in CalamineWorkbook.from_filelike(
        io.BytesIO(book.content)).get_sheet_by_index(0).to_python())
    assert all(a.applicant.masked_name in cells for a in apps)
    for m in people.select_related("person"):
        assert m.person.id_number not in cells and m.person.name not in cells


def test_work_queue_marks_overdue_and_shows_only_actionable(client, world,
                                                            shipped_parameters) -> None:
    u = world.users
    old = services.create_application(by=u.town_officer, household=world.village_hh,
                                      programme="dibao", channel="town_window", reason="无收入",
                                      submitted_on=timezone.localdate() - dt.timedelta(days=30))
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get("/applications/").content.decode()
    assert old.number in page and "已逾期" in page and "个工作日" in page
    services.act(by=u.village_assistant, application=old, action="record_visit",
                 data={"members_present": "户主", "living_conditions": "一般"})
    queue = client.get("/applications/").content.decode()
    mine = queue.split('id="my-queue"')[1].split("</table>")[0]
    assert old.number not in mine  # verification waits for the town, not the village
    client.login(username="town_officer", password=PASSWORD)
    mine = client.get("/applications/").content.decode().split('id="my-queue"')[1]
    assert old.number in mine.split("</table>")[0]


def test_fund_page_top_up_and_advance_from_the_case(client, world, shipped_parameters) -> None:
    from doudi.casework import reserve_fund

    client.login(username="district_approver", password=PASSWORD)
    client.post("/applications/fund/", {"town": "341002102000", "amount": "5,000.50",
                                        "note": "2026年备用金"})
    assert reserve_fund.balance("341002102000") == 500_050
    page = client.get("/applications/fund/").content.decode()
    assert "黎阳镇" in page and "5,000.50" in page
    app = services.create_application(by=world.users.town_officer, household=world.village_hh,
                                      programme="linshi", channel="town_window",
                                      reason="交通事故", emergency=True)
    client.login(username="town_approver", password=PASSWORD)
    assert "先行救助" in client.get(f"/applications/{app.pk}/").content.decode()
    page = client.post(f"/applications/{app.pk}/advance/", {"amount": "99999", "note": "x"})
    assert "单笔上限" in page.content.decode()
    response = client.post(f"/applications/{app.pk}/advance/", {"amount": "1500", "note": "急难"})
    assert response.status_code == 302
    assert reserve_fund.balance("341002102000") == 500_050 - 150_000


def test_bulk_approve_checks_each_application(client, world, shipped_parameters) -> None:
    u = world.users
    apps = []
    for hh in (world.village_hh, world.same_town_hh):
        app = services.create_application(by=u.town_officer, household=hh, programme="edge",
                                          channel="town_window", reason="收入略高于低保标准")
        app = services.act(by=u.town_officer, application=app, action="record_visit",
                           data={"members_present": "户主", "living_conditions": "一般"})
        app = services.act(by=u.town_officer, application=app, action="complete_verification")
        apps.append(services.act(by=u.town_officer, application=app, action="town_opinion",
                                 opinion="符合", data={"recommendation": "eligible"}))
    assert all(a.state == "decision" for a in apps)  # 边缘 recognition has no 公示
    client.login(username="town_officer", password=PASSWORD)  # not an approver
    client.post("/applications/bulk-approve/", {"application": [a.pk for a in apps],
                                                "opinion": "同意"})
    assert set(Application.objects.values_list("state", flat=True)) == {"decision"}
    client.login(username="town_approver", password=PASSWORD)
    page = client.get("/applications/").content.decode()
    assert "批准勾选的申请" in page
    client.post("/applications/bulk-approve/", {"application": [a.pk for a in apps],
                                                "opinion": "同意"})
    assert set(Application.objects.values_list("state", flat=True)) == {"notice"}


def test_printed_approval_form_has_opinions_and_reasons_masked_for_a_reader(
        client, world, shipped_parameters) -> None:
    u = world.users
    app = services.create_application(by=u.town_officer, household=world.village_hh,
                                      programme="dibao", channel="town_window", reason="无收入")
    services.act(by=u.town_officer, application=app, action="record_visit",
                 data={"members_present": "户主、配偶", "living_conditions": "租住平房"})
    client.login(username="supervisor", password=PASSWORD)  # may read, not see full names
    page = client.get(f"/applications/{app.pk}/print/").content.decode()
    assert "申请审批表" in page and "租住平房" in page and "登记入户调查" in page
    assert "最低生活保障" in page and "政策测算依据" in page
    for m in Membership.objects.filter(household=world.village_hh).select_related("person"):
        assert m.person.id_number not in page and m.person.name not in page
        assert m.person.masked_name in page

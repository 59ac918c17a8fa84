"""The APIs monitoring adds: the 12345 centre pushes tickets and reads their outcome; a
department entitled to outcomes (乡村振兴) reads what became of the warnings its data raised."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.exchange.department_api import issue_department_token
from doudi.exchange.imports import import_bytes
from doudi.exchange.models import FeedType
from doudi.monitoring import services
from doudi.monitoring.models import Warning
from tests.conftest import DISTRICT, PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]



def _account(username: str, role: str, department: str) -> str:
    with context.job("test account"):
        user = create_user(username=username, password=PASSWORD, area_code=DISTRICT,
                           roles=[role])
        user.department = department
        user.save()
    return issue_department_token(username)


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


TICKET = {"ticket_no": "12345-20261130-0001", "area_code": VILLAGE, "name": "王奶奶",
          "phone": "13900001111", "address": "隆阜社区3栋", "summary": "独居老人摔伤，无人照料"}


def test_the_hotline_pushes_a_ticket_and_reads_its_outcome(client, world) -> None:
    token = _account("hotline12345", "hotline", "12345")
    pushed = client.post("/api/hotline/tickets", TICKET, content_type="application/json",
                         **_auth(token))
    assert pushed.status_code == 201, pushed.content
    body = pushed.json()
    w = Warning.objects.get(pk=body["warning_id"])
    assert (w.channel, w.owner_code, w.household_id, w.reported_name) == (
        "hotline", "341002102", None, "王奶奶")
    assert body["status"] == "open" and body["handler"] == "乡镇（街道）"
    again = client.post("/api/hotline/tickets", TICKET, content_type="application/json",
                        **_auth(token))
    assert again.status_code == 201 and again.json()["warning_id"] == w.pk  # a retry
    assert Warning.objects.count() == 1
    services.verify(by=world.users.town_officer, warning=w, finding="已入户", confirmed=True)
    # a referral (转介) is about a registered household: the caller's is linked first
    services.link_household(by=world.users.town_officer, warning=w, household=world.village_hh)
    services.dispose(by=world.users.town_officer, warning=w, disposition="refer_medical")
    status = client.get(f"/api/hotline/tickets/{TICKET['ticket_no']}", **_auth(token))
    assert status.json()["status"] == "closed"
    assert status.json()["disposition_label"] == "转介医疗救助（医保部门）"


def test_a_ticket_naming_a_registered_person_is_linked(client, world) -> None:
    token = _account("hotline12345", "hotline", "12345")
    head = world.village_hh.head()
    got = client.post("/api/hotline/tickets", {**TICKET, "id_number": head.id_number},
                      content_type="application/json", **_auth(token))
    w = Warning.objects.get(pk=got.json()["warning_id"])
    assert (w.household_id, w.person_id) == (world.village_hh.pk, head.pk)


def test_only_the_hotline_account_may_push(client, world) -> None:
    dept = _account("yibao", "department", "医保")
    refused = client.post("/api/hotline/tickets", TICKET, content_type="application/json",
                          **_auth(dept))
    assert refused.status_code == 403 and not Warning.objects.exists()
    token = _account("hotline12345", "hotline", "12345")
    bad = client.post("/api/hotline/tickets", {**TICKET, "area_code": "341002102000"},
                      content_type="application/json", **_auth(token))
    assert bad.status_code == 422 and not Warning.objects.exists()
    assert client.get("/api/hotline/tickets/nope", **_auth(token)).status_code == 404


def test_the_department_reads_the_outcome_of_warnings_from_its_data(
        client, world, shipped_feed_types, shipped_parameters) -> None:
    head = world.village_hh.head()
    entered = dt.date.today() - dt.timedelta(days=20)
    csv_text = ("户主姓名,户主证件号码,所在村,家庭人口数,监测对象类别,主要风险类型,识别纳入时间,"
                "风险是否消除\n"
                f"{head.name},{head.id_number},隆阜村,2,突发严重困难户,因病,{entered},否\n")
    with context.job("test relapse"):
        out = import_bytes(FeedType.objects.get(key="relapse_watch"), csv_text.encode(),
                           "防返贫.csv", user=world.users.district_officer, channel="cli")
        assert out.counts["good"] == 1, out.message
        services.execute(services.start_run(by=world.users.district_officer))
    w = Warning.objects.get(indicator="relapse_watch_entry")
    services.verify(by=world.users.town_officer, warning=w, finding="因病住院", confirmed=True)
    services.dispose(by=world.users.town_officer, warning=w, disposition="case_linshi")
    token = _account("xiangcun", "department", "乡村振兴")
    got = client.get("/api/feeds/outcomes", **_auth(token)).json()
    mine = next(o for o in got if o["id_number"] == head.id_number)
    assert mine["warnings"] == [{"indicator": "relapse_watch_entry", "summary": w.summary,
                                 "status": "closed", "disposition": "给予临时救助（启动申请）",
                                 "closed_on": dt.date.today().isoformat()}]

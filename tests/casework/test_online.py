"""网上申请: a resident applies without logging in, with the 授权书; the town accepts it into a
case (registering the applicant when new) or declines it; bad input is refused with reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.casework.models import Application, OnlineRequest
from doudi.core import idnumber
from doudi.exchange.models import Consent
from doudi.registry.models import Person
from tests.conftest import PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]



def _form(**over: str) -> dict:
    data = {"programme": "linshi", "name": "王小明", "phone": "13912345678", "village": VILLAGE,
            "address": "隆阜路8号", "hukou_type": "urban", "reason": "突发疾病，医疗费用高",
            "consent": "1", "origin": "", "aid_type": "expenditure", "need": "8,000.50",
            "id_number": idnumber.make("341002", dt.date(1975, 3, 4), 41, "M")}
    return {**data, **over}


def test_new_resident_applies_and_the_town_accepts(client, world, shipped_parameters) -> None:
    page = client.post("/apply/", _form()).content.decode()
    assert 'id="submitted"' in page
    request = OnlineRequest.objects.get()
    assert request.status == "pending" and not Person.objects.filter(
        id_number=request.id_number).exists()  # nothing in the registry yet
    client.login(username="town_officer", password=PASSWORD)
    queue = client.get("/applications/").content.decode()
    assert request.masked_name in queue and request.id_number not in queue
    response = client.post(f"/applications/online/{request.pk}/accept/")
    app = Application.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{app.pk}/")
    assert (app.channel, app.programme, app.applicant.id_number) == (
        "online", "linshi", request.id_number)
    # the one-off statement the resident gave is the case's
    assert (app.aid_type, app.need_fen) == ("expenditure", 800_050)
    assert Consent.objects.filter(household=app.household, signed_by="王小明").exists()
    request.refresh_from_db()
    assert request.status == "accepted" and request.application == app


def test_cross_province_and_existing_household(client, world, shipped_parameters) -> None:
    head = world.village_hh.head()
    client.post("/apply/", _form(id_number=head.id_number, name=head.name,
                                 origin="四川省广安市", programme="dibao"))
    client.login(username="town_approver", password=PASSWORD)
    client.post(f"/applications/online/{OnlineRequest.objects.get().pk}/accept/")
    app = Application.objects.get()
    assert app.household == world.village_hh and app.channel == "cross_province"
    assert "四川省广安市" in app.reason


@pytest.mark.parametrize(("over", "says"), [
    ({"aid_type": ""}, "请选择临时救助类型"), ({"need": ""}, "请填写救助需求金额"),
    ({"need": "1e30"}, "科学计数法"), ({"need": "Infinity"}, "有限数值"),
    ({"need": "12.345"}, "最多两位小数"), ({"need": "-80"}, "不能为负数")])
def test_one_off_aid_online_states_type_and_need(client, world, over, says) -> None:
    page = client.post("/apply/", _form(**over)).content.decode()
    assert says in page and 'id="submitted"' not in page
    assert not OnlineRequest.objects.exists()


def test_bad_input_consent_and_rate_limit(client, world) -> None:
    bad_id = _form()["id_number"][:-1] + "0"
    page = client.post("/apply/", _form(id_number=bad_id, consent="")).content.decode()
    assert "身份证号" in page and "授权书" in page
    assert not OnlineRequest.objects.exists()
    for _ in range(5):
        client.post("/apply/", _form())
    page = client.post("/apply/", _form()).content.decode()
    assert "提交过于频繁" in page and OnlineRequest.objects.count() == 5


def test_other_town_cannot_accept_and_decline_needs_a_reason(client, world) -> None:
    client.post("/apply/", _form())
    request = OnlineRequest.objects.get()
    from doudi.accounts.services import create_user

    create_user(username="tg_officer", password=PASSWORD, area_code="341002100",
                roles=["town_officer"])
    client.login(username="tg_officer", password=PASSWORD)
    assert client.post(f"/applications/online/{request.pk}/accept/").status_code == 404
    client.login(username="town_officer", password=PASSWORD)
    page = client.post(f"/applications/online/{request.pk}/decline/", {"reason": ""})
    assert "不予受理的理由" in page.content.decode()
    client.post(f"/applications/online/{request.pk}/decline/", {"reason": "非本辖区居民"})
    request.refresh_from_db()
    assert request.status == "declined" and not Application.objects.exists()

"""The department's side of referrals: /api/referrals with the department's token (incremental
list, answer) and the 转介待办 page; staff's referral form and list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.exchange.department_api import issue_department_token
from doudi.referrals import services
from doudi.referrals.models import Referral
from tests.conftest import PASSWORD
from tests.referrals.conftest import department_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _refer(world, kind: str = "medical", household=None) -> Referral:
    with context.job("test referral"):
        return services.refer(by=world.users.town_officer,
                              household=household or world.village_hh, kind=kind,
                              asked="住院自付费用较高，请核定医疗救助")


def test_the_department_lists_and_answers_through_the_api(client, world, yibao) -> None:
    token = issue_department_token("yibao")
    mine = _refer(world)
    _refer(world, kind="education")
    listed = client.get("/api/referrals", **_auth(token))
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert [r["id"] for r in body] == [mine.pk]
    head = world.village_hh.head()
    assert body[0]["name"] == head.masked_name and body[0]["id_number"] == head.masked_id
    assert head.id_number not in listed.content.decode()
    since = body[0]["updated_at"]
    assert client.get("/api/referrals", {"since": since}, **_auth(token)).json() == []

    refused = client.post(f"/api/referrals/{mine.pk}/answer", {"outcome": "refused"},
                          content_type="application/json", **_auth(token))
    assert refused.status_code == 422
    assert refused.json()["detail"][0] == {"loc": ["body", "payload", "reason"],
                                           "msg": "不予救助须说明理由", "type": "value_error"}
    bad = client.post(f"/api/referrals/{mine.pk}/answer",
                      {"outcome": "granted", "amount": "3000.001"},
                      content_type="application/json", **_auth(token))
    assert bad.status_code == 422
    granted = client.post(f"/api/referrals/{mine.pk}/answer",
                          {"outcome": "granted", "amount": "3,000"},
                          content_type="application/json", **_auth(token))
    assert granted.status_code == 200, granted.content
    assert granted.json()["status"] == "granted" and granted.json()["amount_fen"] == 300000
    changed = client.get("/api/referrals", {"since": since}, **_auth(token)).json()
    assert [r["id"] for r in changed] == [mine.pk]
    assert AuditEvent.objects.filter(action=AuditEvent.API,
                                     object_label__startswith="答复转介").exists()


def test_another_department_or_district_gets_404(client, world, yibao) -> None:
    mine = _refer(world)
    department_account("jiaoyu", "教育")
    department_account("gd_yibao", "医保", area_code="440103")
    for username in ("jiaoyu", "gd_yibao"):
        token = issue_department_token(username)
        assert client.get("/api/referrals", **_auth(token)).json() == []
        got = client.post(f"/api/referrals/{mine.pk}/answer", {"outcome": "accepted"},
                          content_type="application/json", **_auth(token))
        assert got.status_code == 404
    staff = client.post("/api/token", {"username": "district_approver", "password": PASSWORD},
                        content_type="application/json").json()["token"]
    assert client.get("/api/referrals", **_auth(staff)).status_code == 403
    mine.refresh_from_db()
    assert mine.status == "sent"


def test_the_department_page_answers_and_staff_refer_from_a_household(client, world,
                                                                      yibao) -> None:
    client.force_login(world.users.town_officer)
    form = reverse("referral_new", args=[world.village_hh.pk])
    assert client.get(form).status_code == 200
    again = client.post(form, {"kind": "medical", "asked": ""})
    assert again.status_code == 200 and "请填写转介事项" in again.content.decode()
    done = client.post(form, {"kind": "medical", "asked": "请核定医疗救助"})
    assert done.status_code == 302
    r = Referral.objects.get()
    page = client.get(reverse("household_detail", args=[world.village_hh.pk]))
    assert "医疗救助" in page.content.decode() and "待答复" in page.content.decode()
    assert client.get(reverse("referrals")).status_code == 200

    client.force_login(yibao)
    queue = client.get(reverse("referrals"))
    text = queue.content.decode()
    assert "转介待办" in text and "请核定医疗救助" in text
    assert world.village_hh.head().name not in text and world.village_hh.number not in text
    refused = client.post(reverse("referrals"), {"referral": r.pk, "outcome": "granted",
                                                 "amount": "1e3"})
    assert refused.status_code == 200 and "科学计数法" in refused.content.decode()
    ok = client.post(reverse("referrals"), {"referral": r.pk, "outcome": "granted",
                                            "amount": "3000"})
    assert ok.status_code == 302
    r.refresh_from_db()
    assert r.amount_fen == 300000
    assert client.get(reverse("referral_new", args=[world.village_hh.pk])).status_code == 403


def test_the_statistics_page_shows_referrals(client, world) -> None:
    _refer(world)
    client.force_login(world.users.district_approver)
    month = dt.date.today().strftime("%Y-%m")
    text = client.get(reverse("reports"), {"month": month}).content.decode()
    assert 'id="referral-figures"' in text and "医疗救助" in text


def test_a_case_refers_from_its_page(client, world) -> None:
    from doudi.casework.services import create_application

    with context.job("test case"):
        app = create_application(by=world.users.town_officer, household=world.village_hh,
                                 programme="dibao", channel="village",
                                 applicant=world.village_hh.head(), reason="收入低")
    client.force_login(world.users.town_officer)
    page = client.get(reverse("application_detail", args=[app.pk])).content.decode()
    link = f"{reverse('referral_new', args=[world.village_hh.pk])}?application={app.pk}"
    assert link in page
    assert app.number in client.get(link).content.decode()
    client.post(link, {"kind": "education", "asked": "子女就读高中，请核定教育救助",
                       "application": app.pk})
    r = Referral.objects.get()
    assert (r.source, r.application_id, r.department) == ("application", app.pk, "教育")

"""临时救助 as a clerk meets it: the intake form takes type and need, the case page shows the
rules' proposal and the short path's button, the notice says 给予临时救助 … 元（一次性）, the
payment is recorded once from the case page and appears on the household page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doudi.audit.models import AuditEvent
from doudi.benefits.models import OneOffPayment
from doudi.casework import services
from doudi.casework.models import Application
from doudi.registry.models import Membership, Observation
from tests.casework import flow
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def hh(world, shipped_parameters):
    household = world.village_hh
    Observation.objects.filter(household=household).delete()
    Membership.objects.filter(household=household).update(start_date=dt.date(2020, 1, 1))
    return household


def _writes() -> int:
    return AuditEvent.objects.filter(action__in=["create", "update", "delete"]).count()


def test_the_intake_form_takes_type_and_need(client, world, hh) -> None:
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get(f"/households/{hh.pk}/").content.decode()
    assert "救助类型" in page and "急难型" in page and "支出型" in page and 'name="need"' in page
    before = _writes()
    for body, says in (({"aid_type": ""}, "请选择临时救助类型"),
                       ({"need": ""}, "请填写救助需求金额"),
                       ({"need": "0"}, "救助需求金额应大于零"),
                       ({"need": "1.005"}, "最多两位小数")):
        form = {"programme": "linshi", "channel": "village", "reason": "房屋失火",
                "aid_type": "emergency", "need": "3000", **body}
        response = client.post(f"/households/{hh.pk}/applications/", form)
        assert response.status_code == 200 and says in response.content.decode(), says
    assert _writes() == before and not Application.objects.exists()
    response = client.post(f"/households/{hh.pk}/applications/", {
        "programme": "linshi", "channel": "village", "reason": "房屋失火",
        "aid_type": "expenditure", "need": "12,345.60"})
    assert response.status_code == 302
    app = Application.objects.get()
    assert (app.aid_type, app.need_fen, app.emergency) == ("expenditure", 1_234_560, False)
    page = client.get(f"/applications/{app.pk}/").content.decode()
    assert "支出型" in page and "12,345.60" in page


def test_the_notice_says_one_off_aid_and_the_payment_is_recorded_once(client, world,
                                                                        hh) -> None:
    app = services.create_application(
        by=world.users.village_assistant, household=hh, programme="linshi", channel="village",
        reason="房屋失火", aid_type="emergency", need_fen=123_456,
        submitted_on=timezone.localdate())
    app = flow.approve_through(world.users, app, timezone.localdate())
    client.login(username="town_officer", password=PASSWORD)
    notice = client.get(f"/applications/{app.pk}/notice/").content.decode()
    assert "决定给予临时救助（急难型）1,234.56 元（一次性）" in notice
    assert "纳入保障" not in notice and "月保障金" not in notice
    page = client.get(f"/applications/{app.pk}/").content.decode()
    assert "一次性救助发放" in page and "登记发放" in page and "月保障金" not in page
    assert "已批准（一次性救助）" in page and "纳入保障" not in page
    response = client.post(f"/applications/{app.pk}/pay/", {
        "method": "cash", "payee_name": "张三丰", "paid_on": timezone.localdate().isoformat(),
        "note": "领款凭证 0012"})
    assert response.status_code == 302
    payment = OneOffPayment.objects.get(application=app)
    assert (payment.status, payment.method, payment.amount_fen) == ("paid", "cash", 123_456)
    again = client.post(f"/applications/{app.pk}/pay/", {
        "method": "cash", "payee_name": "张三丰", "paid_on": timezone.localdate().isoformat()})
    assert "不能重复发放" in again.content.decode()
    household = client.get(f"/households/{hh.pk}/").content.decode()
    assert "one-off-payments" in household and "1,234.56" in household
    assert "一次性救助发放" in household  # on the timeline too


def test_the_short_path_button_shows_only_for_a_small_urgent_case(client, world, hh) -> None:
    small = services.create_application(
        by=world.users.village_assistant, household=hh, programme="linshi", channel="village",
        reason="突发疾病", aid_type="emergency", need_fen=50_000)
    client.login(username="town_approver", password=PASSWORD)
    assert "急难小额先行审批" in client.get(f"/applications/{small.pk}/").content.decode()
    services.record_request(by=world.users.town_officer, application=small,
                            aid_type="expenditure", need_fen=50_000)
    assert "急难小额先行审批" not in client.get(f"/applications/{small.pk}/").content.decode()


def test_the_one_off_page_writes_approved_bank_payments_to_a_file(client, world, hh,
                                                                  shipped_bank_layouts) -> None:
    from doudi.benefits import one_off

    u = world.users
    app = services.create_application(
        by=u.village_assistant, household=hh, programme="linshi", channel="village",
        reason="交通事故", aid_type="emergency", need_fen=98_765,
        submitted_on=timezone.localdate())
    app = flow.approve_through(u, app, timezone.localdate())
    payment = one_off.pay(by=u.town_officer, payment=app.one_off_payment, method="bank",
                          payee_name="张三丰", account="6217 0000 1234 5670", bank="农业银行")
    client.login(username="district_officer", password=PASSWORD)
    page = client.post("/payments/one-off/", {"action": "bank_file", "layout": "default"})
    assert "没有已复核待发放" in page.content.decode()  # not yet approved by a second person
    client.login(username="district_approver", password=PASSWORD)
    assert client.post(f"/applications/{app.pk}/pay/", {"action": "approve"}).status_code == 302
    client.login(username="district_officer", password=PASSWORD)
    listing = client.get("/payments/one-off/").content.decode()
    assert app.number in listing and "待银行发放" in listing and "6217000012345670" not in listing
    response = client.post("/payments/one-off/", {"action": "bank_file", "layout": "default"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert f"YC{payment.pk}" in text and "987.65" in text and "6217000012345670" in text
    payment.refresh_from_db()
    assert payment.status == OneOffPayment.EXPORTED

"""申请进度查询: a resident opens their case with the application number and their ID's last
six characters; one answer for a wrong number and a wrong tail; limits per address and per
number; a short-lived token bound to one case; withdrawal, documents and the served notice
through the services officers use; nothing else of the case or the household shown."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from doudi.audit.models import AuditEvent
from doudi.casework import case_status, online, services
from doudi.casework.models import Application, ApplicationEvent, Attachment, OnlineRequest
from doudi.core import idnumber
from doudi.registry.models import Membership, Observation
from doudi.web.case_status_views import SESSION_KEY
from tests.casework.flow import approve_through
from tests.conftest import PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]
DAY = dt.date(2026, 11, 2)  # a Monday
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _app(world, household=None, channel: str = "village", **kw) -> Application:
    hh = household or world.village_hh
    Observation.objects.filter(household=hh).delete()  # no income: 低保 eligible
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    return services.create_application(by=world.users.town_officer, household=hh,
                                       programme="dibao", channel=channel, reason="无收入来源",
                                       submitted_on=DAY, **kw)


def _tail(app: Application) -> str:
    return app.applicant.id_number[-6:]


def _open(client, app: Application, tail: str | None = None):
    return client.post("/case-status/", {"number": app.number,
                                         "tail": _tail(app) if tail is None else tail})


def _error(response) -> str:
    text = response.content.decode()
    start = text.find('id="status-error"')
    return text[start:text.find("</div>", start)] if start >= 0 else ""


def test_the_applicant_sees_where_the_case_stands_and_nothing_else(client, world) -> None:
    app = _app(world)
    app = services.act(by=world.users.village_assistant, application=app, action="record_visit",
                       opinion="家中有病人，生活困难",
                       data={"members_present": "户主、配偶", "living_conditions": "租住平房"},
                       day=DAY)
    response = _open(client, app)
    assert response.status_code == 302 and response["Location"] == "/case-status/"
    page = client.get("/case-status/")
    text = page.content.decode()
    assert page.status_code == 200 and app.number in text and "最低生活保障" in text
    assert "家庭经济状况核对" in text and "（办理中）" in text  # the current step
    assert app.step_due.isoformat() in text  # its deadline, as the workflow computed it
    assert "入户调查" in text and "公示" in text  # a 低保 case is published
    # nothing of the household, its members, the officers or the opinions
    hh = world.village_hh
    for m in hh.memberships.select_related("person"):
        p = m.person
        for shown in (p.name, p.masked_name, p.id_number, p.masked_id, p.phone):
            assert not shown or shown not in text
    for hidden in (hh.number, hh.address, "village_assistant", "town_officer",
                   "家中有病人", "租住平房", "户主、配偶", hh.area.name):
        assert hidden not in text, hidden
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    # the session holds a signed token, not the application's id
    token = client.session[SESSION_KEY]
    assert str(app.pk) != token and case_status.read_token(token) == app
    assert AuditEvent.objects.filter(action=AuditEvent.VIEW, object_id=str(app.pk),
                                     object_label__contains="申请人查询申请进度").exists()


def test_a_wrong_tail_and_a_wrong_number_get_one_answer(client, world) -> None:
    app = _app(world)
    wrong_tail = "000000" if _tail(app) != "000000" else "111111"
    by_tail = _open(client, app, wrong_tail)
    by_number = client.post("/case-status/", {"number": app.number[:-5] + "99999",
                                              "tail": _tail(app)})
    nonsense = client.post("/case-status/", {"number": "<script>", "tail": "12345X"})
    assert _error(by_tail) and _error(by_tail) == _error(by_number) == _error(nonsense)
    assert case_status.NOT_FOUND in _error(by_tail)
    for response in (by_tail, by_number, nonsense):
        assert response.status_code == 200 and SESSION_KEY not in client.session
    refusals = AuditEvent.objects.filter(action=AuditEvent.REFUSED,
                                         object_label__startswith="申请进度查询未通过")
    assert refusals.count() == 3
    for row in refusals:  # the number masked, the tail never written
        assert app.number not in row.object_label and _tail(app) not in row.object_label
        assert wrong_tail not in row.object_label


def test_the_tail_is_read_as_typed_on_a_phone(client, world, new_id) -> None:
    """Lower-case x, full-width digits and spaces are the same tail."""
    seq = next(s for s in range(100, 999) if idnumber.make("341002", dt.date(1980, 1, 1), s,
                                                           "M").endswith("X"))
    head = world.village_hh.head()
    head.id_number = idnumber.make("341002", dt.date(1980, 1, 1), seq, "M")
    head.save()
    app = _app(world)
    typed = " ".join(_tail(app).lower()).replace("1", "１")
    assert _open(client, app, typed).status_code == 302


def test_any_channel_opens_the_same_way(client, world, shipped_parameters) -> None:
    hotline = _app(world, channel="hotline", reference="12345-2026-0001")
    assert _open(client, hotline).status_code == 302
    client.post("/case-status/", {"action": "exit"})
    assert SESSION_KEY not in client.session
    form = {"programme": "linshi", "name": "王小明", "phone": "13912345678", "village": VILLAGE,
            "address": "隆阜路8号", "hukou_type": "urban", "reason": "突发疾病",
            "consent": "1", "aid_type": "expenditure", "need": "3000",
            "id_number": idnumber.make("341002", dt.date(1975, 3, 4), 41, "M")}
    client.post("/apply/", form)
    accepted = online.accept(by=world.users.town_officer, request=OnlineRequest.objects.get())
    app = accepted.application
    assert app.channel == "online"
    response = client.post("/case-status/", {"number": app.number.lower(),
                                             "tail": form["id_number"][-6:]})
    assert response.status_code == 302
    assert "临时救助" in client.get("/case-status/").content.decode()


def _same_minute() -> None:
    """Counts per address are per clock minute: start a burst well inside one."""
    if int(time.time()) % 60 > 50:
        time.sleep(61 - int(time.time()) % 60)


def test_limits_per_address_and_per_application(client, world, settings) -> None:
    from django.core.cache import cache

    app = _app(world)
    settings.DOUDI_CASE_STATUS_RATE_PER_MINUTE = 1000  # this part is about the number
    wrong = "000000" if _tail(app) != "000000" else "111111"
    for _ in range(settings.DOUDI_CASE_STATUS_FAILURES):
        assert case_status.NOT_FOUND in _error(_open(client, app, wrong))
    # the right tail now waits an hour too, with the answer any number gets after five misses
    assert case_status.LOCKED in _error(_open(client, app, _tail(app)))
    missing = app.number[:-5] + "99999"
    for _ in range(settings.DOUDI_CASE_STATUS_FAILURES):
        client.post("/case-status/", {"number": missing, "tail": wrong})
    assert case_status.LOCKED in _error(client.post("/case-status/", {"number": missing,
                                                                     "tail": wrong}))
    # per address: the limit of the minute, whatever is asked
    other = _app(world, household=world.same_town_hh)
    cache.clear()
    settings.DOUDI_CASE_STATUS_RATE_PER_MINUTE = 10
    _same_minute()
    for _ in range(9):
        client.post("/case-status/", {"number": "x", "tail": "y"})
    assert _open(client, other).status_code == 302  # the tenth of the minute
    client.post("/case-status/", {"action": "exit"})
    assert case_status.TOO_FAST in _error(_open(client, other))  # the eleventh
    assert AuditEvent.objects.filter(action=AuditEvent.REFUSED,
                                     object_label__contains="同一地址查询过于频繁").exists()


def test_the_token_expires_and_opens_one_case_only(client, world, settings,
                                                   monkeypatch) -> None:
    a, b = _app(world), _app(world, household=world.same_town_hh)
    _open(client, a)
    token = client.session[SESSION_KEY]
    # another case's id under this case's number, another salt, a changed byte: nothing
    forged = signing.dumps({"a": b.pk, "n": a.number}, salt=case_status.SALT)
    assert case_status.read_token(forged) is None
    assert case_status.read_token(signing.dumps({"a": b.pk, "n": b.number})) is None
    assert case_status.read_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    # a withdrawal posted with B's number and id still acts on A alone
    client.post("/case-status/withdraw/", {"confirm": "1", "number": b.number,
                                           "application": b.pk})
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state) == ("withdrawn", "accepted")
    # after DOUDI_CASE_STATUS_MINUTES the token opens nothing; the form says so
    later = time.time() + settings.DOUDI_CASE_STATUS_MINUTES * 60 + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    page = client.get("/case-status/")
    assert case_status.EXPIRED in _error(page) and a.number not in page.content.decode()
    assert SESSION_KEY not in client.session
    for path in ("/case-status/notice/",):
        assert 'id="lookup-form"' in client.get(path).content.decode()


def test_withdrawal_goes_through_the_workflow(client, world) -> None:
    app = _app(world)
    _open(client, app)
    page = client.post("/case-status/withdraw/", {"reason": "家庭情况好转"})
    assert "我确认撤回本申请" in _error(page)
    app.refresh_from_db()
    assert app.state == "accepted"
    response = client.post("/case-status/withdraw/", {"confirm": "1", "reason": "家庭情况好转"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.state == "withdrawn" and app.step_due is None
    event = ApplicationEvent.objects.get(application=app, action="withdraw")
    assert event.actor is None and event.actor_name == services.APPLICANT_ACTOR
    assert "家庭情况好转" in event.opinion and event.from_state == "accepted"
    assert AuditEvent.objects.filter(object_type="casework.application", object_id=str(app.pk),
                                     action=AuditEvent.UPDATE,
                                     actor_name=services.APPLICANT_ACTOR).exists()
    text = client.get("/case-status/").content.decode()
    assert "已撤回" in text and 'id="status-withdraw"' not in text
    assert 'id="status-upload"' not in text  # closed: nothing more to add


def test_a_decided_case_is_not_withdrawn_online_and_its_notice_prints(client, world) -> None:
    app = _app(world)
    app = services.act(by=world.users.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "平房"}, day=DAY)
    app = services.act(by=world.users.town_officer, application=app,
                       action="complete_verification", day=DAY)
    app = services.act(by=world.users.town_officer, application=app, action="town_opinion",
                       opinion="符合条件", data={"recommendation": "eligible"}, day=DAY)
    app = services.act(by=world.users.town_officer, application=app, action="close_publicity",
                       day=app.publicity_ends_on)
    app = services.act(by=world.users.town_approver, application=app, action="approve",
                       opinion="同意", day=app.publicity_ends_on)
    _open(client, app)
    text = client.get("/case-status/").content.decode()
    assert app.state == "notice" and 'id="notice-link"' not in text  # decided, not yet served
    assert 'id="status-withdraw"' not in text
    assert "尚未送达" in _error(client.get("/case-status/notice/"))
    assert "不能在网上撤回" in _error(client.post("/case-status/withdraw/", {"confirm": "1"}))
    app = services.act(by=world.users.town_officer, application=app, action="issue_notice",
                       day=app.decided_on)
    text = client.get("/case-status/").content.decode()
    assert 'id="notice-link"' in text and "批准" in text
    notice = client.get("/case-status/notice/")
    body = notice.content.decode()
    head = app.applicant
    assert notice.status_code == 200 and app.document.number in body
    assert head.masked_name in body and head.name not in body and head.id_number not in body
    assert "行政复议" in body
    assert AuditEvent.objects.filter(object_label__startswith="申请人下载书面通知",
                                     object_id=str(app.pk),
                                     actor_name=services.APPLICANT_ACTOR).exists()


def test_a_return_for_correction_says_what_is_missing_and_documents_are_taken(
        client, world, settings) -> None:
    app = _app(world)
    app = services.act(by=world.users.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "平房"}, day=DAY)
    # the officer's page has the field; the opinion stays the officers'
    client.login(username="town_officer", password=PASSWORD)
    client.post(f"/applications/{app.pk}/act/", {
        "action": "return_for_correction", "opinion": "户主张三丰收入材料不全，内部备注",
        "missing": "近三个月工资流水"})
    client.logout()
    app.refresh_from_db()
    assert app.state == "accepted"
    _open(client, app)
    text = client.get("/case-status/").content.decode()
    assert "近三个月工资流水" in text and "内部备注" not in text and "张三丰" not in text
    upload = client.post("/case-status/documents/",
                         {"file": SimpleUploadedFile("流水.png", PNG)})
    assert upload.status_code == 302
    item = Attachment.objects.get(application=app)
    assert (item.kind, item.uploaded_by, item.content_type) == ("document", None, "image/png")
    assert AuditEvent.objects.filter(object_type="casework.attachment", action=AuditEvent.CREATE,
                                     actor_name=services.APPLICANT_ACTOR).exists()
    # the attachments' own checks: the bytes decide the type, the size is capped
    bad = client.post("/case-status/documents/",
                      {"file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00not a pdf")})
    assert "只能上传" in _error(bad)
    settings.DOUDI_ATTACHMENT_MAX_BYTES = 32
    assert "文件过大" in _error(client.post("/case-status/documents/",
                                            {"file": SimpleUploadedFile("big.png", PNG)}))
    settings.DOUDI_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    settings.DOUDI_CASE_STATUS_UPLOADS_PER_DAY = 3
    for _ in range(3):
        client.post("/case-status/documents/", {"file": SimpleUploadedFile("a.png", PNG)})
    assert "已达上限" in _error(client.post("/case-status/documents/",
                                            {"file": SimpleUploadedFile("b.png", PNG)}))
    assert Attachment.objects.filter(application=app).count() == 2
    # once visited again, the return is no longer pending
    services.act(by=world.users.village_assistant, application=app, action="record_visit",
                 data={"members_present": "户主", "living_conditions": "平房"}, day=DAY)
    assert 'id="status-return"' not in client.get("/case-status/").content.decode()


def test_an_approved_case_timeline(world) -> None:
    app = approve_through(world.users, _app(world), DAY)
    st = case_status.status(app)
    labels = [s.label for s in st.steps]
    assert labels == ["受理", "入户调查", "家庭经济状况核对", "镇街审核", "公示", "审批决定",
                      "送达书面通知"]
    assert all(s.status == "done" for s in st.steps) and st.due is None
    publicity = st.steps[4]
    assert publicity.until == app.publicity_ends_on
    assert st.decision == "批准" and st.notice_issued and not st.may_withdraw

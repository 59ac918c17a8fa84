"""A warning's life: 主动发现 and 12345 tickets routed to the town with a working-day limit,
核实 then 处置 (a case started pre-filled, or 核实不符 with a reason), escalation of overdue
warnings one level up, one open warning per subject, and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.casework.models import Application
from doudi.monitoring import services, workflow
from doudi.monitoring.models import Warning, WarningEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _discovery(world, **kw) -> Warning:
    return services.report(by=world.users.village_assistant, channel="discovery",
                           summary="户主突发脑梗住院，家中无人照料", household=world.village_hh,
                           as_of=dt.date(2026, 11, 2), **kw)


def test_a_discovery_goes_to_the_town_and_becomes_a_case(world, shipped_parameters) -> None:
    u = world.users
    w = _discovery(world)
    assert (w.handler_level, w.owner_code, w.status) == ("town", "341002102", workflow.OPEN)
    assert w.due_on == dt.date(2026, 11, 9)  # 5 working days after Monday 2 November
    with pytest.raises(PermissionDenied):  # the town verifies what the village reported
        services.verify(by=u.village_assistant, warning=w, finding="x", confirmed=True)
    with pytest.raises(services.MonitoringError, match="核实情况"):
        services.verify(by=u.town_approver, warning=w, finding=" ", confirmed=True)
    with pytest.raises(services.MonitoringError, match="先记录核实"):
        services.dispose(by=u.town_approver, warning=w, disposition="case_linshi")
    services.verify(by=u.town_approver, warning=w, finding="11月3日入户，属实", confirmed=True)
    w = services.dispose(by=u.town_approver, warning=w, disposition="case_linshi",
                         note="先行临时救助")
    app = Application.objects.get(pk=w.application_id)
    assert (app.programme, app.channel, app.household_id) == ("linshi", "warning",
                                                              world.village_hh.pk)
    assert f"预警 #{w.pk}" in app.reason or f"#{w.pk}" in app.reason
    assert (w.status, w.open_key, w.disposition) == (workflow.CLOSED, None, "case_linshi")
    assert list(WarningEvent.objects.filter(warning=w).values_list("action", flat=True)) == [
        "report", "verify", "dispose"]
    # closed: the same report may be made again
    again = _discovery(world)
    assert again.pk != w.pk


def test_one_open_warning_per_subject_and_reasons_required(world) -> None:
    u = world.users
    w = _discovery(world)
    with pytest.raises(services.MonitoringError, match="尚未办结"):
        _discovery(world)
    services.verify(by=u.town_officer, warning=w, finding="入户核实，已有稳定收入", confirmed=False)
    with pytest.raises(services.MonitoringError, match="须说明理由"):
        services.dispose(by=u.town_officer, warning=w, disposition="not_confirmed")
    services.dispose(by=u.town_officer, warning=w, disposition="not_confirmed",
                     note="子女已就业，月收入6000元")
    assert Warning.objects.get(pk=w.pk).status == workflow.CLOSED


def test_out_of_area_staff_cannot_report_or_handle(world) -> None:
    u = world.users
    with pytest.raises(PermissionDenied):
        services.report(by=u.village_assistant, channel="discovery", summary="x",
                        household=world.other_town_hh)
    w = _discovery(world)
    with pytest.raises(PermissionDenied):
        services.verify(by=world.gd_user, warning=w, finding="x", confirmed=True)


def test_a_hotline_ticket_for_someone_not_registered(world, shipped_parameters) -> None:
    u = world.users
    with pytest.raises(services.MonitoringError, match="工单号"):
        services.report(by=u.town_officer, channel="hotline", summary="独居老人无人照料",
                        area_code="341002102002", name="王奶奶")
    w = services.report(by=u.town_officer, channel="hotline", summary="独居老人无人照料",
                        area_code="341002102002", name="王奶奶", phone="13900001111",
                        ticket_no="GD20261101001", as_of=dt.date(2026, 11, 2))
    assert w.household is None and w.level == 2 and w.due_on == dt.date(2026, 11, 5)
    services.verify(by=u.town_officer, warning=w, finding="已入户", confirmed=True)
    with pytest.raises(services.MonitoringError, match="尚未建档"):
        services.dispose(by=u.town_officer, warning=w, disposition="case_tekun")
    services.link_household(by=u.town_officer, warning=w, household=world.village_hh)
    # 特困 is applied for one member: the case waits until the warning names whom it is for
    with pytest.raises(services.MonitoringError, match="请选择申请对象"):
        services.dispose(by=u.town_officer, warning=w, disposition="case_tekun")
    with pytest.raises(services.MonitoringError, match="现有成员"):
        services.link_household(by=u.town_officer, warning=w, household=world.village_hh,
                                person=world.same_town_hh.head())
    spouse = world.village_hh.current_memberships().exclude(relation="head").get().person
    services.link_household(by=u.town_officer, warning=w, household=world.village_hh,
                            person=spouse)
    w = services.dispose(by=u.town_officer, warning=w, disposition="case_tekun")
    assert w.application.programme == "tekun" and w.application.applicant == spouse


def test_overdue_warnings_escalate_one_level(world) -> None:
    w = _discovery(world)
    assert services.escalate_overdue(dt.date(2026, 11, 9)) == 0  # due that day: not late
    assert services.escalate_overdue(dt.date(2026, 11, 10)) == 1
    w.refresh_from_db()
    assert (w.handler_level, w.owner_code, w.escalations) == ("district", "341002", 1)
    assert w.due_on == dt.date(2026, 11, 17)
    event = WarningEvent.objects.get(warning=w, action="escalate")
    assert "县（区）" in event.label
    with pytest.raises(PermissionDenied):  # now the district's
        services.verify(by=world.users.town_approver, warning=w, finding="x", confirmed=True)
    assert services.escalate_overdue(dt.date(2026, 12, 31)) == 0  # the district is the top


def test_district_admin_tunes_indicators(world) -> None:
    u = world.users
    services.tune(by=u.district_admin, key="medical_bill", params={"excess": 1_000_000},
                  active=True)
    tuned = next(i for i in services.indicators_for("341002102002") if i.key == "medical_bill")
    assert tuned.value("$excess") == 1_000_000
    other = next(i for i in services.indicators_for("440103") if i.key == "medical_bill")
    assert other.value("$excess") == 300_000  # another county keeps the default
    services.tune(by=u.district_admin, key="school_dropout", params={}, active=False)
    assert "school_dropout" not in {i.key for i in services.indicators_for("341002")}
    with pytest.raises(PermissionDenied):
        services.tune(by=u.district_officer, key="medical_bill", params={}, active=True)
    with pytest.raises(Exception, match="非负整数"):
        services.tune(by=u.district_admin, key="medical_bill", params={"excess": -1},
                      active=True)


def test_pages_take_a_warning_from_the_list_to_a_case(client, world, shipped_parameters) -> None:
    w = _discovery(world)
    client.login(username="town_approver", password=PASSWORD)
    page = client.get("/monitoring/").content.decode()
    assert "黎阳镇" in page and "主动发现" in page
    listing = client.get("/monitoring/warnings/?town=341002102").content.decode()
    assert f"/monitoring/warnings/{w.pk}/" in listing
    assert "张三丰" not in listing
    detail = client.get(f"/monitoring/warnings/{w.pk}/").content.decode()
    assert "户主突发脑梗住院" in detail and "记录核实情况" in detail
    r = client.post(f"/monitoring/warnings/{w.pk}/act/", {"action": "verify",
                                                          "finding": "属实", "confirmed": "yes"})
    assert r.status_code == 302
    r = client.post(f"/monitoring/warnings/{w.pk}/act/", {"action": "dispose",
                                                          "disposition": "case_dibao"})
    w.refresh_from_db()
    assert r.status_code == 302 and r["Location"].endswith(f"/applications/{w.application_id}/")
    household = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert f"/monitoring/warnings/{w.pk}/" in household
    client.login(username="district_officer", password=PASSWORD)
    tree = client.get("/monitoring/?area=341002102").content.decode()
    assert "按村（社区）" in tree and "隆阜" in tree  # the town's villages
    assert "?area=341002102" in client.get("/monitoring/").content.decode()  # towns drill down
    client.login(username="gd_district", password=PASSWORD)
    assert client.get(f"/monitoring/warnings/{w.pk}/").status_code == 404
    assert "隆阜" not in client.get("/monitoring/?area=341002102").content.decode()


def test_only_holders_may_run_or_tune_through_the_pages(client, world) -> None:
    from doudi.monitoring.models import IndicatorSetting, MonitoringRun

    client.login(username="town_approver", password=PASSWORD)
    assert client.post("/monitoring/run/").status_code == 403
    assert client.post("/monitoring/indicators/tune/", {"key": "medical_bill",
                                                        "p_days": "30"}).status_code == 403
    assert not MonitoringRun.objects.exists() and not IndicatorSetting.objects.exists()
    client.login(username="district_admin", password=PASSWORD)
    bad = client.post("/monitoring/indicators/tune/", {"key": "medical_bill", "p_days": "三十",
                                                       "p_excess": "3000", "active": "on"})
    assert "应为非负整数" in bad.content.decode() and not IndicatorSetting.objects.exists()
    ok = client.post("/monitoring/indicators/tune/", {"key": "medical_bill", "p_days": "180",
                                                      "p_excess": "5000.50", "active": "on"})
    assert ok.status_code == 302
    assert IndicatorSetting.objects.get().params == {"days": 180, "excess": 500_050}
    run = client.post("/monitoring/run/")
    assert run.status_code == 302 and MonitoringRun.objects.get().area_code == "341002"


def test_an_overdue_review_becomes_a_due_action(world, shipped_parameters) -> None:
    from doudi.benefits import services as benefits
    from doudi.benefits.models import ReviewTask

    u = world.users
    e = benefits.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                        amount_fen=50_000, start_date=dt.date(2025, 1, 1))
    ReviewTask.objects.create(enrollment=e, due_date=dt.date(2026, 10, 31),
                              area_code=e.area_code)
    run = services.execute(services.start_run(by=u.district_officer,
                                              as_of=dt.date(2026, 11, 2)))
    late = Warning.objects.get(indicator="review_overdue")
    assert (late.household_id, late.programme, late.owner_code) == (
        world.village_hh.pk, "dibao", "341002102")
    assert late.evidence == {"review_due": "2026-10-31"} and run.inputs["reviews"] == 1

"""The household page is assembled from what the apps register (doudi.web.household_page):
panels in their order, left out when the user may not see them, a failed POST's form handed to
its panel, and a timeline from every registered source."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory

from doudi.accounts.models import User
from doudi.audit import labels
from doudi.audit.models import AuditEvent
from doudi.registry.models import Household
from doudi.web import household_page
from doudi.web.access import render_household

pytestmark = pytest.mark.django_db

# the page as it was drawn before it was assembled: the same sections in the same order
# (备案审查, drawn only for a household with a decision filed, came later)
SECTIONS = ["members", "categories", "observations", "rules", "enrollments", "applications",
            "filings", "needs", "donations", "visits", "warnings", "referrals", "verification",
            "timeline"]


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="card" id="([a-z_]+)">', html)


def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations a test makes end with it."""
    monkeypatch.setattr(household_page, "_panels", dict(household_page._panels))
    monkeypatch.setattr(household_page, "_timeline", dict(household_page._timeline))


@pytest.fixture(autouse=True)
def _filed(world) -> None:
    """A decision of the household's town under delegated power, filed, so 备案审查 shows."""
    import datetime as dt

    from doudi.casework.models import Application, FilingRecord

    household, day = world.village_hh, dt.date(2026, 11, 2)
    app = Application.objects.create(
        number="SQ2026PANEL00001", programme="dibao", channel="village", state="refused",
        household=household, reason="测试", submitted_on=day, step_started_on=day,
        decision="refused", decided_on=day, area_code=household.area_code)
    FilingRecord.objects.create(application=app, household=household, programme="dibao",
                                town=household.area_code[:9], decision="refused",
                                decided_on=day, decider_name="town_approver",
                                area_code=household.area_code)


def test_every_app_panel_is_drawn_in_order(client, world) -> None:
    client.force_login(world.users.village_assistant)
    html = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert _sections(html) == SECTIONS
    titles = re.findall(r"<h2>(.*?)</h2>", html)
    assert titles == [p.title for p in household_page.panels()] + ["救助链时间线"]
    assert titles[:3] == ["家庭成员", "类别", "经济状况（按成员，更正留痕）"]


def test_a_panel_the_user_may_not_see_is_left_out(client, world) -> None:
    client.force_login(world.users.supervisor)  # reads the registry, may not verify
    html = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert _sections(html) == [s for s in SECTIONS if s != "verification"]
    assert "家庭经济状况核对" not in html


def test_a_new_panel_and_timeline_source_join_the_page(client, world, monkeypatch) -> None:
    _isolated(monkeypatch)
    household_page.register_panel(household_page.Panel(
        "pilot", 55, "试点帮扶", "doudi/household/visits.html",
        lambda request, household: {"visits": []}))
    household_page.register_panel(household_page.Panel(
        "hidden", 56, "不可见", "doudi/household/visits.html", lambda request, household: None))
    user = world.users.village_assistant
    household_page.register_timeline(User, lambda household: [user.pk])
    event = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk)).first()
    client.force_login(user)
    html = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert _sections(html) == [*SECTIONS[:5], "pilot", *SECTIONS[5:]]
    assert "<h2>试点帮扶</h2>\n<p class=\"muted\">暂无探访记录</p>" in html
    assert "不可见" not in html
    timeline = html.split('id="timeline"')[1]
    assert event is not None and event.object_label in timeline


def test_registering_a_panel_or_source_twice_is_refused(monkeypatch) -> None:
    _isolated(monkeypatch)
    with pytest.raises(ValueError, match="applications"):
        household_page.register_panel(household_page.Panel(
            "applications", 1, "救助申请", "doudi/household/applications.html",
            lambda request, household: {}))
    with pytest.raises(ValueError, match=r"registry\.household"):
        household_page.register_timeline(Household, lambda household: [])


def test_a_failed_post_hands_its_form_to_its_panel(client, world) -> None:
    client.force_login(world.users.village_assistant)
    response = client.post(f"/households/{world.village_hh.pk}/consents/", {"signed_on": "x"})
    html = response.content.decode()
    assert response.status_code == 200 and _sections(html) == SECTIONS
    verification = html.split('id="verification"')[1].split("</section>")[0]
    assert '<div class="error">请填写授权书签署日期</div>' in verification


def test_a_form_no_panel_takes_is_a_mistake(world) -> None:
    request = RequestFactory().get("/")
    request.user = world.users.village_assistant
    with pytest.raises(TypeError, match="aplication_error"):
        render_household(request, world.village_hh, aplication_error="typo")


def test_audit_object_types_have_chinese_names(client, world) -> None:
    assert labels.label("casework.application") == "救助申请"  # the model's verbose name
    assert labels.label("api") == "数据接口调用"  # declared by the exchange app
    assert labels.label("backup") == "备份与恢复"  # by ops
    assert labels.label("keys") == "加密密钥"  # by the registry
    assert labels.label("no.such") == "no.such"
    client.force_login(world.users.audit_admin)
    html = client.get("/audit/").content.decode()
    assert '<option value="registry.household" >家庭</option>' in html

"""备案审查 in a browser (Playwright driving Debian's chromium): the town refuses two 低保
applications the rules find eligible, so both are filed and selected; a district reviewer
confirms one and opens a correction with a reason on the other, and the town sees the
correction on the household page. The list is kept as a screenshot at 375 px (a phone), where
the page must not scroll sideways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from doudi.audit import context
from doudi.casework import services
from doudi.casework.models import FilingRecord
from doudi.registry.models import Membership, Observation
from tests.browser_support import launched, new_page, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = 375


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    """A live server needs committed data, so every test here ends with a flush."""
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


@pytest.fixture
def browser(live) -> Iterator:
    with launched() as launched_browser:
        yield launched_browser


def _page(browser, width: int):
    return new_page(browser, width, 800)


def _login(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()


def _refused_by_the_town(world, hh) -> FilingRecord:
    u = world.users
    Observation.objects.filter(household=hh).delete()  # no income: the rules say eligible
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    with context.job("test: a town refuses"):
        app = services.create_application(by=u.town_officer, household=hh, programme="dibao",
                                          channel="town_window", reason="无收入来源")
        app = services.act(by=u.town_officer, application=app, action="record_visit",
                           data={"members_present": "户主", "living_conditions": "平房"})
        app = services.act(by=u.town_officer, application=app, action="complete_verification")
        app = services.act(by=u.town_officer, application=app, action="town_opinion",
                           opinion="不符合", data={"recommendation": "ineligible"})
        app = services.act(by=u.town_approver, application=app, action="refuse",
                           opinion="家庭收入高于标准")
    return app.filing


def test_a_district_reviewer_confirms_one_filing_and_corrects_another(
        browser, live, world) -> None:
    from playwright.sync_api import expect

    first = _refused_by_the_town(world, world.village_hh)
    second = _refused_by_the_town(world, world.same_town_hh)
    assert first.selected and second.selected

    page = _page(browser, 1280)
    _login(page, live.url, "district_approver")
    page.goto(f"{live.url}/applications/")
    page.get_by_role("link", name="备案审查").click()
    table = page.locator("#filings")
    expect(table).to_contain_text(first.application.number)
    expect(table).to_contain_text(second.application.number)
    expect(table).to_contain_text("不予批准，但规则测算符合条件")

    table.get_by_role("link", name=first.application.number).click()
    expect(page.locator("#filing-reasons")).to_contain_text("不予批准，但规则测算符合条件")
    page.get_by_role("radio", name="确认").check()
    page.get_by_role("button", name="提交审查结论").click()
    expect(page.locator("#filing-status")).to_have_text("已确认")

    page.goto(f"{live.url}/applications/filings/")
    page.locator("#filings").get_by_role("link", name=second.application.number).click()
    page.get_by_role("radio", name="要求纠正").check()
    page.get_by_role("button", name="提交审查结论").click()  # no reason: refused
    expect(page.get_by_role("alert")).to_contain_text("须写明理由")
    page.get_by_role("radio", name="要求纠正").check()
    page.fill("textarea[name=note]", "家庭无收入，规则测算符合条件，请重新审核")
    page.get_by_role("button", name="提交审查结论").click()
    expect(page.locator("#filing-status")).to_have_text("已纠正")
    expect(page.locator("#review")).to_contain_text("纠正期限")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == FilingRecord.CONFIRMED
    assert second.status == FilingRecord.CORRECTION and second.correction_open

    # the town sees the correction where it works, on the household's page
    town = _page(browser, PHONE)
    _login(town, live.url, "town_officer")
    town.goto(f"{live.url}/households/{second.household_id}/#filings")
    expect(town.locator("#filings")).to_contain_text("请重新审核")
    town.fill("#filings input[name=correction]", "已重新审核，批准纳入低保")
    town.get_by_role("button", name="登记纠正情况").click()
    expect(town.locator("#filings")).to_contain_text("已纠正：已重新审核，批准纳入低保")

    phone = _page(browser, PHONE)
    _login(phone, live.url, "district_approver")
    phone.goto(f"{live.url}/applications/filings/?status=&all=1")
    expect(phone.locator("#filings")).to_contain_text(second.application.number)
    width = phone.evaluate("document.documentElement.scrollWidth")
    screenshot(phone, "filing_reviews_375.png")
    assert width <= PHONE, f"the 备案审查 list is {width} px wide on a {PHONE} px phone"

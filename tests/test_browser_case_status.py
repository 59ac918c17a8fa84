"""申请进度查询 in a phone's browser (Playwright driving Debian's chromium, 375 px): a resident
opens their case with its number and their ID's last six characters, sees its steps and
nothing of another case, and withdraws it; another case's number with their tail opens
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from doudi.audit import context
from doudi.casework import case_status, services
from doudi.casework.models import Application
from doudi.registry.models import Membership, Observation
from tests.browser_support import open_page, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters, fresh_rate_limit):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


@pytest.fixture
def phone(live) -> Iterator:
    with open_page(375, 740, phone=True) as pg:
        yield pg


def _case(world, household) -> Application:
    Observation.objects.filter(household=household).delete()
    Membership.objects.filter(household=household).update(start_date=dt.date(2020, 1, 1))
    return services.create_application(by=world.users.town_officer, household=household,
                                       programme="dibao", channel="town_window",
                                       reason="无收入来源")


def _look_up(page, base: str, number: str, tail: str) -> None:
    page.goto(f"{base}/case-status/")
    page.fill("input[name=number]", number)
    page.fill("input[name=tail]", tail)
    page.get_by_role("button", name="查询").click()


def test_a_resident_follows_and_withdraws_their_case_on_a_phone(phone, live, world) -> None:
    from playwright.sync_api import expect

    with context.job("browser test data"):
        mine = _case(world, world.village_hh)
        mine = services.act(by=world.users.village_assistant, application=mine,
                            action="record_visit", opinion="内部意见不对外",
                            data={"members_present": "户主", "living_conditions": "平房"})
        theirs = _case(world, world.same_town_hh)
    my_tail = mine.applicant.id_number[-6:]
    their_tail = theirs.applicant.id_number[-6:]
    assert my_tail != their_tail

    # another case's number with my tail: the one answer, nothing opened
    _look_up(phone, live.url, theirs.number, my_tail)
    expect(phone.locator("#status-error")).to_contain_text(case_status.NOT_FOUND)
    expect(phone.locator("#case-status")).to_have_count(0)

    _look_up(phone, live.url, mine.number, my_tail)
    expect(phone.locator("#status-number")).to_have_text(mine.number)
    expect(phone.locator("#status-programme")).to_contain_text("最低生活保障")
    expect(phone.locator("#status-steps li.current")).to_contain_text("家庭经济状况核对")
    expect(phone.locator("#status-due")).to_contain_text(mine.step_due.isoformat())
    html = phone.content()
    for hidden in (theirs.number, world.village_hh.number, world.village_hh.address,
                   "内部意见不对外", "village_assistant", "town_officer"):
        assert hidden not in html, hidden
    for household in (world.village_hh, world.same_town_hh):
        for m in household.memberships.select_related("person"):
            assert m.person.name not in html and m.person.masked_name not in html
            assert m.person.id_number not in html and m.person.masked_id not in html
    assert phone.url == f"{live.url}/case-status/"  # no id, no token in the address
    screenshot(phone, "case-status-375.png")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    # withdraw: the confirmation is required, then the case is closed
    phone.fill("#status-withdraw input[name=reason]", "家庭情况好转")
    phone.check("#status-withdraw input[name=confirm]")
    phone.get_by_role("button", name="撤回申请").click()
    expect(phone.locator(".msg.success")).to_contain_text("已撤回")
    expect(phone.locator("#status-state")).to_contain_text("已撤回")
    expect(phone.locator("#status-withdraw")).to_have_count(0)
    screenshot(phone, "case-status-withdrawn-375.png")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, theirs.state) == ("withdrawn", "accepted")

    phone.get_by_role("button", name="退出查询").click()
    expect(phone.locator("#lookup-form")).to_be_visible()
    assert their_tail not in phone.content()

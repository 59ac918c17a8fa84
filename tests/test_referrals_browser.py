"""A referral (转介) in the browser: a warning is referred to 医疗救助, the 医保 account answers
on its phone-sized 转介待办 page "granted 3,000 元", the answer shows on the household page
and its 救助链时间线, and an unanswered referral escalates once it is overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.audit import context
from doudi.monitoring import services as monitoring
from doudi.referrals import services as referrals
from doudi.referrals.models import Referral
from tests.browser_support import screenshot
from tests.conftest import PASSWORD
from tests.referrals.conftest import department_account
from tests.test_browser import _flushable, _login, live, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = 375


def test_a_warning_referred_to_medical_aid_is_answered_and_escalates(page, live,  # noqa: F811
                                                                      world) -> None:
    from playwright.sync_api import expect

    head = world.village_hh.head()
    with context.job("browser test data"):
        warning = monitoring.report(by=world.users.village_assistant, channel="discovery",
                                    summary="户主大病住院，自付费用高",
                                    household=world.village_hh, person=head)
        department_account("yibao", "医保")

    # the town verifies the warning and refers it to 医疗救助
    _login(page, live.url, "town_officer", PASSWORD)
    page.wait_for_url(f"{live.url}/")
    page.goto(f"{live.url}/monitoring/warnings/{warning.pk}/")
    page.fill("textarea[name=finding]", "入户核实：户主住院，自付约两万元")
    page.get_by_role("button", name="记录核实情况").click()
    expect(page.locator("#warning-state")).to_contain_text("已核实待处置")
    page.select_option("select[name=disposition]", "refer_medical")
    page.fill("input[name=note]", "住院自付约两万元，请核定医疗救助")
    page.get_by_role("button", name="办结").click()
    expect(page.locator("#disposition")).to_contain_text("转介医疗救助")
    first = Referral.objects.get()
    assert (first.source, first.warning_id, first.department) == ("warning", warning.pk, "医保")

    # a second referral from the household page, which nobody answers
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    page.locator("#referrals").get_by_role("link", name="发起转介").click()
    page.select_option("select[name=kind]", "medical")
    page.fill("textarea[name=asked]", "请核定门诊慢特病待遇")
    page.get_by_role("button", name="转介").click()
    expect(page.locator("#referrals")).to_contain_text("待答复")
    second = Referral.objects.exclude(pk=first.pk).get()

    # the 医保 account answers on a phone: granted 3,000 元
    page.context.clear_cookies()
    page.set_viewport_size({"width": PHONE, "height": 800})
    _login(page, live.url, "yibao", PASSWORD)
    page.wait_for_url(f"{live.url}/")
    page.get_by_role("link", name="转介待办").click()
    item = page.locator(f"#referral-{first.pk}")
    expect(item).to_contain_text("住院自付约两万元，请核定医疗救助")
    expect(item).to_contain_text(head.masked_name)
    expect(page.locator("main, body").first).not_to_contain_text(head.name)
    expect(page.locator("body")).not_to_contain_text(head.id_number)
    expect(page.locator("body")).not_to_contain_text(world.village_hh.number)
    screenshot(page, "referral-queue-375.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    item.locator("select[name=outcome]").select_option("granted")
    item.locator("input[name=amount]").fill("3,000")
    item.get_by_role("button", name="提交答复").click()
    expect(page.locator("#referral-done")).to_contain_text("3,000.00 元")
    first.refresh_from_db()
    assert (first.status, first.amount_fen) == ("granted", 300000)

    # the answer on the household page and its timeline
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live.url, "town_officer", PASSWORD)
    page.wait_for_url(f"{live.url}/")
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    expect(page.locator("#referrals")).to_contain_text("已给予 3,000 元")
    expect(page.locator("#timeline")).to_contain_text("转介医疗救助（医保）：已给予 3,000 元")
    screenshot(page, "referral-household.png")

    # the unanswered one escalates on the first day after its limit
    with context.job("referrals escalate"):
        assert referrals.escalate_overdue(second.due_on) == 0
        assert referrals.escalate_overdue(second.due_on + dt.timedelta(days=1)) == 1
    second.refresh_from_db()
    assert second.escalated_level == 1 and second.due_on > second.sent_on
    page.reload()
    expect(page.locator("#referrals")).to_contain_text("逾期，报县（区）督办")

"""In a browser: a village assistant records a member's wage on the household page, corrects
it with a reason, and finds the current value per member and the old one in the history; on a
375-px phone the economic-facts section stays within the screen."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser_support import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, chromium, screenshot
from tests.conftest import PASSWORD
from tests.test_browser import _flushable, _login, live  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_wage_is_recorded_for_a_member_then_corrected(live, world) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    hh = world.village_hh
    spouse = hh.current_memberships().exclude(relation="head").get().person
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for width, name in ((1280, "facts"), (375, "facts-phone")):
                ctx = browser.new_context(locale="zh-CN",
                                          viewport={"width": width, "height": 900})
                ctx.set_default_timeout(TIMEOUT_MS)
                expect.set_options(timeout=TIMEOUT_MS)
                page = ctx.new_page()
                _login(page, live.url, "village_assistant", PASSWORD)
                page.goto(f"{live.url}/households/{hh.pk}/#observations")
                section = page.locator("#observations")
                if width == 1280:
                    page.select_option("#fact_person_id", str(spouse.pk))
                    page.select_option("#fact_kind_item", "income:wage")
                    page.fill("#fact_amount_yuan", "999.81")
                    page.fill("#fact_observed_on", dt.date.today().replace(day=1).isoformat())
                    section.get_by_role("button", name="记录").click()
                    section = page.locator("#observations")
                    expect(section.locator("table.facts-current")).to_contain_text("999.81")
                    change = section.locator("details.fact-change").first
                    change.locator("summary").click()
                    change.locator("input[name=amount_yuan]").fill("799.81")
                    change.locator("input[name=reason]").first.fill("工资条核实")
                    change.get_by_role("button", name="更正").click()
                    section = page.locator("#observations")
                    current = section.locator("table.facts-current")
                    expect(current).to_contain_text("799.81")
                    expect(current).not_to_contain_text("999.81")
                    expect(section).to_contain_text(spouse.masked_name)
                section.locator("details.fact-history summary").click()
                expect(section.locator("details.fact-history")).to_contain_text(
                    "已更正（工资条核实）")
                section.locator("details.fact-change summary").first.click()
                screenshot(page, f"{name}.png")
                section.screenshot(path=str(ARTIFACTS / f"{name}-section.png"))
                if width == 375:
                    overflow = section.evaluate("s => s.scrollWidth - s.clientWidth")
                    assert overflow <= 0, f"the facts section is {overflow}px too wide"
                ctx.close()
        finally:
            browser.close()

"""上线检查 on a phone: the district administrator opens /golive/ at 375 px and reads every item
with its mark and what to do, without the page growing wider than the screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_support import open_page, screenshot
from tests.conftest import PASSWORD
from tests.golive.test_checklist import staff_gaps  # noqa: F401 — the fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters, shipped_bank_layouts):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


def test_the_checklist_reads_on_a_phone(live, users, staff_gaps) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with open_page(375, 740, phone=True) as page:
        page.goto(f"{live.url}/login/")
        page.fill("input[name=username]", "district_admin")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("link", name="上线迁移").click()
        expect(page.locator("h1")).to_have_text("上线检查：屯溪区")
        rows = page.locator("ul.checklist li")
        expect(rows).to_have_count(9)
        expect(rows.first).to_contain_text("政策参数已设定并核实")
        expect(rows.first).to_contain_text("待办：")
        expect(page.get_by_role("link", name="在保数据", exact=True)).to_have_attribute(
            "href", "/golive/caseload/")
        screenshot(page, "golive-checklist-375.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

"""The district administrator goes live in the browser: a caseload file with a bad row is tried
and every bad row shown; the corrected file's dry run lists each household, the real run writes
them; the old system's last roster is uploaded and the reconciliation lists what differs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_support import open_page, page_errors, screenshot
from tests.conftest import PASSWORD
from tests.golive.test_caseload import HEADER, _rows, gbk_csv
from tests.golive.test_reconcile import _roster_from_caseload, roster_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


def test_dry_run_real_run_and_reconciliation(live, users, tmp_path) -> None:
    from playwright.sync_api import expect

    from doudi.benefits.models import Enrollment
    from doudi.golive.models import Reconciliation

    bad_rows = _rows()
    bad_rows[1][HEADER.index("性别")] = "男"  # the wife's ID says female
    bad = tmp_path / "在保花名册（有误）.csv"
    bad.write_bytes(gbk_csv(bad_rows))
    good = tmp_path / "在保花名册.csv"
    good.write_bytes(gbk_csv(_rows()))
    roster_rows = _roster_from_caseload()
    roster_rows[1][6] = "1,200.00"
    roster = tmp_path / "末次花名册.csv"
    roster.write_bytes(roster_csv(roster_rows))

    with open_page(375, 800, phone=True) as page:
        page.goto(f"{live.url}/login/")
        page.fill("input[name=username]", "district_admin")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(f"{live.url}/golive/caseload/")
        expect(page.locator("h1")).to_have_text("在保数据导入：屯溪区")

        page.set_input_files("#files", str(bad))
        page.get_by_role("button", name="试导入").click()
        expect(page.locator("#import-result")).to_contain_text("有错误，未导入")
        refused = page.locator("#refused-rows tbody tr")
        expect(refused).to_have_count(1)
        expect(refused.first).to_contain_text("与身份证号（女）不符")
        expect(page.locator("#real-import")).to_have_count(0)
        screenshot(page, "golive-caseload-refused-375.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        page.goto(f"{live.url}/golive/caseload/")
        page.set_input_files("#files", str(good))
        page.get_by_role("button", name="试导入").click()
        expect(page.locator("#import-result")).to_contain_text("新建 3 户")
        expect(page.locator("#plan-lines tbody tr")).to_have_count(3)
        assert not Enrollment.objects.exists()
        page.locator("#real-import").click()
        expect(page.locator("#import-result")).to_contain_text("已导入")
        assert Enrollment.objects.count() == 3
        screenshot(page, "golive-caseload-done-375.png")

        page.goto(f"{live.url}/golive/reconcile/")
        page.set_input_files("#roster-file", str(roster))
        page.get_by_role("button", name="导入花名册").click()
        expect(page.locator("#roster-state")).to_contain_text("末次花名册 2026年10月")
        page.locator("#run-reconcile").click()
        expect(page.locator("#differences")).to_contain_text("月保障金与花名册不同")
        made = Reconciliation.objects.get()
        expect(page.locator("#difference-count")).to_have_text(str(len(made.differences)))
        screenshot(page, "golive-reconcile-375.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert not page_errors(page)

"""互查 and 第三方评估 in a browser (Playwright driving Debian's chromium, phone-sized): town A's
officer finds the 互查 assigned to the town, sees town B's assigned sample masked and nothing
else of town B, and records a finding the district's performance page counts; the evaluator
sees its sample read-only and masked, records a finding, and nothing else; after the campaign
closes neither sees anything of it."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.audit import context
from doudi.core import clock
from doudi.reports import assignments
from doudi.reports.models import Campaign, CampaignFinding, CampaignSample
from tests.browser_support import screenshot
from tests.conftest import DISTRICT, PASSWORD, TOWN
from tests.test_browser import _flushable, _login, live, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}
TOWN_B = "341002100"  # 屯光镇


def _campaign(world) -> Campaign:
    today = clock.today()
    campaign = Campaign.objects.create(
        name="镇街互查与第三方评估", kind="mutual", programmes=["dibao"], rate_bp=1000, seed=7,
        starts_on=today - dt.timedelta(days=2), due_on=today + dt.timedelta(days=20),
        area_code=DISTRICT)
    for household in (world.village_hh, world.same_town_hh, world.other_town_hh):
        CampaignSample.objects.create(campaign=campaign, household=household,
                                      town=household.area_code[:9], programme="dibao",
                                      area_code=household.area_code)
    return campaign


def _fits_a_phone(tab) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{tab.url} is {width} px wide on a 375 px screen"


def test_a_peer_check_sees_town_bs_sample_and_nothing_else_of_town_b(page, live, world):  # noqa: F811
    from playwright.sync_api import expect

    campaign = _campaign(world)
    with context.job("browser test assign"):
        assignments.assign(by=world.users.district_officer, campaign=campaign, kind="peer",
                           checked_town=TOWN_B, assignee_town=TOWN)
    b = world.other_town_hh
    b_head = b.head()
    page.set_viewport_size(PHONE)
    _login(page, live.url, "town_officer", PASSWORD)
    page.goto(f"{live.url}/reports/campaigns/")
    assigned = page.locator("#assigned-campaigns")
    expect(assigned).to_contain_text("互查")
    assigned.get_by_role("link", name=campaign.name).click()
    samples = page.locator("#campaign-samples")
    # town A's own samples by area, and of town B exactly the assigned household
    expect(samples).to_contain_text(b.number)
    expect(samples).to_contain_text(world.village_hh.number)
    _fits_a_phone(page)
    screenshot(page, "peer-check-campaign-375.png")
    samples.get_by_role("link", name=b.number).click()
    household = page.locator("#sample-household")
    expect(household).to_contain_text(b_head.masked_name)
    expect(household).to_contain_text(b_head.masked_id)
    html = page.content()
    assert b_head.name not in html and b_head.id_number not in html
    assert f"/households/{b.pk}/" not in html  # no way into town B's household page
    page.check("input[name=problem_income]")
    page.fill("input[name=note_income]", "务工收入未计入家庭收入")
    page.get_by_role("button", name="保存检查结果").click()
    findings = page.locator("#findings")
    expect(findings).to_contain_text("务工收入未计入家庭收入")
    expect(findings).to_contain_text("互查")
    _fits_a_phone(page)
    screenshot(page, "peer-check-sample-375.png")
    assert CampaignFinding.objects.get(sample__household=b).source == "peer"
    # nothing else of town B: its household page, its people by search, its lists
    response = page.goto(f"{live.url}/households/{b.pk}/")
    assert response.status == 404
    page.goto(f"{live.url}/households/?q={b.number}")
    assert b.number not in page.locator("main").inner_text()
    page.goto(f"{live.url}/monitoring/warnings/")
    assert b.number not in page.content()
    # the district's performance page counts the 互查 finding for town B
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live.url, "district_officer", PASSWORD)
    page.goto(f"{live.url}/reports/performance/")
    row = page.locator("#performance tbody tr", has_text="屯光镇")
    expect(row.locator("[data-figure=findings_peer_households]")).to_have_text("1")
    expect(row.locator("[data-figure=findings_evaluator_households]")).to_have_text("0")
    screenshot(page, "peer-check-performance.png")
    # after the campaign closes, town A sees nothing of town B's sample
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.CLOSED)
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    _login(page, live.url, "town_officer", PASSWORD)
    page.goto(f"{live.url}/reports/campaigns/")
    expect(page.locator("#assigned-campaigns")).to_have_count(0)
    sample = campaign.samples.get(household=b)
    response = page.goto(f"{live.url}/reports/campaigns/{campaign.pk}/samples/{sample.pk}/")
    assert response.status == 404


def test_an_evaluator_reads_its_sample_masked_and_records_findings(page, live, world):  # noqa: F811
    from playwright.sync_api import expect

    campaign = _campaign(world)
    with context.job("browser test assign"):
        assignments.assign(by=world.users.district_approver, campaign=campaign,
                           kind="evaluator", checked_town=TOWN, assignee=world.users.evaluator)
    head = world.village_hh.head()
    page.set_viewport_size(PHONE)
    _login(page, live.url, "evaluator", PASSWORD)
    page.get_by_role("link", name="评估任务").click()
    page.locator("#assigned-campaigns").get_by_role("link", name=campaign.name).click()
    samples = page.locator("#campaign-samples")
    expect(samples).to_contain_text(world.village_hh.number)
    expect(samples).to_contain_text(world.same_town_hh.number)
    assert world.other_town_hh.number not in page.content()
    samples.get_by_role("link", name=world.village_hh.number).click()
    expect(page.locator("#sample-household")).to_contain_text(head.masked_name)
    html = page.content()
    assert head.name not in html and head.id_number not in html
    assert "/reveal" not in html and 'value="correct"' not in html
    page.check("input[name=problem_publicity]")
    page.fill("input[name=note_publicity]", "未见公示记录")
    page.get_by_role("button", name="保存检查结果").click()
    findings = page.locator("#findings")
    expect(findings).to_contain_text("第三方评估")
    expect(findings).not_to_contain_text("登记整改")  # corrections are the town's
    _fits_a_phone(page)
    screenshot(page, "evaluator-sample-375.png")
    finding = CampaignFinding.objects.get(sample__household=world.village_hh)
    assert (finding.source, finding.recorded_by_id) == ("evaluator", world.users.evaluator.pk)
    # read-only beyond its findings: no registry, no household, no other sample
    for path in ("/households/", f"/households/{world.village_hh.pk}/",
                 "/reports/performance/", "/care/"):
        response = page.goto(f"{live.url}{path}")
        assert response.status == 403, path
    other = campaign.samples.get(household=world.other_town_hh)
    response = page.goto(f"{live.url}/reports/campaigns/{campaign.pk}/samples/{other.pk}/")
    assert response.status == 404
    page.goto(f"{live.url}/")
    _fits_a_phone(page)
    screenshot(page, "evaluator-home-375.png")

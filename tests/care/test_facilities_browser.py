"""One facility register, in a browser at 375 px: the district's officer goes from 探访关爱 to
设施, registers a 敬老院 improvement project, and sees it in the list with its budget; every
facility page fits the phone (wide tables scroll inside themselves)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from doudi.audit import context
from doudi.care import services as care
from doudi.care.models import Facility, ImprovementProject, Institution
from doudi.core import clock
from tests.browser_support import open_page, screenshot
from tests.conftest import PASSWORD, TOWN, VILLAGE

pytestmark = pytest.mark.browser

PHONE = 375


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    """A live server needs committed data: the test ends with a flush."""
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


def test_registering_an_improvement_project_on_a_phone(live, world) -> None:
    from playwright.sync_api import expect

    officer = world.users.district_officer
    with context.job("browser facilities"):
        home = care.save_institution(by=officer, institution=Institution(), name="黎阳镇敬老院",
                                     kind="nursing_home", operator="public", beds=60,
                                     nursing_beds=20, area_code=TOWN + "000")
        station = care.save_facility(by=officer, facility=Facility(), kind="mental_rehab",
                                     name="隆阜精康融合服务站", area_code=VILLAGE,
                                     operator="public", capacity="20", staff="3")
        care.add_user(by=officer, facility=station, person=world.village_hh.head(),
                      started_on=clock.today(), service="职业康复")
    with open_page(PHONE, 740, phone=True) as page:
        page.goto(f"{live.url}/login/")
        page.fill("input[name=username]", "district_officer")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live.url}/")
        page.goto(f"{live.url}/care/")
        page.get_by_role("link", name="设施", exact=True).click()
        expect(page.locator("h1")).to_have_text("设施")
        expect(page.locator("#facility-figures")).to_contain_text("精康融合")
        page.get_by_role("link", name="改造提升项目").first.click()
        expect(page.locator("h1")).to_have_text("敬老院改造提升项目")
        page.select_option("select[name=institution]", str(home.pk))
        page.fill("input[name=name]", "黎阳镇敬老院适老化改造")
        page.fill("textarea[name=plan]", "护理型床位改造 16 张，消防喷淋，无障碍通道")
        page.fill("input[name=budget]", "1200000")
        page.fill("input[name=new_nursing_beds]", "16")
        page.get_by_role("button", name="登记项目").click()
        rows = page.locator("#projects")
        expect(rows).to_contain_text("黎阳镇敬老院适老化改造")
        expect(rows).to_contain_text("1,200,000.00")
        expect(rows).to_contain_text("计划")
        expect(page.locator("#projects-total")).to_have_text("1")
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, "improvement-projects-375.png")
        assert width <= PHONE, f"the project list is {width} px wide on a phone"
        project = ImprovementProject.objects.get(name="黎阳镇敬老院适老化改造")
        assert (project.budget_fen, project.status, project.institution_id) == (
            120_000_000, "planned", home.pk)
        for path in ("/care/facilities/", "/care/facilities/?kind=mental_rehab",
                     f"/care/facilities/{station.pk}/", "/care/facilities/bed-targets/",
                     f"/care/facilities/projects/{project.pk}/",
                     f"/care/institutions/{home.pk}/"):
            page.goto(f"{live.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE, f"{path} is {width} px wide on a phone"
        screenshot(page, "institution-with-project-375.png")

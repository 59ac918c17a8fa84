"""The pages that name parameters, seen in Chromium at a desk (1280 px) and on a phone (375 px):
调标测算 and the policy pages show names, not codes, and fit the phone's width."""

from __future__ import annotations

import pytest

from tests.browser_support import screenshot
from tests.conftest import PASSWORD
from tests.raw_codes import assert_no_raw_codes
from tests.test_browser import _flushable, _login, live, page  # noqa: F401

PAGES = {
    "rules-simulate": "/rules/simulate/?run=1&area=341002000000&key0=dibao.standard.urban"
                      "&value0=900&key1=single_person.groups&value1=重病患者",
    "policy-list": "/policy/",
    "policy-detail": "/policy/single_person.groups/",
}

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 375])
def test_named_pages_at_a_desk_and_on_a_phone(page, live, world, width) -> None:  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    _login(page, live.url, "district_admin", PASSWORD)
    page.wait_for_url(f"{live.url}/**")
    for name, url in PAGES.items():
        page.goto(f"{live.url}{url}")
        assert_no_raw_codes(page.content(), name)
        screenshot(page, f"{name}-{width}.png")
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, name

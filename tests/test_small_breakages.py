"""Small breakages a working day found: the first-login password page, forms a role may not
use, untranslated history, deadlines in working days."""

from __future__ import annotations

import re

import pytest

from doudi.accounts.roles import READ_ONLY_ROLES
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_first_login_password_page_lists_the_rules_and_says_why_once(client,
                                                                         users) -> None:
    user = users.village_assistant
    user.must_change_password = True
    user.save()
    page = client.post("/login/", {"username": user.username, "password": PASSWORD},
                       follow=True).content.decode()
    assert page.count("管理员重置了您的口令") == 1, page
    rules = re.search(r'<ul class="small" id="password-rules">(.*?)</ul>', page, re.S).group(1)
    assert "[" not in rules and "'" not in rules
    assert len(re.findall(r"<li>[^<]+</li>", rules)) >= 2


def test_the_case_history_names_an_advance_payment_in_chinese(client, world,
                                                             shipped_parameters) -> None:
    from doudi.casework import reserve_fund as fund
    from doudi.casework import services

    u = world.users
    app = services.create_application(by=u.village_assistant, household=world.village_hh,
                                      programme="linshi", channel="village",
                                      reason="火灾，房屋烧毁", emergency=True)
    fund.top_up(by=u.district_approver, town="341002102000", amount_fen=500_000, note="备用金")
    fund.advance(by=u.town_approver, application=app, amount_fen=200_000, note="火灾急难")
    assert client.login(username="town_approver", password=PASSWORD)
    for url in (f"/applications/{app.pk}/", f"/applications/{app.pk}/print/",
                f"/households/{world.village_hh.pk}/", "/audit/"):
        page = client.get(url)
        if page.status_code != 200:
            continue
        text = page.content.decode()
        assert "advance_payment" not in text, url
    history = client.get(f"/applications/{app.pk}/").content.decode()
    assert "先行救助" in history
    assert str(app.events.get(action="advance_payment")) == f"{app.number} 先行救助"


def test_deadlines_say_the_working_days_left_or_late() -> None:
    import datetime as dt

    from doudi.core.workdays import Calendar, time_left

    cal = Calendar(overrides={dt.date(2026, 10, 1): False, dt.date(2026, 10, 2): False,
                              dt.date(2026, 9, 27): True},
                   published_years=frozenset({2026}))  # the entered days only, not the library's
    # Friday 25 Sep → Friday 2 Oct: Sun 27 (调休) Mon 28 Tue 29 Wed 30 work, 1–2 Oct are holidays
    assert time_left(dt.date(2026, 10, 2), dt.date(2026, 9, 25), cal) == "剩余 4 个工作日"
    assert time_left(dt.date(2026, 9, 25), dt.date(2026, 9, 25), cal) == "今日到期"
    assert time_left(dt.date(2026, 9, 25), dt.date(2026, 10, 5), cal) == "已逾期 5 个工作日"
    assert time_left(dt.date(2026, 9, 25), dt.date(2026, 9, 26), cal) == \
        "已逾期（其后尚无工作日）"


def test_the_application_page_and_the_queue_show_the_working_days_left(client, world,
                                                                     shipped_parameters) -> None:
    import datetime as dt

    from doudi.casework import services
    from doudi.casework.services import calendar
    from doudi.core import clock
    from doudi.core.workdays import time_left

    app = services.create_application(by=world.users.town_officer, household=world.village_hh,
                                      programme="dibao", channel="town_window", reason="无收入",
                                      submitted_on=clock.today() - dt.timedelta(days=3))
    want = time_left(app.step_due, clock.today(), calendar())
    assert "个工作日" in want or want == "今日到期"
    assert client.login(username="village_assistant", password=PASSWORD)
    assert want in client.get(f"/applications/{app.pk}/").content.decode()
    assert want in client.get("/applications/").content.decode()


@pytest.mark.parametrize("role", ["village_assistant", "supervisor"])
def test_a_surname_alone_finds_the_households_in_the_users_area(client, world, role) -> None:
    from doudi.registry import queries

    client.force_login(getattr(world.users, role))
    surname = world.village_hh.head().name[0]
    page = client.get("/households/", {"q": surname}).content.decode()
    assert queries.MASKED_SEARCH_REFUSED not in page
    assert world.village_hh.number in page
    assert world.guangdong_hh.number not in page  # another province: never in scope
    if role == "village_assistant":  # a village's assistant: not the next village's
        assert world.same_town_hh.number not in page
    # a surname nobody in the area has finds nobody
    assert world.village_hh.number not in client.get("/households/", {"q": "亓"}).content.decode()
    # two characters are a full name (or a compound surname whose second character is
    # hidden): still refused to a masked viewer
    two = client.get("/households/", {"q": world.village_hh.head().name[:2]}).content.decode()
    assert (queries.MASKED_SEARCH_REFUSED in two) == (role == "supervisor")


READ_PAGES = ["/", "/households/", "/applications/", "/care/", "/care/home-care/",
              "/care/institutions/", "/care/cross-province/", "/placenames/",
              "/community/consultations/", "/community/points/", "/community/donations/",
              "/monitoring/", "/reports/", "/reports/performance/"]


@pytest.mark.parametrize("role", sorted(READ_ONLY_ROLES))
def test_a_read_only_role_is_offered_no_form_its_post_would_refuse(client, world, role,
                                                                  shipped_parameters) -> None:
    from doudi.casework import services

    app = services.create_application(by=world.users.village_assistant,
                                      household=world.village_hh, programme="dibao",
                                      channel="village", reason="无收入")
    client.force_login(getattr(world.users, role))
    pages = [*READ_PAGES, f"/households/{world.village_hh.pk}/", f"/applications/{app.pk}/"]
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 200, url
        forms = [f for f in re.findall(r"<form[^>]*>", answer.content.decode())
                 if 'method="post"' in f and "logout" not in f]
        assert not forms, (url, forms)


def test_may_refuses_a_name_that_is_no_capability(rf, users) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from doudi.web.context import Capabilities

    may = Capabilities(users.village_assistant)
    assert may["RECORD_VISIT"] and not may["APPROVE_RUN"]
    with pytest.raises(ImproperlyConfigured):
        may["RECORD_VISITS"]
    assert not Capabilities(None)["RECORD_VISIT"]

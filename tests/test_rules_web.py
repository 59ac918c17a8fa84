"""The rules engine inside Doudi: registry → frames, the household page's 政策测算 with its
explanation, and the what-if simulation (page and command)."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from doudi.audit import context
from doudi.registry import services
from doudi.registry.models import Household
from doudi.registry.rules_input import build_frames
from tests.conftest import PASSWORD

DAY = dt.date.today()  # memberships start on the day the household was registered


@pytest.fixture
def priced(world, shipped_parameters):
    """The village household (two members, 屯溪 standard 760): the head earns 600 a month in
    wages, the spouse has nothing; 30% of 760 = 228 is deducted from the wage."""
    hh = world.village_hh
    head = hh.memberships.get(relation="head").person
    with context.job("test observations"):
        services.record_observation(by=world.users.district_approver, household=hh,
                                    kind="income", item="wage", amount_fen=60000,
                                    observed_on=dt.date(2023, 1, 1), person=head)
        services.record_observation(by=world.users.district_approver, household=hh,
                                    kind="asset", item="deposit", amount_fen=100000,
                                    observed_on=dt.date(2023, 1, 1))
    return world


def _login(client, username):
    assert client.login(username=username, password=PASSWORD)


def test_registry_frames_take_latest_observation_and_members(priced):
    hh = priced.village_hh
    with context.job("test newer"):
        services.record_observation(by=priced.users.district_approver, household=hh,
                                    kind="asset", item="deposit", amount_fen=500000,
                                    observed_on=DAY + dt.timedelta(days=10))
    h, m = build_frames(Household.objects.filter(pk=hh.pk), DAY)
    assert h.height == 1 and m.height == 2
    row = h.to_dicts()[0]
    assert row["financial_assets"] == 100000  # the later deposit is not yet observed
    assert sorted(m["income"].to_list()) == [0, 60000]
    assert sorted(m["earned_income"].to_list()) == [0, 60000]
    later, _ = build_frames(Household.objects.filter(pk=hh.pk), DAY + dt.timedelta(days=20))
    assert later.to_dicts()[0]["financial_assets"] == 500000


def test_household_rules_partial_explains_dibao(client, priced):
    _login(client, "village_assistant")
    url = reverse("household_rules", args=[priced.village_hh.pk])
    page = client.get(url, {"day": DAY.isoformat()}).content.decode()
    # (760 × 2 − (600 − 228)) = 1148.00 元 a month, rounded to the fen
    assert "最低生活保障" in page and "符合" in page
    assert "1148.00" in page
    assert "✓" in page and "依据 城镇低保标准" in page and "dibao.standard.urban" not in page
    assert "未核实" in page  # 屯溪's standard is shipped unverified


def test_household_rules_print_and_detail_hook(client, priced):
    _login(client, "town_officer")
    hh = priced.village_hh
    detail = client.get(reverse("household_detail", args=[hh.pk])).content.decode()
    assert reverse("household_rules", args=[hh.pk]) in detail
    printed = client.get(reverse("household_rules", args=[hh.pk]),
                         {"day": DAY.isoformat(), "print": "1"}).content.decode()
    assert "社会救助认定依据" in printed and "经办人" in printed


def test_household_rules_out_of_scope_is_404(client, priced):
    _login(client, "village_assistant")
    response = client.get(reverse("household_rules", args=[priced.other_town_hh.pk]))
    assert response.status_code == 404


def test_simulation_page_needs_capability(client, priced):
    _login(client, "village_assistant")
    assert client.get(reverse("rules_simulate")).status_code == 403


def test_simulation_raising_the_standard_adds_budget(client, priced):
    _login(client, "district_admin")
    response = client.get(reverse("rules_simulate"), {
        "run": "1", "area": "341002000000", "day": DAY.isoformat(),
        "key0": "dibao.standard.urban", "value0": "900",
    })
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "测算结果" in page and "最低生活保障" in page
    # priced: the deduction is 30% of the new standard, 270: 900 × 2 − 330 = 1470 (+322);
    # the other 黎阳镇 household (urban, no income) 1520 → 1800 (+280); 屯光镇's is rural
    assert "602.00" in page


def test_simulation_refuses_unknown_key(client, priced):
    _login(client, "district_admin")
    page = client.get(reverse("rules_simulate"), {
        "run": "1", "area": "341002000000", "key0": "no.such.key", "value0": "1",
    }).content.decode()
    assert "未定义" in page


def test_simulate_command_prints_totals(priced):
    out = StringIO()
    call_command("rules", "simulate", "--area", "341002", "--set", "dibao.standard.urban=900",
                 "--set", "dibao.standard.rural=900", "--date", DAY.isoformat(), stdout=out)
    text = out.getvalue()
    # 黎阳镇 +602 as on the page, plus 屯光镇's rural household 1520 → 1800
    assert "调标测算" in text and "最低生活保障" in text and "+882.00" in text


def test_simulate_command_rejects_bad_pairs(priced):
    with pytest.raises(CommandError, match="KEY=VALUE"):
        call_command("rules", "simulate", "--area", "341002", "--set", "oops")


def test_household_rules_shows_a_programme_that_cannot_be_computed(client, priced):
    """Without 上年居民人均可支配收入 the page says 支出型 (and 临时救助, which reads it) cannot be
    computed, naming the parameter and the area, and still explains 低保."""
    from doudi.policy.models import PolicyParameter
    from tests.raw_codes import assert_no_raw_codes

    PolicyParameter.objects.filter(key="hardship.income_reference").delete()
    _login(client, "village_assistant")
    page = client.get(reverse("household_rules", args=[priced.village_hh.pk]),
                      {"day": DAY.isoformat()}).content.decode()
    assert page.count("不可计算") >= 2 and "支出型困难家庭" in page and "临时救助" in page
    assert f"缺少参数 上年居民人均可支配收入（区划 {priced.village_hh.area.name}" in page
    assert "1148.00" in page  # 低保 is computed as before
    assert_no_raw_codes(page, "household rules")

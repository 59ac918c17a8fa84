"""Words instead of codes on the pages (issue 24 item 2): the policy pages, 调标测算, a household's
认定依据, the warnings and the dashboard's drill-down show names — of parameters, of their
values and of areas — never `dibao.standard.urban`, `half_up` or `341002102`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from doudi.areas.models import area_names
from doudi.audit import context
from doudi.benefits.models import Enrollment
from doudi.monitoring import services as monitoring
from doudi.monitoring.models import Warning
from doudi.registry import services
from tests.conftest import PASSWORD, TOWN
from tests.raw_codes import assert_no_raw_codes, find_raw_codes

pytestmark = pytest.mark.django_db
DAY = dt.date.today()
# keys whose values are words, lists, tables and working days
SHOWN_KEYS = ("dibao.standard.urban", "dibao.rounding.mode", "edge.asset_basis",
              "single_person.groups", "tekun.no_capacity.disability",
              "disability.care_subsidy.grades", "casework.deadline.decision",
              "exchange.name_variants", "benefits.start_rule")


@pytest.fixture
def town(world, shipped_parameters):
    """The village household earns 600 a month for two: eligible for 低保, not covered (a
    warning); the same town's other household is covered (a drill-down row)."""
    hh = world.village_hh
    head = hh.memberships.get(relation="head").person
    with context.job("test labels"):
        services.record_observation(by=world.users.district_approver, household=hh,
                                    kind="income", item="wage", amount_fen=60000,
                                    observed_on=dt.date(2023, 1, 1), person=head)
        covered = world.same_town_hh
        Enrollment.objects.create(household=covered, programme="dibao", amount_fen=40_000,
                                  start_date=DAY.replace(day=1), area_code=covered.area_code)
        monitoring.execute(monitoring.start_run(by=world.users.district_officer))
    return world


def _get(client, username: str, url: str, **query: str) -> str:
    assert client.login(username=username, password=PASSWORD)
    response = client.get(url, query)
    assert response.status_code == 200, url
    return response.content.decode()


def test_policy_pages_name_every_parameter_and_value(client, town) -> None:
    page = _get(client, "district_admin", reverse("policy_list"))
    assert_no_raw_codes(page, "政策参数")
    assert "城镇低保标准" in page and "取整方式" in page and "四舍五入" in page
    assert "镇街初审时限" in page and "工作日" in page
    for key in SHOWN_KEYS:
        detail = _get(client, "district_admin", reverse("policy_detail", args=[key]))
        assert_no_raw_codes(detail, f"政策参数 {key}")
    decision = _get(client, "district_admin",
                    reverse("policy_detail", args=["casework.deadline.decision"]))
    assert "<h1>审批确认时限</h1>" in decision and "<dd>工作日</dd>" in decision


def test_a_value_is_set_in_words(client, town) -> None:
    assert client.login(username="district_admin", password=PASSWORD)
    key = "single_person.groups"
    response = client.post(reverse("policy_value_add", args=[key]), {
        "area_code": "341002", "effective_from": (DAY + dt.timedelta(days=40)).isoformat(),
        "value": "一二级重度残疾人，重病患者", "reference": "测试文件"}, follow=True)
    page = response.content.decode()
    assert "已设定“可单人保的成员”" in page
    assert_no_raw_codes(page, "设定取值之后")
    from doudi.policy.models import PolicyParameter
    row = PolicyParameter.objects.get(key=key, area_code="341002")
    assert row.value == ["severe_disability", "serious_illness"]


def test_simulation_form_groups_named_keys_with_current_values(client, town) -> None:
    url = reverse("rules_simulate")
    page = _get(client, "district_officer", url)
    assert_no_raw_codes(page, "调标测算")
    assert '<optgroup label="最低生活保障">' in page
    assert "城镇低保标准（现行 760.00 元/人·月）" in page
    assert 'value="dibao.standard.urban"' in page  # the code goes only to the server
    ran = _get(client, "district_officer", url, run="1", area="341002000000",
               day=DAY.isoformat(), key0="dibao.standard.urban", value0="1300",
               key1="dibao.rounding.mode", value1="向下取整")
    assert "测算结果" in ran and "城镇低保标准 调整为 1300" in ran
    assert_no_raw_codes(ran, "调标测算结果")


def test_household_explanation_names_parameters_values_and_areas(client, town) -> None:
    hh = town.village_hh
    for printing in ("", "1"):
        page = _get(client, "village_assistant", reverse("household_rules", args=[hh.pk]),
                    day=DAY.isoformat(), print=printing)
        assert_no_raw_codes(page, "认定依据")
        assert "依据 城镇低保标准" in page and "屯溪区" in page  # where 760 was set
        assert "依据 取整方式 = 四舍五入" in page


def test_warnings_name_the_handling_area(client, town) -> None:
    warning = Warning.objects.filter(household=town.village_hh).first()
    assert warning is not None and warning.owner_code
    listing = _get(client, "town_officer", reverse("warning_list"))
    assert_no_raw_codes(listing, "预警清单")
    detail = _get(client, "town_officer", reverse("warning_detail", args=[warning.pk]))
    assert_no_raw_codes(detail, "预警详情")
    indicators = _get(client, "district_admin", reverse("indicator_list"))
    assert_no_raw_codes(indicators, "预警指标")
    assert "数据来源：公安 死亡人员信息" in indicators
    owner = area_names([warning.owner_code])[warning.owner_code]
    assert f"<dt>处置单位</dt><dd>{owner}" in detail
    assert f" {owner}</td>" in listing  # 处置单位: the level, then the area by name
    # the engine's result as criteria and their outcomes, not its columns
    assert "<td>家庭月人均收入低于低保标准</td><td>符合</td>" in detail
    assert "<td>最低生活保障月金额</td><td>1,148.00 元</td>" in detail


def test_drill_down_names_areas_and_shows_the_household_once(client, town) -> None:
    hh = town.same_town_hh
    page = _get(client, "district_officer", reverse("report_list"),
                figure="covered_households", area=TOWN, month=f"{DAY:%Y-%m}")
    assert_no_raw_codes(page, "统计下钻")
    assert page.count(hh.number) == 1 and "龙山社区居委会" in page
    dashboard = _get(client, "district_officer", reverse("reports"), month=f"{DAY:%Y-%m}")
    assert not [f for f in find_raw_codes(dashboard) if f.kind != "区划代码"]

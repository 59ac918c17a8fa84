"""Lists officers download (导出 Excel): for every list, the download holds exactly the rows the
page shows under the same filters, across all its pages; rows outside the user's area never
appear; each download is an audit record; the headers are Chinese."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.utils import timezone

from doudi.audit.models import AuditEvent
from doudi.benefits import services as benefits
from doudi.casework import services as casework
from doudi.monitoring import services as monitoring
from doudi.reports import statistics
from tests.conftest import PASSWORD, TOWN
from tests.xlsx import read_list

pytestmark = pytest.mark.django_db

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _short_pages(monkeypatch):
    """Two rows a page, so that a handful of rows spans several pages."""
    monkeypatch.setattr("doudi.web.excel.PER_PAGE", 2)


def _walk(client, url: str, params: dict, name: str, param: str) -> list:
    """Every row the page shows, page after page."""
    shown, number = [], 1
    while True:
        response = client.get(url, {**params, param: number})
        assert response.status_code == 200
        page = response.context[name]
        shown += list(page.object_list)
        if not page.has_next():
            return shown
        number += 1


def check_list(client, url: str, params: dict, key: Callable, header: str, *,
               object_type: str, name: str = "page", param: str = "page",
               list_key: str = "") -> list:
    """The rows shown across the pages, after checking that the download under `params` has
    the same rows in the same order (by the column `header`), Chinese headers, and an audit
    record naming the filters and the number of rows."""
    shown = _walk(client, url, params, name, param)
    before = AuditEvent.objects.filter(action=AuditEvent.EXPORT).count()
    response = client.get(url, {**params, "format": "xlsx", **(
        {"list": list_key} if list_key else {})})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    _, headers, rows = read_list(response.content)
    assert all(CHINESE.search(h) for h in headers), headers
    assert [r[headers.index(header)] for r in rows] == [key(o) for o in shown]
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT).count() == before + 1
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT).order_by("-id").first()
    assert event.object_type == object_type
    assert event.changes["rows"] == len(rows)
    # the filters as applied (the audit log masks what looks like a name or an ID in them)
    assert {k for k, v in params.items() if v} <= set(event.changes["filters"])
    assert event.actor_name == response.wsgi_request.user.username
    return shown


def _numbers(world) -> dict[str, str]:
    return {k: getattr(world, k).number for k in ("village_hh", "same_town_hh",
                                                   "other_town_hh", "guangdong_hh")}


# -- 预警清单 ---------------------------------------------------------------------------------

@pytest.fixture
def warnings(world):
    u = world.users
    for n, household in enumerate((world.village_hh, world.village_hh, world.same_town_hh,
                                   world.other_town_hh, world.village_hh)):
        monitoring.report(by=u.district_officer, channel="discovery",
                          summary=f"生活困难（第 {n + 1} 次走访）", household=household)
    monitoring.report(by=world.gd_user, channel="discovery", summary="生活困难",
                      household=world.guangdong_hh)


def test_the_warning_list(client, world, warnings) -> None:
    n = _numbers(world)
    client.login(username="town_officer", password=PASSWORD)

    def key(w):
        return w.household.number

    shown = check_list(client, "/monitoring/warnings/", {}, key, "家庭编号",
                       object_type="monitoring.warning")
    assert sorted(map(key, shown)) == sorted([n["village_hh"]] * 3 + [n["same_town_hh"]])
    shown = check_list(client, "/monitoring/warnings/", {"q": n["village_hh"]}, key, "家庭编号",
                       object_type="monitoring.warning")
    assert list(map(key, shown)) == [n["village_hh"]] * 3
    # another town's household is not found here, and nothing leaks through the download
    shown = check_list(client, "/monitoring/warnings/", {"q": n["other_town_hh"]}, key,
                       "家庭编号", object_type="monitoring.warning")
    assert shown == []
    client.login(username="district_officer", password=PASSWORD)
    shown = check_list(client, "/monitoring/warnings/", {"town": TOWN, "level": ""}, key,
                       "家庭编号", object_type="monitoring.warning")
    assert n["other_town_hh"] not in map(key, shown) and len(shown) == 4
    shown = check_list(client, "/monitoring/warnings/", {}, key, "家庭编号",
                       object_type="monitoring.warning")
    assert n["guangdong_hh"] not in map(key, shown) and len(shown) == 5


def test_the_monitoring_dashboard_by_town(client, world, warnings) -> None:
    client.login(username="district_officer", password=PASSWORD)
    page = client.get("/monitoring/")
    by_town = page.context["by_town"]
    _, headers, rows = read_list(client.get("/monitoring/", {"format": "xlsx"}).content)
    assert headers[:4] == ["区划", "待处置", "逾期", "已办结"]
    assert [(r[0], r[1]) for r in rows] == [(t["name"], t["open"]) for t in by_town]
    assert sum(r[1] for r in rows) == 5  # the five warnings of the district, none of Guangdong


# -- 发放花名册, 统计分析 ---------------------------------------------------------------------

@pytest.fixture
def enrolled(world, shipped_parameters):
    u = world.users
    month = timezone.localdate().replace(day=1)
    for household, amount in ((world.village_hh, 40_000), (world.same_town_hh, 50_000),
                              (world.other_town_hh, 60_000)):
        benefits.enroll(by=u.district_approver, household=household, programme="dibao",
                        amount_fen=amount, start_date=month)
    benefits.enroll(by=world.gd_user, household=world.guangdong_hh, programme="dibao",
                    amount_fen=70_000, start_date=month)
    return benefits.build_run(by=u.district_officer, month=month, area_code="341002").run


def test_the_payment_roster(client, world, enrolled) -> None:
    n = _numbers(world)
    run = enrolled
    client.login(username="district_approver", password=PASSWORD)

    def key(line):
        return line.enrollment.household.number

    url = f"/payments/{run.pk}/"
    shown = check_list(client, url, {}, key, "家庭编号", object_type="benefits.paymentline")
    assert sorted(map(key, shown)) == sorted(n[k] for k in ("village_hh", "same_town_hh",
                                                            "other_town_hh"))
    shown = check_list(client, url, {"area": TOWN, "programme": "dibao", "status": "pending"},
                       key, "家庭编号", object_type="benefits.paymentline")
    assert sorted(map(key, shown)) == sorted([n["village_hh"], n["same_town_hh"]])
    shown = check_list(client, url, {"q": n["same_town_hh"]}, key, "家庭编号",
                       object_type="benefits.paymentline")
    assert list(map(key, shown)) == [n["same_town_hh"]]
    # the roster shows masked names, and so does its download
    _, headers, rows = read_list(client.get(url, {"format": "xlsx"}).content)
    payees = [r[headers.index("收款人")] for r in rows]
    assert payees and all("*" in p for p in payees) and "张三丰" not in payees
    # another province's officer finds no such run, and downloads nothing
    client.login(username="gd_district", password=PASSWORD)
    before = AuditEvent.objects.filter(action=AuditEvent.EXPORT).count()
    assert client.get(url, {"format": "xlsx"}).status_code == 404
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT).count() == before


def test_the_statistics_drill_down_and_dashboard(client, world, enrolled) -> None:
    n = _numbers(world)
    client.login(username="town_officer", password=PASSWORD)

    def key(row):
        return row[1].number

    month = f"{timezone.localdate():%Y-%m}"
    params = {"figure": "covered_households", "month": month}
    shown = check_list(client, "/reports/list/", params, key, "家庭编号",
                       object_type="statistics")
    # 黎阳镇's two households, never 屯光镇's or Guangdong's
    assert sorted(map(key, shown)) == sorted([n["village_hh"], n["same_town_hh"]])
    shown = check_list(client, "/reports/list/", {**params, "q": n["village_hh"]}, key,
                       "家庭编号", object_type="statistics")
    assert list(map(key, shown)) == [n["village_hh"]]
    # the dashboard: a row per figure, its total and the villages below the town
    page = client.get("/reports/", {"month": month})
    table = page.context["table"]
    _, headers, rows = read_list(client.get("/reports/", {"month": month,
                                                          "format": "xlsx"}).content)
    assert headers[:2] == ["指标", "合计"] and all(CHINESE.search(h) for h in headers)
    assert [r[0] for r in rows] == list(statistics.FIGURES.values())
    covered = rows[list(statistics.FIGURES).index("covered_households")]
    assert covered[1] == table.total["covered_households"] == 2
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT, object_type="statistics",
                                     object_label__contains="统计分析").exists()


# -- 待办 --------------------------------------------------------------------------------------

@pytest.fixture
def applications(world):
    u = world.users
    made = []
    for household, programme in ((world.village_hh, "linshi"), (world.same_town_hh, "linshi"),
                                 (world.village_hh, "dibao"), (world.other_town_hh, "linshi")):
        made.append(casework.create_application(
            by=u.district_officer, household=household, programme=programme,
            channel="town_window", reason="交通事故"))
    return made


def test_the_work_queue(client, world, applications) -> None:
    client.login(username="town_officer", password=PASSWORD)

    def key(a):
        return a.number

    everything = check_list(client, "/applications/", {}, key, "申请编号",
                            object_type="casework.application", name="everything",
                            param="allpage", list_key="all")
    ours = {a.number for a in applications if a.household.area_code.startswith(TOWN)}
    assert set(map(key, everything)) == ours and len(everything) == 3
    mine = check_list(client, "/applications/", {}, key, "申请编号",
                      object_type="casework.application", name="mine", param="minepage",
                      list_key="mine")
    assert set(map(key, mine)) <= ours
    narrowed = check_list(client, "/applications/", {"q": world.village_hh.number}, key,
                          "申请编号", object_type="casework.application", name="everything",
                          param="allpage", list_key="all")
    assert len(narrowed) == 2
    one = applications[1].number
    assert [a.number for a in check_list(
        client, "/applications/", {"q": one, "programme": "linshi"}, key, "申请编号",
        object_type="casework.application", name="everything", param="allpage",
        list_key="all")] == [one]


# -- 调标测算 ----------------------------------------------------------------------------------

def test_the_simulation_results(client, world, enrolled) -> None:
    client.login(username="district_officer", password=PASSWORD)
    params = {"run": "1", "area": "341002000000", "day": f"{timezone.localdate():%Y-%m-%d}",
              "key0": "dibao.standard.urban", "value0": "5000"}
    page = client.get("/rules/simulate/", params)
    listed = page.context["listed"]
    assert listed, "the raised standard changes something"
    before = AuditEvent.objects.filter(action=AuditEvent.EXPORT).count()
    _, headers, rows = read_list(client.get("/rules/simulate/",
                                            {**params, "format": "xlsx"}).content)
    assert headers[:2] == ["项目", "乡镇（街道）"]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (x["label"], x["town_name"], x["before"], x["after"]) for x in listed]
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT).count() == before + 1
    programme = listed[0]["programme"]
    narrowed = client.get("/rules/simulate/", {**params, "programme": programme})
    assert {r["programme"] for r in narrowed.context["listed"]} == {programme}


def test_the_export_link_carries_the_filters(client, world, warnings) -> None:
    client.login(username="town_officer", password=PASSWORD)
    page = client.get("/monitoring/warnings/", {"level": "3", "page": "2"}).content.decode()
    assert 'href="?level=3&amp;format=xlsx"' in page and "导出 Excel" in page


def test_dates_are_written_as_text() -> None:
    from doudi.web.excel import cell

    assert cell(dt.date(2026, 3, 1)) == "2026-03-01" and cell(None) == ""


def test_a_masked_role_cannot_search_a_list_by_id(client, world, warnings) -> None:
    """The lists' search is the registry's: a role that sees IDs masked may not search by a
    full ID, on the page or in the download; the attempt is audited."""
    from doudi.registry.models import Person

    client.login(username="supervisor", password=PASSWORD)
    full_id = Person.objects.filter(memberships__household=world.village_hh).first().id_number
    page = client.get("/monitoring/warnings/", {"q": full_id})
    assert page.context["page"].paginator.count == 0
    assert "不能按姓名、拼音首字母或身份证号搜索" in page.content.decode()
    _, _, rows = read_list(client.get("/monitoring/warnings/", {"q": full_id,
                                                               "format": "xlsx"}).content)
    assert rows == []
    tail = full_id[-4:]
    found = client.get("/monitoring/warnings/", {"q": tail}).context["page"]
    assert world.village_hh.pk in {w.household_id for w in found.object_list}  # the last four

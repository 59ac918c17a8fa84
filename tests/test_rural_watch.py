"""乡村振兴: its lists as registry facts (防返贫监测对象, 脱贫户), its staff's read-only view of
those households, and the report owed to both lines (双线报送)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.benefits.models import Enrollment
from doudi.core import clock
from doudi.engine.feeds.feedspec import FeedSpecError, parse_spec
from doudi.exchange import feed_types
from doudi.exchange.imports import import_bytes
from doudi.exchange.models import FeedType
from doudi.registry import rural_watch
from doudi.registry.models import CategoryAssignment
from doudi.reports import filing, statistics
from doudi.reports.models import ReportInstance
from tests.conftest import DISTRICT, PASSWORD, TOWN, make_household

HEADER = ("户主姓名,户主证件号码,所在村,家庭人口数,监测对象类别,主要风险类型,识别纳入时间,"
          "风险是否消除")


def _head(household):
    return household.head()


def _line(household, entered: str, removed: str = "否", name: str | None = None) -> str:
    head = _head(household)
    return (f"{name or head.name},{head.id_number},某村,2,脱贫不稳定户,因病,{entered},"
            f"{removed}")


def _import(key: str, header: str, lines: list[str], area: str = DISTRICT, user=None):
    data = ("\n".join([header, *lines]) + "\n").encode("utf-8")
    with context.job("test rural list"):
        return import_bytes(FeedType.objects.get(key=key), data, f"{key}.csv", user=user,
                            channel="cli", area_code="" if user else area)


def _held(household, category: str = "relapse_watch"):
    return CategoryAssignment.objects.filter(household=household, category=category)


@pytest.fixture
def villages(world, shipped_feed_types, new_id):
    """Three households of the district and one of Guangdong."""
    with context.job("test households"):
        extra = make_household(world.users.district_approver, world.village_hh.area_code, new_id)
    return world, extra


# -- the spec -------------------------------------------------------------------------------

def _spec(**fact):
    base = next(d for d in feed_types.shipped_documents() if d["key"] == "relapse_watch")
    return {**base, "key": "own_watch", "registry_fact": fact}


def test_a_registry_fact_needs_a_snapshot_a_date_since_and_paired_end_values() -> None:
    with pytest.raises(FeedSpecError, match="全量"):
        parse_spec({**_spec(category="relapse_watch"), "mode": "events"})
    with pytest.raises(FeedSpecError, match="since 应为日期"):
        parse_spec(_spec(category="relapse_watch", since="risk"))
    with pytest.raises(FeedSpecError, match="同时填写"):
        parse_spec(_spec(category="relapse_watch", ended_by="risk_removed"))
    with pytest.raises(FeedSpecError, match="只能包含"):
        parse_spec(_spec(category="relapse_watch", until="x"))
    spec = parse_spec(_spec(category="relapse_watch", since="entered_on",
                            ended_by="risk_removed", ended_values=["是"]))
    assert parse_spec(spec.as_dict()).registry_fact == spec.registry_fact


def test_the_category_must_exist_and_must_not_be_a_decision(db) -> None:
    with pytest.raises(FeedSpecError, match=r"没有人员类别“poor”.*防返贫监测对象"):
        feed_types.checked(_spec(category="poor"))
    with pytest.raises(FeedSpecError, match="只能由审批"):
        feed_types.checked(_spec(category="dibao"))


# -- the list as a registry fact ------------------------------------------------------------

def test_the_list_opens_and_ends_the_category_and_leaves_a_clerks_alone(villages) -> None:
    world, extra = villages
    listed, removed, typed = world.village_hh, world.same_town_hh, world.other_town_hh
    with context.job("clerk"):
        clerk = CategoryAssignment.objects.create(
            household=typed, category="relapse_watch", start_date=dt.date(2024, 1, 1),
            area_code=typed.area_code)
    out = _import("relapse_watch", HEADER, [_line(listed, "2025-03-02"),
                                            _line(removed, "2024-11-30"),
                                            _line(extra, "2025-06-01", removed="是")])
    assert out.status == "done", out.message
    assert "新增 2" in out.message
    got = _held(listed).get()
    assert (got.start_date, got.end_date, got.source_feed) == (dt.date(2025, 3, 2), None,
                                                               "relapse_watch")
    assert _held(removed).get().start_date == dt.date(2024, 11, 30)
    assert not _held(extra).exists()  # its risk was already removed: never opened

    # the next list: `removed` is gone, `listed`'s risk is removed, the clerk's is absent too
    out = _import("relapse_watch", HEADER, [_line(listed, "2025-03-02", removed="是")])
    assert out.status == "done", out.message
    today = clock.today()
    assert _held(listed).get().end_date == today
    assert _held(removed).get().end_date == today
    clerk.refresh_from_db()
    assert clerk.end_date is None  # recorded by a clerk: the list does not end it


def test_only_id_matches_inside_the_importing_area_count(villages) -> None:
    world, _ = villages
    gd = world.guangdong_hh
    # imported by a district officer: the batch keeps the officer's 12-digit area code
    out = _import("relapse_watch", HEADER, [_line(gd, "2025-01-01"),
                                            _line(world.village_hh, "2025-01-01")],
                  user=world.users.district_officer)
    assert out.status == "done", out.message
    assert not _held(gd).exists()  # outside 屯溪区, which imported the list
    assert _held(world.village_hh).exists()


def test_a_lifted_household_list_starts_on_the_import_day(villages) -> None:
    world, _ = villages
    header = "户主姓名,户主证件号码,所在村,家庭人口数,脱贫年度"
    head = _head(world.village_hh)
    out = _import("lifted_from_poverty", header, [f"{head.name},{head.id_number},某村,2,2019"])
    assert out.status == "done", out.message
    got = _held(world.village_hh, "lifted_from_poverty").get()
    assert got.start_date == clock.today()  # a bare year is not a date


# -- 乡村振兴 staff --------------------------------------------------------------------------

@pytest.fixture
def rural(villages):
    world, extra = villages
    _import("relapse_watch", HEADER, [_line(world.village_hh, "2025-03-02"),
                                      _line(world.other_town_hh, "2025-03-02")])
    with context.job("test users"):
        town_staff = create_user(username="rural_town", password=PASSWORD, area_code=TOWN,
                                 roles=["rural_staff"])
    return world, extra, town_staff


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_rural_staff_see_the_watched_households_of_their_area_masked(rural) -> None:
    world, extra, town_staff = rural
    page = _client(town_staff).get(reverse("rural_home")).content.decode()
    head = _head(world.village_hh)
    assert head.masked_name in page and head.name not in page and head.id_number not in page
    # watched, but in another town: not listed
    assert reverse("rural_household", args=[world.village_hh.pk]) in page
    assert reverse("rural_household", args=[world.other_town_hh.pk]) not in page
    detail = _client(town_staff).get(reverse("rural_household", args=[world.village_hh.pk]))
    assert detail.status_code == 200
    assert head.id_number not in detail.content.decode()
    for hidden in (world.other_town_hh, extra):  # another town's; not watched at all
        assert _client(town_staff).get(reverse("rural_household",
                                               args=[hidden.pk])).status_code == 404


def test_rural_staff_read_nothing_else_of_the_registry(rural) -> None:
    world, _, town_staff = rural
    client = _client(town_staff)
    assert client.get(reverse("household_list")).status_code == 403
    assert client.get(reverse("household_detail",
                              args=[world.village_hh.pk])).status_code in (403, 404)


# -- 双线报送 --------------------------------------------------------------------------------

def test_the_report_owed_to_both_lines_is_received_by_each(rural) -> None:
    world, _, town_staff = rural
    users = world.users
    today = clock.today()
    due = next(d for d in filing.periods(today) if d.template.code == "relapse_watch_monthly")
    with context.job("test filing"):
        report = filing.fill(by=users.district_officer, code="relapse_watch_monthly",
                             period=due.period)
        with pytest.raises(filing.FilingError, match="尚未报送"):
            filing.receive_rural(by=users.rural_staff, report=report)
        filing.submit(by=users.district_officer, report=report)
        # a town's 乡村振兴 staff see the district's report but do not receive it
        with pytest.raises(Exception, match="乡村振兴"):
            filing.receive_rural(by=town_staff, report=report)
        filing.receive_rural(by=users.rural_staff, report=report)
        with pytest.raises(filing.FilingError, match="已接收"):
            filing.receive_rural(by=users.rural_staff, report=report)
    report.refresh_from_db()
    assert report.rural_received_by == users.rural_staff
    assert report.status == ReportInstance.SUBMITTED  # 民政's level above has not received it
    monthly = filing.fill(by=users.district_officer, code="monthly_assistance",
                          period=due.period)
    with pytest.raises(Exception, match="乡村振兴"):
        filing.receive_rural(by=users.rural_staff, report=monthly)
    page = _client(users.rural_staff).get(reverse("rural_home")).content.decode()
    assert "防止返贫监测对象兜底保障情况月报表" in page
    assert _client(users.rural_staff).get(
        reverse("filing_detail", args=[monthly.pk])).status_code == 404


def test_the_rural_figures_equal_independent_counts(rural) -> None:
    world, _, _ = rural
    today = clock.today()
    month = today.replace(day=1)
    last = statistics.month_bounds(month)[1]
    with context.job("test enrol"):
        Enrollment.objects.create(household=world.village_hh, programme="dibao",
                                  amount_fen=50_000, start_date=today.replace(day=1),
                                  area_code=world.village_hh.area_code)
    table = statistics.month_table(DISTRICT, month)
    held = {c.household_id for c in CategoryAssignment.objects.filter(
        category="relapse_watch", start_date__lte=last).exclude(end_date__lte=last)
        if c.area_code.startswith(DISTRICT)}
    assert table.total["relapse_watch_households"] == len(held) == 2
    assert table.total["relapse_watch_covered"] == 1
    assert table.total["lifted_households"] == 0
    assert rural_watch.covered(DISTRICT, last).count() == 1

"""月结: a closed month's statistics are a frozen snapshot equal to a recount at every level,
and never change after later records change; the month under way is recounted at most once
per stated staleness."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment, PaymentLine
from doudi.care.models import Visit
from doudi.core import clock
from doudi.reports import snapshots, statistics
from doudi.reports.models import MonthClose, MonthSnapshot

pytestmark = pytest.mark.django_db
D = dt.date
OCTOBER, NOVEMBER = D(2026, 10, 1), D(2026, 11, 1)


def _areas() -> list[str]:
    """Every level from the whole country down to three villages, and an area with nothing."""
    codes = sorted(set(Enrollment.objects.values_list("area_code", flat=True)))
    towns = sorted({c[:9] for c in codes})
    return ["", "34", "3410", "341002", *towns, *codes[:: max(1, len(codes) // 3)],
            "4401", "341002999999"]


def _same(a: statistics.Table, b: statistics.Table) -> bool:
    return (a.area, a.month, a.width, a.rows, a.total) == (b.area, b.month, b.width, b.rows,
                                                         b.total)


def test_a_month_closes_the_day_after_its_report_is_due() -> None:
    assert snapshots.close_day(OCTOBER) == D(2026, 11, 10)
    assert snapshots.close_day(D(2026, 12, 1)) == D(2027, 1, 10)
    assert not snapshots.is_closed(OCTOBER, D(2026, 11, 10))
    assert snapshots.is_closed(D(2026, 10, 31), D(2026, 11, 11))
    assert not snapshots.is_closed(NOVEMBER, D(2026, 11, 30))


def test_a_closed_month_is_a_recount_at_every_level(district, monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 20))  # October and November closed
    areas = _areas()
    for month in (OCTOBER, NOVEMBER):
        recounted = {area: statistics.recount(area, month) for area in areas}
        assert recounted["341002"].total["covered_households"] > 0
        assert recounted["341002"].total["paid_fen"] > 0 or month == NOVEMBER
        snapshots.close(month)
        for area in areas:
            table = statistics.month_table(area, month)
            assert table.closed and table.counted_at is not None
            assert _same(table, recounted[area]), area
    # the city's table reads the same snapshot rows its district's does: one count
    city, district_table = (statistics.month_table(a, OCTOBER) for a in ("3410", "341002"))
    assert city.rows["341002"] == district_table.total
    # every area with a record has one row per month; an area without any reads as empty
    assert MonthSnapshot.objects.filter(month=OCTOBER, area_code="341002999999").count() == 0
    assert statistics.month_table("341002999999", OCTOBER).total["covered_households"] == 0


def test_a_closed_month_never_changes_after_later_records_change(district, monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 1))  # October closed, November not
    before = statistics.month_table("341002", OCTOBER)  # closes October on first read
    town = next(iter(before.rows))
    town_before = statistics.month_table(town, OCTOBER)
    trend_before = statistics.trend("341002", [OCTOBER])
    assert before.closed and MonthClose.objects.filter(month=OCTOBER).count() == 1

    # records of October corrected later: an enrollment ended back in October, a paid line's
    # amount, a visit entered for October
    ended = Enrollment.objects.filter(end_date__isnull=True, area_code__startswith=town)[0]
    Enrollment.objects.filter(pk=ended.pk).update(end_date=D(2026, 10, 20), status="ended")
    line = PaymentLine.objects.filter(month=OCTOBER, status=PaymentLine.PAID,
                                      area_code__startswith=town)[0]
    PaymentLine.objects.filter(pk=line.pk).update(total_fen=line.total_fen + 12_345)
    visit = Visit.objects.filter(area_code__startswith=town).first()
    if visit is not None:
        Visit.objects.filter(pk=visit.pk).update(visited_on=D(2026, 10, 15))

    recount = statistics.recount("341002", OCTOBER)
    assert recount.total["paid_fen"] == before.total["paid_fen"] + 12_345  # the records moved
    assert recount.total["exited_enrollments"] != before.total["exited_enrollments"]
    after = statistics.month_table("341002", OCTOBER)
    assert _same(after, before)
    assert _same(statistics.month_table(town, OCTOBER), town_before)
    assert statistics.trend("341002", [OCTOBER]) == trend_before
    # closing again changes nothing, and November, still open, counts the change
    snapshots.close(OCTOBER)
    assert _same(statistics.month_table("341002", OCTOBER), before)
    assert MonthClose.objects.filter(month=OCTOBER).count() == 1
    assert not statistics.month_table("341002", NOVEMBER).closed


def test_the_close_is_audited(district, monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 1))
    closing = snapshots.close(OCTOBER)
    assert closing.areas == MonthSnapshot.objects.filter(month=OCTOBER).count() > 5
    assert AuditEvent.objects.filter(action=AuditEvent.CREATE, object_type="reports.monthclose",
                                     object_id=str(closing.pk)).exists()


def test_the_month_under_way_is_recounted_at_most_once_per_staleness(
        district, monkeypatch, settings) -> None:
    monkeypatch.setattr(clock, "today", lambda: D(2026, 11, 20))
    settings.DOUDI_STATISTICS_CACHE_SECONDS = 300
    cache.clear()
    try:
        first = statistics.month_table("341002", NOVEMBER)
        assert not first.closed and first.counted_at is not None
        ended = Enrollment.objects.filter(end_date__isnull=True)[0]
        Enrollment.objects.filter(pk=ended.pk).update(end_date=D(2026, 11, 18), status="ended")
        again = statistics.month_table("341002", NOVEMBER)
        assert again.counted_at == first.counted_at and _same(again, first)  # kept
        settings.DOUDI_STATISTICS_CACHE_SECONDS = 0
        fresh = statistics.month_table("341002", NOVEMBER)
        assert fresh.total["exited_enrollments"] == first.total["exited_enrollments"] + 1
    finally:
        cache.clear()


def test_close_month_command(district, monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 1))
    with pytest.raises(CommandError, match="尚未月结：报表报送期限 2026-12-10 之后"):
        call_command("reports", "close-month", "--month", "2026-11", stdout=StringIO())
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("reports", "close-month", "--month", "2026年10月", stdout=StringIO())
    out = StringIO()
    call_command("reports", "close-month", stdout=out)
    assert "2026-10 月结完成" in out.getvalue() and "2026-09 月结完成" in out.getvalue()
    assert "2026-11" not in out.getvalue()
    out = StringIO()
    call_command("reports", "close-month", "--month", "2026-10", stdout=out)
    assert "2026-10 已月结，不再改动" in out.getvalue()


def test_the_dashboard_says_whether_a_month_is_closed(client, district, monkeypatch) -> None:
    from tests.conftest import PASSWORD

    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 1))
    client.login(username=district.district_officer.username, password=PASSWORD)
    closed = client.get("/reports/?month=2026-10").content.decode()
    assert "2026年10月已于" in closed and "月结：以下为月结时的统计" in closed
    open_month = client.get("/reports/?month=2026-11").content.decode()
    assert "统计时间" in open_month and "次月 10 日报表报送期限后月结" in open_month


def test_the_home_page_keeps_each_areas_counts_apart(client, district, settings) -> None:
    """With the counts kept for five minutes, a town officer still sees the town's counts
    after the district's were kept, and a household added shows once the staleness passes."""
    import re

    from doudi.registry.models import Household
    from tests.conftest import OTHER_TOWN_VILLAGE

    def households(user) -> int:
        client.force_login(user)
        page = client.get("/").content.decode()
        assert "统计时间" in page and "最多每 5 分钟重新统计一次" in page
        return int(re.search(r"<b>(\d+)</b><span>登记家庭", page).group(1))

    settings.DOUDI_STATISTICS_CACHE_SECONDS = 300
    cache.clear()
    try:
        district_officer, town_officer = district.district_officer, district.town_officer
        in_district = households(district_officer)
        in_town = households(town_officer)
        assert in_district == Household.objects.visible_to(district_officer).count()
        assert in_town == Household.objects.visible_to(town_officer).count() < in_district
        moved = Household.objects.visible_to(town_officer)[0].pk  # to another town
        Household.objects.filter(pk=moved).update(area_code=OTHER_TOWN_VILLAGE)
        assert households(town_officer) == in_town  # kept
        cache.clear()  # the staleness has passed
        assert households(town_officer) == in_town - 1
    finally:
        cache.clear()


@pytest.mark.django_db(False)
def test_several_server_processes_share_the_cache_through_redis() -> None:
    from django.core.cache.backends.redis import RedisCache
    from django.core.exceptions import ImproperlyConfigured

    from doudi.settings import cache_settings

    assert cache_settings("")["default"]["BACKEND"].endswith("LocMemCache")
    assert cache_settings("redis://127.0.0.1:6379/3")["default"]["BACKEND"].endswith(
        "RedisCache")
    with pytest.raises(ImproperlyConfigured, match="DOUDI_CACHE_URL 应为 redis://"):
        cache_settings("memcached://127.0.0.1:11211")
    shared = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": "doudi-test"})
    table = statistics.Table("341002", NOVEMBER, 9, rows={"341002102": {"paid_fen": 1}},
                             total={"paid_fen": 1})
    try:
        shared.set("table", table, 5)
    except Exception as exc:  # no Redis reachable here
        pytest.skip(f"Redis 不可用：{exc}")
    assert _same(shared.get("table"), table)
    shared.delete("table")

"""Figures that agree with themselves: one definition of an overdue warning for the month's
statistics, the monitoring dashboard and the performance table; rates rounded half up by one
function (2 of 3 is 66.67 %); chart ticks at round steps with readable labels."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import polars as pl
import pytest
from django.utils import timezone

from doudi.core import clock
from doudi.core.shares import percent, ratio_bp, share_bp
from doudi.monitoring.models import Warning
from doudi.reports import axis, performance, statistics
from tests.conftest import PASSWORD

D = dt.date


# -- rates ---------------------------------------------------------------------------------------

def test_rates_round_half_up_in_one_function() -> None:
    assert share_bp(2, 3) == 6667 and percent(share_bp(2, 3)) == "66.67%"
    assert share_bp(1, 3) == 3333 and share_bp(1, 6) == 1667 and share_bp(1, 32) == 313
    assert share_bp(1, 1) == 10_000 and percent(0) == "0.00%" and percent(None) == "—"
    assert ratio_bp(1, 0) is None
    frame = pl.DataFrame({"part": [2, 1, 1], "whole": [3, 6, 32]})
    assert frame.select(share_bp(pl.col("part"), pl.col("whole"))).to_series().to_list() == \
        [6667, 1667, 313]
    town = performance.TownPerformance("341002102", {"applications_decided": 3,
                                                     "applications_on_time": 2})
    assert town.rate_bp(performance.INDICATORS[0]) == 6667


# -- chart axes ----------------------------------------------------------------------------------

def test_axis_ticks_are_round_and_labels_have_two_decimals_at_most() -> None:
    assert axis.ticks(0) == [0, 1]
    assert axis.ticks(703) == [Decimal(n) for n in (0, 200, 400, 600, 800)]
    assert axis.ticks(1.2) == [Decimal(n) for n in ("0", "0.25", "0.5", "0.75", "1", "1.25")]
    assert axis.ticks_like(0, 3) == [Decimal(0), Decimal("0.5"), Decimal(1)]
    right = axis.ticks_like(118.5, 5)
    assert len(right) == 5 and right[-1] >= Decimal("118.5") and right[1] == Decimal(50)
    assert axis.label(0.1111111111) == "0.11" and axis.label(1234) == "1,234"
    assert axis.label(0.30000000000000004) == "0.3" and axis.label(2.5) == "2.5"
    assert axis.label(0.005) == "0.01"  # half up


def _ticks(svg: str) -> list[str]:
    return [t for t in re.findall(r"<text[^>]*>([-\d.,]+)</text>", svg)
            if not re.fullmatch(r"\d{4}-\d{2}", t)]  # the months along the x axis


def test_the_trend_chart_ticks_are_round_on_both_axes() -> None:
    from doudi.web.reports_views import _svg, trend_chart

    points = [(D(2026, m, 1), 700 + m, m * 1_000_000 // 9) for m in range(1, 13)]
    ticks = _ticks(_svg(trend_chart(points, "341002", "/reports/")))
    assert all(re.fullmatch(r"-?[\d,]+(\.\d{1,2})?", t) for t in ticks), ticks
    assert {"0.5", "1.5", "2", "200", "800"} <= set(ticks)


@pytest.mark.django_db
def test_the_trend_chart_axes_read_as_numbers(client, world) -> None:
    client.login(username="district_approver", password=PASSWORD)
    page = client.get("/reports/").content.decode()
    trend = page.split('id="chart-trend"')[1].split("</section>")[0]
    ticks = _ticks(trend)
    assert ticks, "the chart has tick labels"
    assert all(re.fullmatch(r"-?[\d,]+(\.\d{1,2})?", t) for t in ticks), ticks


# -- one definition of overdue -----------------------------------------------------------------

@pytest.mark.django_db
def test_overdue_warnings_are_one_figure_everywhere(client, world, monkeypatch) -> None:
    today = D(2026, 11, 10)
    monkeypatch.setattr(clock, "today", lambda: today)
    hh = world.village_hh

    def warning(key: str, due: dt.date, closed: dt.date | None = None) -> Warning:
        w = Warning.objects.create(
            indicator="uncovered_eligible", kind="uncovered_eligible", level=2,
            channel="monitoring", household=hh, programme="dibao", area_code=hh.area_code,
            due_on=due, handler_level="village", owner_code=hh.area_code, summary=key,
            open_key=None if closed else key, status="closed" if closed else "open")
        at = timezone.make_aware(dt.datetime(2026, 11, 1, 9))
        Warning.objects.filter(pk=w.pk).update(
            created_at=at, closed_at=timezone.make_aware(dt.datetime.combine(
                closed, dt.time(10))) if closed else None)
        return w

    late = warning("late", D(2026, 11, 5))
    warning("due later this month", D(2026, 11, 20))
    warning("closed in time", D(2026, 11, 3), closed=D(2026, 11, 2))
    month = statistics.month_table(hh.area_code[:6], D(2026, 11, 1))
    assert month.total["warnings_overdue"] == 1
    assert list(statistics.records("warnings_overdue", hh.area_code[:6], D(2026, 11, 1))) == \
        [late]
    towns = performance.towns(hh.area_code[:6], D(2026, 11, 1), D(2026, 11, 30))
    assert sum(t.figures.get("warnings_overdue", 0) for t in towns) == 1
    assert sum(t.figures.get("warnings_pending", 0) for t in towns) == 2
    client.login(username="district_approver", password=PASSWORD)
    dashboard = client.get("/monitoring/").content.decode()
    assert re.search(r'\?overdue=1">1</a>', dashboard)
    listed = client.get("/warnings/", {"overdue": "1", "status": "pending"}).content.decode()
    assert "late" in listed or hh.number in listed
    # a past month is judged on its last day: October had nothing raised yet
    assert statistics.month_table(hh.area_code[:6], D(2026, 10, 1)).total.get(
        "warnings_overdue", 0) == 0

"""An administrator enters next year's schedule; deadlines through it stop being provisional."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from doudi.casework import services
from doudi.casework.calendar_days import CalendarError, enter_year
from doudi.casework.models import CalendarDay
from doudi.core.workdays import add_workdays

pytestmark = pytest.mark.django_db
SCHEDULE_2027 = """# 2027 年部分安排（测试用）
2027-01-01 放假 元旦
2027-02-06 上班 春节调休
"""


def test_entered_year_is_used_and_no_longer_provisional(tmp_path) -> None:
    assert add_workdays(dt.date(2026, 12, 31), 1, services.calendar()).provisional
    path = tmp_path / "2027.txt"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    call_command("calendar", "year", "2027", str(path), "--source", "国办发明电〔2026〕测试号")
    cal = services.calendar()
    due = add_workdays(dt.date(2026, 12, 31), 1, cal)
    assert (due.day, due.provisional) == (dt.date(2027, 1, 4), False)  # 1/1 a holiday
    assert cal.is_workday(dt.date(2027, 2, 6))  # a Saturday made a workday
    enter_year(2027, "2027-01-01 放假 元旦\n", "国办发明电〔2026〕测试号")  # re-entered: replaced
    assert CalendarDay.objects.count() == 1


def test_bad_lines_are_refused_with_their_line_number() -> None:
    with pytest.raises(CalendarError, match="第 2 行"):
        enter_year(2027, "2027-01-01 放假\n2027-13-01 放假\n", "x")
    with pytest.raises(CalendarError, match="不在 2027 年"):
        enter_year(2027, "2028-01-01 放假\n", "x")
    assert CalendarDay.objects.count() == 0


def test_calendar_page_enters_a_year_for_administrators_only(client, users) -> None:
    from tests.conftest import PASSWORD

    body = {"year": "2027", "source": "国办发明电〔2026〕测试号", "days": SCHEDULE_2027}
    client.login(username="town_officer", password=PASSWORD)
    assert client.get("/calendar/").status_code == 200
    assert client.post("/calendar/", body).status_code == 403
    client.login(username="district_admin", password=PASSWORD)
    assert client.post("/calendar/", body).status_code == 302
    page = client.get("/calendar/").content.decode()
    assert "2027 年（依据：国办发明电〔2026〕测试号）" in page and "春节调休" in page
    bad = client.post("/calendar/", {**body, "days": "2027-01-01 休息"}).content.decode()
    assert "第 1 行" in bad
    assert CalendarDay.objects.count() == 2

"""Working days skip Chinese public holidays and count 调休 Saturdays; unpublished years are
counted on weekends only and flagged provisional."""

from __future__ import annotations

import datetime as dt

from doudi.core.workdays import Calendar, add_workdays, workdays_between


def test_spring_festival_2026_is_skipped_and_the_make_up_saturday_counts() -> None:
    # 2026 春节: 2/15–2/23 off; Saturday 2/14 and Saturday 2/28 are 调休 workdays.
    assert add_workdays(dt.date(2026, 2, 12), 1).day == dt.date(2026, 2, 13)  # Thu → Fri
    assert add_workdays(dt.date(2026, 2, 13), 1).day == dt.date(2026, 2, 14)  # the 调休 Saturday
    assert add_workdays(dt.date(2026, 2, 14), 1).day == dt.date(2026, 2, 24)  # over the holiday
    assert not add_workdays(dt.date(2026, 2, 14), 1).provisional


def test_national_day_2026() -> None:
    # 10/1–10/7 off (10/6 and 10/7 are holidays in lieu); 10 working days from 9/30.
    due = add_workdays(dt.date(2026, 9, 30), 10)
    assert due.day == dt.date(2026, 10, 20)
    assert workdays_between(dt.date(2026, 9, 30), due.day) == 10


def test_an_unpublished_year_counts_weekends_only_and_is_provisional() -> None:
    due = add_workdays(dt.date(2026, 12, 28), 5)
    assert due.provisional
    # 12/29, 12/30, 12/31 (2026, known) then 2027-01-01 (Fri, weekend rule: a workday), 01-04
    assert due.day == dt.date(2027, 1, 4)


def test_entered_days_override_the_library_and_make_a_year_known() -> None:
    cal = Calendar(overrides={dt.date(2027, 1, 1): False}, published_years=frozenset({2027}))
    due = add_workdays(dt.date(2026, 12, 28), 5, cal)
    assert not due.provisional
    assert due.day == dt.date(2027, 1, 5)  # New Year's Day entered as a holiday
    made_up = Calendar(overrides={dt.date(2026, 11, 28): True})  # a Saturday turned workday
    assert add_workdays(dt.date(2026, 11, 27), 1, made_up).day == dt.date(2026, 11, 28)

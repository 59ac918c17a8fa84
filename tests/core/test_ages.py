"""Ages in completed years and anniversaries across leap days."""

import datetime as dt

from doudi.core.ages import age_on, years_before


def test_ages_count_completed_years_and_leap_days():
    assert age_on(dt.date(1980, 5, 17), dt.date(2026, 5, 16)) == 45
    assert age_on(dt.date(1980, 5, 17), dt.date(2026, 5, 17)) == 46
    assert years_before(dt.date(2024, 2, 29), 3) == dt.date(2021, 2, 28)
    assert years_before(dt.date(2026, 11, 23), 3) == dt.date(2023, 11, 23)

"""`since` on the incremental APIs (转介, 下发预警处置结果): an offset beyond ±14 hours (which
PostgreSQL may refuse) or an instant that cannot be moved to UTC is a 422, never a server
error; a far-future `since` is simply "nothing new"."""

from __future__ import annotations

import datetime as dt

import pytest
from ninja.errors import HttpError

from doudi.api.schemas import watermark


def test_a_naive_instant_is_the_bureaus_time_and_comes_back_in_utc(settings) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    got = watermark(dt.datetime(2026, 12, 1, 8, 0))
    assert got == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert watermark(None) is None
    far = dt.datetime(2999, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert watermark(far) == dt.datetime(2998, 12, 31, 16, tzinfo=dt.UTC)


@pytest.mark.parametrize("since", [
    dt.datetime(3650, 5, 20, 5, 33, tzinfo=dt.timezone(-dt.timedelta(hours=19, minutes=46))),
    dt.datetime(2026, 5, 20, tzinfo=dt.timezone(dt.timedelta(hours=15))),
    dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(-dt.timedelta(hours=5))),
])
def test_an_instant_out_of_reach_is_refused_in_chinese(since) -> None:
    with pytest.raises(HttpError) as refused:
        watermark(since)
    assert refused.value.status_code == 422 and "since 应为" in str(refused.value)

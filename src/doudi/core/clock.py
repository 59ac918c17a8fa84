"""今天: the project's one notion of today — the bureau's day (Asia/Shanghai, not the server's),
plus, in a demo database only, the days a trainer moved the demo's clock (`doudi demo
advance --days N`, `doudi demo --today DATE`), so a whole 公示 period or a month's roster can be
walked in an afternoon. Every deadline, 公示 end, age and "overdue" that Doudi computes reads
`today()`.

Pure: the offset's source is installed by the Django side (`doudi.ops.demo_clock`), which reads
it from the demo database; without a source the offset is 0.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

TIME_ZONE = "Asia/Shanghai"
ZONE = ZoneInfo(TIME_ZONE)
# How long a read offset is trusted before it is read again: another process (the command
# line moving a running demo's clock) is seen within this many seconds.
REFRESH_SECONDS = 2.0

# source() -> the offset in days, or None when it cannot be read now (keep the last value)
_source: Callable[[], int | None] | None = None
_offset = 0
_read_at = float("-inf")


def use_offset_source(source: Callable[[], int | None] | None) -> None:
    """Install (or remove, with None) what tells the demo clock's offset in days."""
    global _source
    _source = source
    forget()


def forget() -> None:
    """Read the offset again at the next call (after it was changed in this process)."""
    global _read_at
    _read_at = float("-inf")


def offset_days() -> int:
    global _offset, _read_at
    if _source is not None and time.monotonic() - _read_at > REFRESH_SECONDS:
        value = _source()
        if value is not None:
            _offset, _read_at = value, time.monotonic()
    return _offset


def real_today() -> dt.date:
    """The calendar's day in the bureau's time zone, whatever the demo's clock says."""
    return dt.datetime.now(ZONE).date()


def today() -> dt.date:
    """今天 as Doudi counts it: the bureau's day, moved by the demo clock's offset if any."""
    return real_today() + dt.timedelta(days=offset_days())

"""The demo database (演示数据库) and its clock.

`doudi demo` builds into the embedded SQLite database (the one every other `doudi` command uses
unless DATABASE_URL or DOUDI_SQLITE says otherwise) and marks it as a demo in SQLite's own file
header (`PRAGMA application_id`), so the mark travels with the file and vanishes with it. The
demo clock's offset — how many days the demo lives ahead of (or behind) the calendar — is kept
in the same header (`PRAGMA user_version`, which Django does not use). `doudi.core.clock` reads
it through `offset_source`; a database that is not a demo (PostgreSQL, or a SQLite file without
the mark) always has offset 0, and moving its clock is refused.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.errors import ServiceError

DEMO_APPLICATION_ID = 0x44444D4F  # "DDMO"
MAX_OFFSET_DAYS = 3660  # ten years either way


class DemoError(ServiceError):
    """A refused demo-clock change (not a demo database, too far); the message is Chinese."""


def _header() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM pragma_application_id(), pragma_user_version()")
        application_id, user_version = cursor.fetchone()
    return application_id, user_version


def is_demo() -> bool:
    return connection.vendor == "sqlite" and _header()[0] == DEMO_APPLICATION_ID


def offset_source() -> int | None:
    """The demo clock's offset for `doudi.core.clock`: 0 outside a demo; None (keep the last
    value) when the connection is not open or cannot be queried now, so asking for today never
    opens a connection by itself."""
    if connection.vendor != "sqlite":
        return 0
    if connection.connection is None or connection.needs_rollback:
        return None
    application_id, user_version = _header()
    return user_version if application_id == DEMO_APPLICATION_ID else 0


def mark_demo() -> None:
    """Mark the (new, SQLite) database as a demo; its clock starts at the calendar's day."""
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    clock.forget()


def refuse_unless_demo() -> None:
    if not is_demo():
        where = (settings_name() if connection.vendor == "sqlite"
                 else f"{connection.vendor} 数据库")
        raise DemoError(f"当前数据库（{where}）不是演示数据库：只有 `doudi demo` 构建的演示数据库"
                       "可以调整时钟，正式数据库的日期始终是当天")


def settings_name() -> str:
    return str(connection.settings_dict["NAME"])


def set_today(day: dt.date) -> int:
    """Move the demo's clock so that today is `day`; the offset in days. Audited."""
    refuse_unless_demo()
    offset = (day - clock.real_today()).days
    if abs(offset) > MAX_OFFSET_DAYS:
        raise DemoError(f"演示时钟最多前后调整 {MAX_OFFSET_DAYS} 天")
    before = clock.today()
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA user_version = {int(offset)}")
    clock.forget()
    audit.record(AuditEvent.UPDATE, object_type="demo_clock",
                 object_label=f"演示时钟：{before} → {day}",
                 changes={"today": [str(before), str(day)]}, actor=context.current())
    return offset


def advance(days: int) -> dt.date:
    """Move the demo's clock `days` days on (back when negative); the demo's new today."""
    refuse_unless_demo()
    day = clock.today() + dt.timedelta(days=days)
    set_today(day)
    return day

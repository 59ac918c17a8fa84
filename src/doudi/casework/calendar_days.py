"""Entering a year's holiday schedule (节假日安排) as data, for when `chinese-calendar` lags."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from doudi.casework.models import CalendarDay, CalendarYear
from doudi.core.errors import ServiceError


class CalendarError(ServiceError, ValueError):
    """A holiday line that cannot be read; the message is Chinese and names the line."""


def parse_lines(text: str) -> list[tuple[dt.date, bool, str]]:
    """Lines of `日期 放假|上班 [名称]`, e.g. "2027-01-01 放假 元旦" or
    "2027-02-06 上班 春节调休"; blank lines and # comments are skipped."""
    out = []
    seen: set[dt.date] = set()
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        if len(parts) < 2 or parts[1] not in ("放假", "上班"):
            raise CalendarError(f"第 {n} 行应为“日期 放假|上班 [名称]”：{line}")
        try:
            day = dt.date.fromisoformat(parts[0])
        except ValueError as exc:
            raise CalendarError(f"第 {n} 行日期无效：{parts[0]}") from exc
        name = parts[2] if len(parts) > 2 else ""
        if any(ord(ch) < 32 for ch in name):
            raise CalendarError(f"第 {n} 行名称含有控制字符")
        if day in seen:
            raise CalendarError(f"第 {n} 行日期重复：{day}")
        seen.add(day)
        out.append((day, parts[1] == "上班", name))
    return out


def enter_year(year: int, text: str, source: str) -> int:
    """Replace the entered days of `year` with these lines and mark the year published."""
    days = parse_lines(text)
    wrong = [d for d, _, _ in days if d.year != year]
    if wrong:
        raise CalendarError(f"日期不在 {year} 年：{wrong[0]}")
    if not source.strip():
        raise CalendarError("请填写依据（如国务院办公厅关于节假日安排的通知文号）")
    if len(source) > 200 or any(ord(ch) < 32 for ch in source):
        raise CalendarError("依据应为不超过 200 字的一行文字")
    with transaction.atomic():
        for row in CalendarDay.objects.filter(day__year=year):
            row.delete()  # one by one, so each removal is audited
        for day, workday, name in days:
            CalendarDay.objects.create(day=day, is_workday=workday, name=name[:40])
        row, _ = CalendarYear.objects.get_or_create(year=year, defaults={"source": source})
        if row.source != source:
            row.source = source
            row.save()
    return len(days)

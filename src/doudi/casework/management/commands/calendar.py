"""doudi calendar list | doudi calendar year YEAR FILE --source 文号

Enter a year's holidays and 调休 workdays (one line each: "2027-01-01 放假 元旦",
"2027-02-06 上班 春节调休") when the calendar library has not caught up yet.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.audit import context
from doudi.casework.calendar_days import CalendarError, enter_year
from doudi.casework.models import CalendarDay, CalendarYear
from doudi.core.workdays import LIBRARY_YEARS


class Command(BaseCommand):
    help = "节假日安排 / holiday schedule for working-day deadlines"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list")
        year = sub.add_parser("year")
        year.add_argument("year", type=int)
        year.add_argument("file", type=Path)
        year.add_argument("--source", required=True, help="依据，如 国办发明电〔2026〕X号")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        if o["action"] == "list":
            self.stdout.write(f"日历库覆盖：{LIBRARY_YEARS.start}–{LIBRARY_YEARS.stop - 1} 年")
            for y in CalendarYear.objects.all():
                n = CalendarDay.objects.filter(day__year=y.year).count()
                self.stdout.write(f"已录入 {y.year} 年：{n} 天（{y.source}）")
            return
        with context.job(f"calendar year {o['year']}"):
            try:
                n = enter_year(o["year"], o["file"].read_text(encoding="utf-8"), o["source"])
            except (CalendarError, OSError) as exc:
                raise CommandError(str(exc)) from exc
            except UnicodeDecodeError as exc:
                raise CommandError("文件应为 UTF-8 编码的文本") from exc
        self.stdout.write(f"已录入 {o['year']} 年节假日安排 {n} 天")

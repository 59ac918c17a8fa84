"""The Excel copy of an imported CSV is the same data: refused, naming the earlier batch,
rather than a second batch with the same rows. Another period, or other rows, still import."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter

from doudi.exchange.imports import import_bytes
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from tests.exchange.helpers import VEHICLE_HEADER, outsider_id

pytestmark = pytest.mark.django_db

ROWS = [("皖J·R9610", "小型普通客车", "周建国", outsider_id(1), "大众", dt.date(2018, 7, 8),
         "正常"),
        ("皖J·V7781", "小型普通客车", "陈阿美", outsider_id(2), "比亚迪", dt.date(2014, 4, 22),
         "正常")]


def _csv(rows) -> bytes:
    lines = [VEHICLE_HEADER] + [",".join([*r[:5], f"{r[5]:%Y/%-m/%-d}", r[6]]) for r in rows]
    return "\n".join(lines).encode("gbk")


def _xlsx(rows) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet, day = book.add_worksheet("车辆"), book.add_format({"num_format": "yyyy-mm-dd"})
    for col, title in enumerate(VEHICLE_HEADER.split(",")):
        sheet.write_string(0, col, title)
    for n, r in enumerate(rows, 1):
        for col, value in enumerate(r):
            if isinstance(value, dt.date):
                sheet.write_datetime(n, col, dt.datetime.combine(value, dt.time()), day)
            else:
                sheet.write_string(n, col, value)
    book.close()
    return out.getvalue()


def _import(data: bytes, name: str, period: str = "2026-11"):
    return import_bytes(FeedType.objects.get(key="vehicle"), data, name, user=None,
                        channel="cli", period=period)


def test_the_excel_copy_of_an_imported_csv_is_refused_naming_the_batch(
        users, shipped_feed_types) -> None:
    first = _import(_csv(ROWS), "车管.csv")
    assert first.status == ImportJob.DONE
    copy = _import(_xlsx(list(reversed(ROWS))), "车管.xlsx")
    assert copy.status == ImportJob.DUPLICATE
    assert copy.batch == first.batch
    assert f"{first.batch}" in copy.message and "车管.csv" in copy.message
    assert "相同" in copy.message and "未导入" in copy.message
    assert FeedBatch.objects.count() == 1
    assert copy.job.status == ImportJob.DUPLICATE and copy.job.batch == first.batch
    # another period's delivery of the same rows, and a file with other rows, are new data
    assert _import(_xlsx(ROWS), "车管12月.xlsx", period="2026-12").status == ImportJob.DONE
    other = [*ROWS[:1], (*ROWS[1][:6], "注销")]
    assert _import(_csv(other), "车管更正.csv").status == ImportJob.DONE
    assert FeedBatch.objects.count() == 3

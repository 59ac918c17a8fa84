"""A legacy Excel 97–2003 (.xls) file, as many offices still save, imports like an .xlsx."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest
import xlwt

from doudi.exchange.imports import batch_rows, import_bytes, report_rows
from doudi.exchange.models import FeedType, ImportJob
from tests.exchange.helpers import VEHICLE_HEADER, bad_check_digit, outsider_id

pytestmark = pytest.mark.django_db


def _xls(rows: list[list[object]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("机动车")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date_style)  # a real date cell, not text
            else:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xls_imports_with_dates_and_errors(shipped_feed_types) -> None:
    good, other = outsider_id(1), outsider_id(2)
    rows = [VEHICLE_HEADER.split(","),
            ["皖J·X0001", "小型普通客车", "甲", good, "奇瑞", dt.date(2026, 3, 5), "正常"],
            ["皖J·X0002", "小型普通客车", "乙", bad_check_digit(other), "吉利", 46086, "正常"],
            ["皖J·X0003", "轻型普通货车", "丙", other, "江淮", "2026年3月5日", "正常"]]
    out = import_bytes(FeedType.objects.get(key="vehicle"), _xls(rows), "车管.xls", user=None,
                       channel="cli")
    assert out.status == ImportJob.DONE, out.message
    assert (out.counts["rows"], out.counts["good"], out.counts["errors"]) == (3, 2, 1)
    report = report_rows(out.job)
    assert report.row(0, named=True)["row"] == 3
    assert report.row(0, named=True)["reason"] == "身份证号校验码错误"
    stored = batch_rows(out.batch).sort("row")
    assert stored["registered_on"].to_list() == [dt.date(2026, 3, 5), dt.date(2026, 3, 5)]
    assert stored.filter(pl.col("row") == 2)["id_number"].item() == good

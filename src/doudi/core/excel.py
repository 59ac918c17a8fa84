"""Excel files the bureau downloads (xlsxwriter, no Django). Typed text never becomes a formula,
a number or a link: a name that starts with "=" stays a name (no formula injection).

Every file carries a watermark (导出水印) of who exported it and when: in each sheet's printed
header and footer and in the document properties, with the request id that finds the export's
row in the audit log — a leaked printout or file names its source. Files made for another
system (the bank's payment file) keep that system's layout and are not built here.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

from doudi.audit import context

BEIJING = ZoneInfo("Asia/Shanghai")

OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
           "strings_to_urls": False}
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def watermark(actor: context.Actor | None = None, *, at: dt.datetime | None = None) -> str:
    """导出人、时间（北京时间）、请求号, e.g.
    "兜底 · town_officer · 2026-11-30 15:02 · 请求 3fa9… · 内部资料 注意保密"."""
    who = actor or context.current()
    when = (at or dt.datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    trace = who.request_id or who.job
    parts = ["兜底", who.username, when] + ([f"请求 {trace}"] if trace else [])
    return " · ".join([*parts, "内部资料 注意保密"])


class WatermarkedWorkbook(xlsxwriter.Workbook):
    """A workbook that stamps the watermark on every sheet when it is closed."""

    def close(self) -> None:
        mark = watermark()
        # "&&" is a literal ampersand in Excel's header codes; the text has none, but be safe
        text = mark.replace("&", "&&")
        for sheet in self.worksheets():
            sheet.set_header(f"&C{text}")
            sheet.set_footer(f"&C{text}　第 &P 页，共 &N 页")
        self.set_properties({"author": context.current().username, "comments": mark,
                             "company": "兜底 Doudi"})
        self.set_custom_property("导出水印", mark)
        super().close()


def new_workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    return WatermarkedWorkbook(buffer, OPTIONS)


def one_sheet(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
              title: str | None = None) -> bytes:
    """A sheet with an optional title line, a bold header row and the rows."""
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    first = 0
    if title:
        ws.write(0, 0, title, bold)
        first = 2
    ws.write_row(first, 0, list(header), bold)
    for n, row in enumerate(rows, start=first + 1):
        ws.write_row(n, 0, list(row))
    book.close()
    return buffer.getvalue()

"""Excel files the bureau downloads (xlsxwriter, no Django). Typed text never becomes a formula,
a number or a link: a name that starts with "=" stays a name (no formula injection)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
           "strings_to_urls": False}
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def new_workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(buffer, OPTIONS)


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

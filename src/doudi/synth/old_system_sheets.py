"""A table as an old provincial system exports it (原系统导出表格), written as .xls, .xlsx or CSV.

The layout offices know: a title line and a 填报单位/导出日期 line above; a header of one row, or
of two where columns are grouped (the group's title merged across its columns, the columns
outside any group merged down over both rows); a household's own cells merged down over its
members' rows; a 合计 line and a 制表人 line below. The CSV is the same table in GBK without
merges: every member row carries its household's cells, and its header is the column row alone
(as an old system's "导出 CSV" writes it).

.xls through xlwt (a test dependency: the importer's .xls path is tested on a real file),
.xlsx through XlsxWriter. Money is written from Decimal (a number cell shown with two
decimals; the library turns it into the file's number), IDs and accounts always as text.
The same table gives the same bytes. Pure: no Django.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

Cell = str | Decimal | dt.date | None

FORMATS = ("xls", "xlsx", "csv")
CSV_ENCODING = "gbk"
XLS_MAX_ROWS = 65_536
TEXT, MONEY, DATE = "text", "money", "date"


@dataclass(frozen=True)
class Column:
    key: str  # the layout's field key ("seq" for 序号)
    header: str
    kind: str = TEXT  # text | money | date (a date cell in Excel, ISO text in CSV)
    group: str = ""  # the title above it in a two-row header; "" for none
    household: bool = False  # merged down over its household's rows
    width: int = 12


@dataclass
class Table:
    sheet: str
    title: str
    subtitle: str
    columns: list[Column]
    rows: list[list[Cell]]
    blocks: list[tuple[int, int]]  # first and last row index of each household (inclusive)
    footer: list[list[Cell]]  # the lines below the records, one cell per column

    @property
    def two_rows(self) -> bool:
        return any(c.group for c in self.columns)

    def groups(self) -> list[tuple[str, int, int]]:
        """(title, first column, last column) of each run of columns under one group."""
        out: list[tuple[str, int, int]] = []
        for j, c in enumerate(self.columns):
            if c.group and out and out[-1][0] == c.group and out[-1][2] == j - 1:
                out[-1] = (c.group, out[-1][1], j)
            elif c.group:
                out.append((c.group, j, j))
        return out

    def column(self, key: str) -> int:
        return next(j for j, c in enumerate(self.columns) if c.key == key)


def first_row(table: Table, fmt: str) -> int:
    """The row number (from 1, as a clerk sees it) of the first record in the file."""
    header = 2 if table.two_rows and fmt != "csv" else 1
    return 2 + header + 1


def yuan(fen: int) -> Decimal:
    """Fen as yuan with two decimals (76000 → 760.00), exactly."""
    return Decimal(int(fen)).scaleb(-2)


def cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write(table: Table, path: Path, fmt: str, made: dt.date) -> Path:
    if fmt == "xlsx":
        write_xlsx(table, path, made)
    elif fmt == "xls":
        write_xls(table, path)
    elif fmt == "csv":
        path.write_bytes(csv_bytes(table))
    else:
        raise ValueError(f"不支持的格式“{fmt}”，可选：{'、'.join(FORMATS)}")
    return path


def _block_starts(table: Table) -> dict[int, int]:
    """First row index of a household → its last; rows inside a block are absent."""
    return {first: last for first, last in table.blocks}


def _inside(table: Table) -> set[int]:
    return {r for first, last in table.blocks for r in range(first + 1, last + 1)}


# ---------------------------------------------------------------------------------------------
# CSV


def csv_bytes(table: Table) -> bytes:
    width = len(table.columns)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([table.title] + [""] * (width - 1))
    w.writerow([table.subtitle] + [""] * (width - 1))
    w.writerow([c.header for c in table.columns])
    for row in table.rows:
        w.writerow([cell_text(v) for v in row])
    for line in table.footer:
        w.writerow([cell_text(v) for v in line])
    return out.getvalue().encode(CSV_ENCODING)


# ---------------------------------------------------------------------------------------------
# xlsx


def write_xlsx(table: Table, path: Path, made: dt.date) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                           "strings_to_formulas": False,
                                           "strings_to_urls": False})
    # a fixed creation time: the same table gives the same bytes
    book.set_properties({"created": dt.datetime.combine(made, dt.time()), "author": ""})
    border = {"border": 1, "valign": "vcenter", "font_size": 10}
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 16, "align": "center"}),
        "subtitle": book.add_format({"font_size": 10}),
        "head": book.add_format({**border, "bold": True, "align": "center", "text_wrap": True}),
        TEXT: book.add_format({**border, "num_format": "@"}),
        MONEY: book.add_format({**border, "num_format": "0.00"}),
        DATE: book.add_format({**border, "num_format": "yyyy-mm-dd"}),
        "foot": book.add_format({"font_size": 10}),
    }
    sheet = book.add_worksheet(table.sheet)
    width = len(table.columns)
    sheet.merge_range(0, 0, 0, width - 1, table.title, fmt["title"])
    sheet.merge_range(1, 0, 1, width - 1, table.subtitle, fmt["subtitle"])
    top = 2
    for j, c in enumerate(table.columns):
        sheet.set_column(j, j, c.width)
    if table.two_rows:
        for title, c0, c1 in table.groups():
            if c1 > c0:
                sheet.merge_range(top, c0, top, c1, title, fmt["head"])
            else:
                sheet.write_string(top, c0, title, fmt["head"])
        for j, c in enumerate(table.columns):
            if c.group:
                sheet.write_string(top + 1, j, c.header, fmt["head"])
            else:
                sheet.merge_range(top, j, top + 1, j, c.header, fmt["head"])
        top += 2
    else:
        for j, c in enumerate(table.columns):
            sheet.write_string(top, j, c.header, fmt["head"])
        top += 1
    starts, inside = _block_starts(table), _inside(table)

    def put(r: int, j: int, value: Cell, kind: str) -> None:
        if value is None:
            sheet.write_blank(r, j, None, fmt[kind])
        elif isinstance(value, Decimal):
            sheet.write_number(r, j, value, fmt[MONEY])  # type: ignore[arg-type]
        elif isinstance(value, dt.date):
            sheet.write_datetime(r, j, dt.datetime.combine(value, dt.time()), fmt[DATE])
        else:
            sheet.write_string(r, j, value, fmt[TEXT])

    for i, row in enumerate(table.rows):
        for j, c in enumerate(table.columns):
            if c.household and i in inside:
                continue
            last = starts.get(i, i) if c.household else i
            if last > i:
                sheet.merge_range(top + i, j, top + last, j, "", fmt[c.kind])
            put(top + i, j, row[j], c.kind)
    below = top + len(table.rows)
    for k, line in enumerate(table.footer):
        for j, value in enumerate(line):
            if value is not None and value != "":
                if isinstance(value, Decimal):
                    sheet.write_number(below + k, j, value, fmt[MONEY])  # type: ignore[arg-type]
                else:
                    sheet.write_string(below + k, j, cell_text(value), fmt["foot"])
    book.close()


# ---------------------------------------------------------------------------------------------
# xls


def write_xls(table: Table, path: Path) -> None:
    import xlwt

    rows_needed = first_row(table, "xls") + len(table.rows) + len(table.footer)
    if rows_needed > XLS_MAX_ROWS:
        raise ValueError(f"xls 文件最多 {XLS_MAX_ROWS} 行，此表需 {rows_needed} 行：请改用 xlsx")
    book = xlwt.Workbook(encoding="utf-8")
    edge = "borders: left thin, right thin, top thin, bottom thin; align: vert centre;"
    style = {
        "title": xlwt.easyxf("font: bold on, height 320; align: horiz centre;"),
        "subtitle": xlwt.easyxf(""),
        "head": xlwt.easyxf(edge + " font: bold on; align: horiz centre, wrap on;"),
        TEXT: xlwt.easyxf(edge, num_format_str="@"),
        MONEY: xlwt.easyxf(edge, num_format_str="0.00"),
        DATE: xlwt.easyxf(edge, num_format_str="YYYY-MM-DD"),
        "foot": xlwt.easyxf(""),
    }
    sheet = book.add_sheet(table.sheet)
    width = len(table.columns)
    for j, c in enumerate(table.columns):
        sheet.col(j).width = 256 * c.width
    sheet.write_merge(0, 0, 0, width - 1, table.title, style["title"])
    sheet.write_merge(1, 1, 0, width - 1, table.subtitle, style["subtitle"])
    top = 2
    if table.two_rows:
        for title, c0, c1 in table.groups():
            sheet.write_merge(top, top, c0, c1, title, style["head"])
        for j, c in enumerate(table.columns):
            if c.group:
                sheet.write(top + 1, j, c.header, style["head"])
            else:
                sheet.write_merge(top, top + 1, j, j, c.header, style["head"])
        top += 2
    else:
        for j, c in enumerate(table.columns):
            sheet.write(top, j, c.header, style["head"])
        top += 1
    starts, inside = _block_starts(table), _inside(table)
    for i, row in enumerate(table.rows):
        for j, c in enumerate(table.columns):
            if c.household and i in inside:
                continue
            last = starts.get(i, i) if c.household else i
            value = row[j]
            kind = MONEY if isinstance(value, Decimal) else (
                DATE if isinstance(value, dt.date) else TEXT)
            cell = "" if value is None else value
            if last > i:
                sheet.write_merge(top + i, top + last, j, j, cell, style[kind])
            else:
                sheet.write(top + i, j, cell, style[kind])
    below = top + len(table.rows)
    for k, line in enumerate(table.footer):
        for j, value in enumerate(line):
            if value is not None and value != "":
                sheet.write(below + k, j, value, style["foot"])
    book.save(str(path))

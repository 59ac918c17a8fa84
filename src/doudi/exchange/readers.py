"""Reading a department's file into text cells (读取文件): Excel (xlsx, xlsm, xls via calamine),
CSV/TXT (encodings and separators: `text_files`) and Parquet.

Every cell becomes text exactly as the department wrote it (numbers Excel stored as numbers are
written back without a spurious ".0"; Excel dates as ISO dates), so that validation sees one
kind of input whatever the format. Sheets are read as offices lay them out: the header is found
by content (below a title and a 填报单位 line, also across two merged rows), the data sheet by
its header, not its position (a 说明 or 封面 sheet may come first); values the file merges down
a column are filled down; blank rows, 合计/小计 lines and the 制表人/审核人 lines at the bottom
are left out with one notice (`engine.feeds.layout`). Spreadsheets are bounded before calamine
reads them (`sheet_bounds`). Errors are `ReadError` with a Chinese message, never a library's
own text; nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from polars.exceptions import PanicException

from doudi.engine.feeds.feedspec import FeedSpec
from doudi.engine.feeds.headers import (
    HeaderMatch,
    HeaderRows,
    find_header,
    match_headers,
    normalise_header,
)
from doudi.engine.feeds.layout import ignored_notice, trim
from doudi.engine.feeds.validate import NUMERIC_TYPES
from doudi.exchange import text_files
from doudi.exchange.read_errors import MAX_HEADER_CHARS, MissingColumns, ReadError, shorten
from doudi.exchange.sheet_bounds import (
    MAX_CELL_CHARS,
    SHEET_COLUMNS,
    WorkbookFacts,
    check_spreadsheet,
)
from doudi.exchange.text_files import decode_text

__all__ = [
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "PARQUET_SUFFIXES",
    "SUFFIXES",
    "MissingColumns",
    "RawTable",
    "ReadError",
    "check_excel_extent",
    "decode_text",
    "field_cells",
    "read_table",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES
HEADER_SCAN_ROWS = 15
MAX_COLUMNS = 500
EXCEL_DAMAGED = "无法读取 Excel 文件（文件损坏或不是 Excel 格式）"


@dataclass
class RawTable:
    headers: list[str]
    cells: pl.DataFrame  # String columns c0 … cN, plus `row` (the row number a user sees)
    sheet: str = ""
    encoding: str = ""
    notices: list[str] = field(default_factory=list)
    # Boolean columns c0 … cN aligned with `cells`: the cell was a number in the file (Excel
    # only; None when unknown). An ID from one lost its last digits; a date serial needs one.
    numeric: pl.DataFrame | None = None


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _texts(rows: list[list[object]]) -> list[list[str]]:
    return [[_cell_text(c) or "" for c in r] for r in rows]


def _shape(frame: pl.DataFrame, head: list[list[str]], found: HeaderRows, *,
           hidden: set[int] = frozenset(), notices: list[str] | None = None) -> RawTable:
    """The table after its header: lines that are no records left out (one notice), cells
    bounded, hidden columns kept out of header matching where a visible column has the same
    header. `frame` holds String columns c0 … (width) and `row`."""
    cells = [c for c in frame.columns if c != "row"]
    trimmed = trim(frame.select(*cells, "row"), cells)
    above = sum(1 for r in head[:found.at] if any(c.strip() for c in r))
    notices = list(notices or [])
    if note := ignored_notice(above, trimmed):
        notices.append(note)
    _check_cell_length(trimmed.frame, cells, found.headers)
    headers = [shorten(h.strip(), MAX_HEADER_CHARS) for h in found.headers[:len(cells)]]
    visible = {normalise_header(h) for j, h in enumerate(headers) if j not in hidden and h}
    headers = ["" if j in hidden and normalise_header(h) in visible else h
               for j, h in enumerate(headers)]
    return RawTable(headers=headers, cells=trimmed.frame, notices=notices)


def _check_cell_length(frame: pl.DataFrame, cells: list[str], headers: list[str]) -> None:
    if frame.height == 0 or not cells:
        return
    longest = frame.select(pl.col(cells).str.len_chars().max()).row(0)
    for j, n in enumerate(longest):
        if n is not None and n > MAX_CELL_CHARS:
            row = frame.filter(pl.col(cells[j]).str.len_chars() > MAX_CELL_CHARS)["row"][0]
            name = shorten(headers[j]) if j < len(headers) and headers[j] else f"第 {j + 1} 列"
            raise ReadError(f"第 {row} 行“{name}”的内容过长（{n} 个字符，单元格最多 "
                            f"{MAX_CELL_CHARS} 个字符），请检查文件")


def _width(found: HeaderRows) -> int:
    # Cells right of the last header are nobody's column (a stray note, a formula): ignored.
    width = max((j + 1 for j, h in enumerate(found.headers) if h.strip()), default=0)
    if width == 0:
        raise ReadError(f"未找到表头行（前 {HEADER_SCAN_ROWS} 行均为空）")
    if width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{width} 列），请检查文件")
    return width


# ---------------------------------------------------------------------------------------------
# Excel


def check_excel_extent(data: bytes) -> WorkbookFacts:
    """Refuse, before calamine reads it, a spreadsheet past the bounds of `sheet_bounds`."""
    return check_spreadsheet(data)


@dataclass
class _Sheet:
    name: str
    rows: list[list[object]]
    first_row: int  # the sheet row number (from 1) of rows[0]
    first_column: int  # 0-based column of rows[n][0]
    linked: set[int]
    head: list[list[str]]
    found: HeaderRows


def _merge(rows: list[list[object]], head: int, merges: list, top: int,
           left: int) -> tuple[set[int], list[tuple[int, int, int, int]]]:
    """Fill what the file merges down a column (a 灾害种类 for several rows, a header cell over
    two header rows). Returns the first `head` rows merged with the row below (a two-row
    header), and the merges across columns among them (a header over its sub-columns), which
    only the header's text copies: among records a merge across is no value of each column."""
    linked: set[int] = set()
    across: list[tuple[int, int, int, int]] = []
    height = len(rows)
    for (r0, c0), (r1, c1) in merges or []:
        r0, r1, c0, c1 = r0 - top, r1 - top, c0 - left, c1 - left
        if not (0 <= r0 < height and 0 <= c0 < len(rows[r0])):
            continue
        value = rows[r0][c0]
        if value is None or value == "":
            continue
        last = min(r1, height - 1)
        for r in range(r0 + 1, last + 1):
            if c0 < len(rows[r]) and rows[r][c0] in (None, ""):
                rows[r][c0] = value
        if r0 < head:
            linked.update(range(r0, min(last, head)))
            if c1 > c0:
                across.append((r0, min(last, head - 1), c0, c1))
                below = rows[last + 1] if last + 1 < height else []
                if any(below[c] not in (None, "") for c in range(c0, min(c1 + 1, len(below)))):
                    linked.add(last)
    return linked, across


def _load_sheet(book, name: str, spec: FeedSpec, mapping: dict[str, str] | None) -> _Sheet:  # noqa: ANN001
    try:
        sheet = book.get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=True)
        top, left = sheet.start or (0, 0)
        merges = sheet.merged_cell_ranges
    except BaseException as exc:  # calamine raises its own types, or panics, on damage
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ReadError(f"无法读取工作表“{shorten(name)}”（文件损坏）") from exc
    rows = rows if all(type(r) is list for r in rows[:1]) else [list(r) for r in rows]
    linked, across = _merge(rows, HEADER_SCAN_ROWS, merges, top, left)
    head = _texts(rows[:HEADER_SCAN_ROWS])
    for r0, r1, c0, c1 in across:
        for r in range(r0, r1 + 1):
            for c in range(c0 + 1, min(c1 + 1, len(head[r]))):
                head[r][c] = head[r][c] or head[r0][c0]
    found = find_header(head, spec, mapping, linked) if head else HeaderRows(0, 1, [], -1)
    return _Sheet(name, rows, top + 1, left, linked, head, found)


def read_excel(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None = None) -> RawTable:
    facts = check_spreadsheet(data)
    if data[:2] == b"PK" and facts.numeric:
        table = read_xlsx(data, spec, mapping, facts)
        if table is not None:
            return table
    return _read_with_calamine(data, spec, mapping, facts)


def _open_book(opener: Callable[[], Any]) -> tuple[Any, list[str]]:
    """A workbook and its sheet names; a damaged file is a ReadError, whatever the library
    raised (its own types, or a panic)."""
    try:
        book = opener()
        names = list(book.sheet_names)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ReadError(EXCEL_DAMAGED) from exc
    if not names:
        raise ReadError("Excel 文件中没有工作表")
    return book, names


def _read_with_calamine(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None,
                        facts: WorkbookFacts) -> RawTable:
    """A legacy .xls, or an xlsx whose sheets the bounds scan could not name (its cells'
    kinds then come from calamine's values)."""
    from python_calamine import CalamineWorkbook

    book, names = _open_book(lambda: CalamineWorkbook.from_filelike(io.BytesIO(data)))
    notices: list[str] = []
    chosen = [spec.sheet] if spec.sheet and spec.sheet in names else names
    best: _Sheet | None = None
    for name in chosen:
        sheet = _load_sheet(book, name, spec, mapping)
        if best is None or sheet.found.found > best.found.found:
            best = sheet
    assert best is not None
    if not best.rows:
        raise ReadError("文件中没有数据")
    if spec.sheet and best.name != spec.sheet:
        notices.append(f"未找到工作表“{shorten(spec.sheet)}”，已读取工作表“{shorten(best.name)}”")
    found = best.found
    width = _width(found)
    body = best.rows[found.at + found.span:]
    columns = _columns(body, width)
    frame = pl.DataFrame([_column_text(col).alias(f"c{j}") for j, col in enumerate(columns)]
                         ).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + best.first_row + found.at + found.span)
        .alias("row"))
    hidden = {c - best.first_column for c in facts.hidden_columns(best.name)}
    table = _shape(frame, best.head, found, hidden=hidden, notices=notices)
    table.sheet = best.name
    # which cells the file stored as numbers, for the columns whose fields need to know
    flagged = _numeric_columns(table.headers, spec, mapping)
    flags = frame.select("row").with_columns(
        _column_numeric(columns[j]).alias(f"c{j}") for j in flagged)
    table.numeric = (table.cells.select("row")
                     .join(flags, on="row", how="left", maintain_order="left").drop("row"))
    return table


# xlsx through fastexcel: the sheet becomes Arrow text columns without a Python object per
# cell (1M rows × 13: about half the time calamine's values take). Which cells hold a number,
# the merged ranges and the hidden columns come from the bounds scan of the sheet's XML.

_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_MIDNIGHT = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00$"


@dataclass
class _FastSheet:
    name: str
    frame: pl.DataFrame  # String columns c0 …; frame row i is the sheet's row i + 1
    top: int  # the first row holding anything
    first_column: int  # 0-based sheet column of c0
    linked: set[int]
    head: list[list[str]]
    found: HeaderRows


def read_xlsx(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None,
              facts: WorkbookFacts) -> RawTable | None:
    """An xlsx read by fastexcel, or None when a sheet has no facts from the scan."""
    import fastexcel

    book, names = _open_book(lambda: fastexcel.read_excel(data))
    chosen = [spec.sheet] if spec.sheet and spec.sheet in names else names
    if any(name not in facts.numeric for name in chosen):
        return None
    best: _FastSheet | None = None
    for name in chosen:
        sheet = _load_fast(book, name, spec, mapping, facts)
        if best is None or sheet.found.found > best.found.found:
            best = sheet
    assert best is not None
    if best.frame.height == 0 or best.top >= best.frame.height:
        raise ReadError("文件中没有数据")
    notices = []
    if spec.sheet and best.name != spec.sheet:
        notices.append(f"未找到工作表“{shorten(spec.sheet)}”，已读取工作表“{shorten(best.name)}”")
    found = best.found
    width = _width(found)
    start = best.top + found.at + found.span
    body = best.frame.slice(start)
    body = body.select(
        *(pl.col(f"c{j}") if j < body.width else pl.lit(None, pl.String).alias(f"c{j}")
          for j in range(width)),
        (pl.int_range(pl.len(), dtype=pl.Int64) + start + 1).alias("row"))
    hidden = {c - best.first_column for c in facts.hidden_columns(best.name)}
    table = _shape(body, best.head, found, hidden=hidden, notices=notices)
    table.sheet = best.name
    flags = {j: _numeric_flags(table.cells, j, best.first_column, facts.numeric[best.name])
             for j in _numeric_columns(table.headers, spec, mapping) if j < width}
    # a number in an ID or date column is shown as Python writes it (3.41002…e+17): the
    # digits Arrow prints would pass for a whole ID
    table.cells = table.cells.with_columns(
        pl.when(pl.Series(flag)).then(pl.col(f"c{j}").map_elements(
            lambda v: _cell_text(float(v)), return_dtype=pl.String, skip_nulls=True))
        .otherwise(pl.col(f"c{j}")).alias(f"c{j}")
        for j, flag in flags.items() if flag.any())
    table.numeric = pl.DataFrame(list(flags.values()))
    return table


def _load_fast(book, name: str, spec: FeedSpec, mapping: dict[str, str] | None,  # noqa: ANN001
               facts: WorkbookFacts) -> _FastSheet:
    try:
        sheet = book.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        frame = sheet.to_polars()
        columns = sheet.available_columns()
        first_column = columns[0].absolute_index if columns else 0
    except BaseException as exc:  # fastexcel raises its own types, or panics, on damage
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ReadError(f"无法读取工作表“{shorten(name)}”（文件损坏）") from exc
    names = [f"c{j}" for j in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    frame = frame.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in names)
    midnight = [c for c in names if frame.get_column(c).str.ends_with(" 00:00:00").any()]
    frame = frame.with_columns(pl.col(c).str.replace(_MIDNIGHT, "${1}") for c in midnight)
    merges = facts.merges.get(name, [])
    frame = _fill_down(frame, merges, first_column)
    filled = frame.select(pl.any_horizontal(pl.all().is_not_null())).to_series() \
        if frame.width else pl.Series([], dtype=pl.Boolean)
    rows_with_content = filled.arg_true()
    top = int(rows_with_content[0]) if rows_with_content.len() else frame.height
    rows = [list(r) for r in frame.slice(top, HEADER_SCAN_ROWS).rows()]
    linked, across = _merge(rows, HEADER_SCAN_ROWS, merges, top, first_column)
    head = _texts(rows)
    for r0, r1, c0, c1 in across:
        for r in range(r0, r1 + 1):
            for c in range(c0 + 1, min(c1 + 1, len(head[r]))):
                head[r][c] = head[r][c] or head[r0][c0]
    found = find_header(head, spec, mapping, linked) if head else HeaderRows(0, 1, [], -1)
    return _FastSheet(name, frame, top, first_column, linked, head, found)


def _fill_down(frame: pl.DataFrame, merges: list, left: int) -> pl.DataFrame:
    """Values the file merges down a column, repeated into the empty cells below them."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for (r0, c0), (r1, _c1) in merges:
        if r1 > r0 and 0 <= c0 - left < frame.width and r0 < frame.height:
            spans.setdefault(c0 - left, []).append((r0, min(r1, frame.height - 1)))
    if not spans:
        return frame
    import numpy as np

    out = []
    for j, ranges in spans.items():
        source = np.arange(frame.height)
        for r0, r1 in ranges:
            source[r0 + 1:r1 + 1] = r0
        column = frame.get_column(f"c{j}")
        out.append(pl.coalesce(column, column.gather(source)).alias(f"c{j}"))
    return frame.with_columns(out)


def _numeric_flags(body: pl.DataFrame, j: int, first_column: int, codes) -> pl.Series:  # noqa: ANN001
    """Which of column j's cells the file stored as a number (a date cell is a number styled
    as a date: it reads as a date, not as a number)."""
    import numpy as np

    rows = body.get_column("row").to_numpy().astype(np.int64) - 1
    mine = rows * SHEET_COLUMNS + first_column + j
    at = np.minimum(np.searchsorted(codes, mine), max(codes.size - 1, 0))
    hit = (codes[at] == mine) if codes.size else np.zeros(mine.size, dtype=bool)
    looks = body.get_column(f"c{j}").str.contains(_NUMBER).fill_null(False).to_numpy()
    return pl.Series(f"c{j}", hit & looks, dtype=pl.Boolean)


def _columns(body: list[list[object]], width: int) -> list[list[object]]:
    """The body's first `width` columns (rows of a dense sheet are of one length; a shorter
    row is padded with empty cells)."""
    if body and min(map(len, body)) < width:
        body = [r + [None] * (width - len(r)) if len(r) < width else r for r in body]
    return [[r[j] for r in body] for j in range(width)]


def _column_text(col: list[object]) -> pl.Series:
    """A column's cells as text: a column of text cells (most of a department's file) passes
    to Polars whole; one holding numbers, dates or booleans goes through `_cell_text`."""
    if set(map(type, col)) <= {str, type(None)}:
        text = pl.Series(col, dtype=pl.String)
        return pl.select(pl.when(text != "").then(text)).to_series()
    return pl.Series([v if type(v) is str and v else _cell_text(v) for v in col],
                     dtype=pl.String)


def _column_numeric(col: list[object]) -> pl.Series:
    if not set(map(type, col)) & {int, float}:
        return pl.Series([False] * len(col), dtype=pl.Boolean)
    return pl.Series([type(v) in (int, float) for v in col], dtype=pl.Boolean)


def _numeric_columns(headers: list[str], spec: FeedSpec,
                     mapping: dict[str, str] | None) -> list[int]:
    """The columns of the fields that read the numeric flags (IDs, dates), as `field_cells`
    will match them."""
    found = match_headers(headers, spec, mapping)
    return sorted({found.columns[f.key] for f in spec.fields
                   if f.type in NUMERIC_TYPES and f.key in found.columns})


# ---------------------------------------------------------------------------------------------
# CSV / TXT


def read_csv(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None = None) -> RawTable:
    text, encoding = decode_text(data)
    notices = []
    if encoding == text_files.BOM_LIED:
        notices.append("文件开头标记为 UTF-8，内容实为 GBK/GB18030 编码，已按 GBK 读取")
    if "\x00" in text[:4096]:
        raise ReadError("文件含有二进制内容，不是 CSV 文本文件")
    lines = text_files.head_lines(text)
    separator = text_files.sniff_separator(lines)
    records = text_files.records(lines, separator)[:HEADER_SCAN_ROWS]
    if not any(any(c.strip() for c in cells) for _, cells in records):
        raise ReadError("文件中没有数据")
    head = [cells for _, cells in records]
    found = find_header(head, spec, mapping)
    width = _width(found)
    offset = sum(len(line) for line in lines[:records[found.at][0]])
    body = text[offset:]
    try:
        frame = pl.read_csv(body.encode("utf-8"), has_header=False, infer_schema=False,
                            separator=separator, quote_char='"', truncate_ragged_lines=False)
    except pl.exceptions.NoDataError as exc:
        raise ReadError("文件中没有数据") from exc
    except (pl.exceptions.PolarsError, PanicException) as exc:
        raise _csv_error(body, separator, found.at) from exc
    if frame.width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{frame.width} 列），请检查文件")
    frame = frame.rename({c: f"c{j}" for j, c in enumerate(frame.columns)})
    missing = [pl.lit(None, pl.String).alias(f"c{j}") for j in range(frame.width, width)]
    frame = (frame.slice(found.span)
             .select(*[pl.col(f"c{j}") for j in range(min(width, frame.width))], *missing)
             .with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + found.at + found.span + 1)
                           .alias("row")))
    table = _shape(frame, head, found, notices=notices)
    table.encoding = encoding
    return table


def _csv_error(body: str, separator: str, above: int) -> ReadError:
    width = len(next(iter(text_files.records(text_files.head_lines(body, 1), separator)),
                     (0, []))[1])
    wider = text_files.wider_record(body, separator, width) if width else None
    if wider is not None:
        return ReadError(f"CSV 格式错误：第 {wider[0] + above} 行有 {wider[1]} 列，多于表头的 "
                         f"{width} 列（可能有未加引号的逗号或多余的分隔符）")
    return ReadError("CSV 格式错误（引号不配对或列数不一致），请在 Excel 或 WPS 中打开检查后"
                     "另存为 CSV")


_PARQUET_PROBE = "import sys, polars; polars.read_parquet(sys.argv[1])"


def _probe_parquet(data: bytes) -> None:
    """Read the file once in a child process first: some damaged Parquet files make the
    Parquet reader abort the whole process (a 2⁶¹-byte allocation), which no `except` stops."""
    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as fh:
        fh.write(data)
        path = fh.name
    try:
        run = subprocess.run([sys.executable, "-c", _PARQUET_PROBE, path], capture_output=True,
                             timeout=600, env={**os.environ, "RUST_BACKTRACE": "0"})
    except subprocess.TimeoutExpired as exc:
        raise ReadError("读取 Parquet 文件超时，请检查文件") from exc
    finally:
        os.unlink(path)
    if run.returncode != 0:
        raise ReadError("无法读取 Parquet 文件（文件损坏或不是 Parquet 格式）")


def read_parquet(data: bytes) -> RawTable:
    if data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise ReadError("无法读取 Parquet 文件（文件损坏或不是 Parquet 格式）")
    _probe_parquet(data)
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (Exception, PanicException) as exc:  # a panic is a BaseException
        raise ReadError("无法读取 Parquet 文件（文件损坏或不是 Parquet 格式）") from exc
    if frame.width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{frame.width} 列），请检查文件")
    headers = list(frame.columns)
    text = [(pl.col(c).dt.strftime("%Y-%m-%d") if frame.schema[c] == pl.Date
             else pl.col(c).cast(pl.String)).alias(f"c{j}") for j, c in enumerate(headers)]
    try:
        cells = frame.select(*text)
    except pl.exceptions.PolarsError as exc:
        raise ReadError("Parquet 文件含有无法识别的列类型（如嵌套列），请导出为普通表格") from exc
    cells = cells.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("row"))
    cells = cells.filter(pl.any_horizontal(
        [pl.col(f"c{j}").str.strip_chars().str.len_chars() > 0 for j in range(len(headers))]
    ).fill_null(False)) if headers else cells
    _check_cell_length(cells, [f"c{j}" for j in range(len(headers))], headers)
    return RawTable(headers=[shorten(h, MAX_HEADER_CHARS) for h in headers], cells=cells)


def read_table(data: bytes, filename: str, spec: FeedSpec,
               mapping: dict[str, str] | None = None) -> RawTable:
    suffix = Path(filename).suffix.lower()
    if not data:
        raise ReadError("文件为空")
    if suffix in EXCEL_SUFFIXES:
        return read_excel(data, spec, mapping)
    if suffix in CSV_SUFFIXES:
        return read_csv(data, spec, mapping)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(data)
    raise ReadError(f"不支持的文件类型“{suffix or filename}”，请上传 Excel（xlsx/xls）、CSV 或 "
                    "Parquet 文件")


def _refuse_doubled(headers: list[str], found: HeaderMatch, spec: FeedSpec) -> None:
    """Two columns under one header a field takes: which holds the data cannot be known (a
    hidden out-of-date copy? — hidden columns are known only in xlsx and xls), so the file is
    refused rather than one of them guessed."""
    for key, n in found.columns.items():
        same = [j for j, h in enumerate(headers) if h and normalise_header(h) ==
                normalise_header(headers[n])]
        if len(same) > 1:
            where = "、".join(f"第 {j + 1} 列" for j in same[:5])
            raise ReadError(f"“{spec.field(key).label}”对应的列名“{shorten(headers[n])}”出现了 "
                            f"{len(same)} 次（{where}），无法确定用哪一列：请删除多余的列（如隐藏的"
                            "旧列）或改名后再导入")


def field_cells(table: RawTable, spec: FeedSpec,
                mapping: dict[str, str] | None = None) -> tuple[pl.DataFrame, HeaderMatch]:
    """The table's cells renamed to field keys (missing optional fields as null columns)."""
    found = match_headers(table.headers, spec, mapping)
    if not found.ok:
        labels = "、".join(spec.field(k).label for k in found.missing_required)
        shown = [h.strip() for h in table.headers if h.strip()]
        present = ("、".join(shown[:30]) + (f" 等 {len(shown)} 列" if len(shown) > 30 else "")
                   or "（无）")
        raise MissingColumns(f"缺少必填列：{labels}。文件中的列：{present}。"
                             "可在“列对应”中指定本部门的列名。",
                             [h for h in table.headers if h], list(found.missing_required))
    _refuse_doubled(table.headers, found, spec)
    exprs = [pl.col("row")]
    for f in spec.fields:
        n = found.columns.get(f.key)
        exprs.append((pl.col(f"c{n}") if n is not None else pl.lit(None, pl.String)).alias(f.key))
    return table.cells.select(exprs), found

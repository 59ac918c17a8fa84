"""Reading a department's file into text cells (读取文件): Excel (xlsx, xls via calamine), CSV
(UTF-8 with or without BOM, GBK/GB18030 detected) and Parquet.

Every cell becomes text exactly as the department wrote it (numbers Excel stored as numbers are
written back without a spurious ".0"; Excel dates as ISO dates), so that validation sees one
kind of input whatever the format. Blank rows are skipped. Errors are `ReadError` with a
Chinese message; nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from doudi.engine.feeds.feedspec import FeedSpec
from doudi.engine.feeds.headers import HeaderMatch, find_header_row, match_headers

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES
HEADER_SCAN_ROWS = 10
MAX_COLUMNS = 500
# calamine lays a sheet out as one dense block from its first to its last cell: one stray cell
# at XFD1048576 asks for 17 billion cells, and the failed allocation aborts the whole process.
MAX_SHEET_CELLS = 50_000_000


class ReadError(ValueError):
    """The file cannot be read as a table; the message says why, in Chinese."""


class MissingColumns(ReadError):
    """Required fields not found among the file's headers: the UI offers a column mapping."""

    def __init__(self, message: str, headers: list[str], missing: list[str]) -> None:
        super().__init__(message)
        self.headers = headers
        self.missing = missing


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


def _table(rows: list[list[object]], first_row_number: int, spec: FeedSpec,
           mapping: dict[str, str] | None) -> tuple[list[str], pl.DataFrame]:
    """Header row found among the first rows; the rest as text columns with row numbers."""
    if not rows:
        raise ReadError("文件中没有数据")
    head = [[_cell_text(c) or "" for c in r] for r in rows[:HEADER_SCAN_ROWS]]
    at = find_header_row(head, spec, mapping)
    headers = head[at]
    # Cells right of the last header are nobody's column (a stray note, a formula): ignored.
    width = max((j + 1 for j, h in enumerate(headers) if h.strip()), default=0)
    if width == 0:
        raise ReadError("未找到表头行（前 10 行均为空）")
    if width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{width} 列），请检查文件")
    headers = headers[:width]
    body = rows[at + 1:]
    columns = {f"c{j}": [(_cell_text(r[j]) if j < len(r) else None) for r in body]
               for j in range(width)}
    numeric = {f"n{j}": [j < len(r) and isinstance(r[j], (int, float))
                         and not isinstance(r[j], bool) for r in body] for j in range(width)}
    frame = pl.DataFrame(columns, schema={k: pl.String for k in columns})
    frame = frame.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row_number + at + 1).alias("row"),
        *[pl.Series(k, v, dtype=pl.Boolean) for k, v in numeric.items()])
    return headers, _drop_blank_rows(frame)


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    cells = [c for c in frame.columns if c.startswith("c")]
    if not cells:
        return frame
    filled = pl.any_horizontal([pl.col(c).str.strip_chars().str.len_chars() > 0 for c in cells])
    return frame.filter(filled.fill_null(False))


_CELL_REF = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_REF = re.compile(rb'<(?:[\w.-]+:)?row\b[^>]*?\sr="([0-9]{1,7})"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def check_excel_extent(data: bytes) -> None:
    """Refuse, before calamine reads it, a workbook whose sheet spans more than MAX_SHEET_CELLS
    (the cell references of each xlsx worksheet, scanned as it decompresses), and the zip
    spreadsheets whose extent is not checked here (ODS, xlsb). Legacy .xls is bounded by its
    format (65,536 × 256); a damaged zip is left to calamine to report."""
    if data[:2] != b"PK":
        return
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        names = book.namelist()
    # NotImplementedError: a central directory naming a zip version Python cannot read
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return
    if "content.xml" in names or any(n.startswith("xl/") and n.endswith(".bin") for n in names):
        raise ReadError("不支持 ODS 或 xlsb 格式的表格，请在 Excel 或 WPS 中另存为 xlsx 后再导入")
    for name in names:
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        rows = columns = 0
        try:
            with book.open(name) as fh:
                tail = b""
                while chunk := fh.read(1 << 22):
                    text = tail + chunk
                    for m in _CELL_REF.finditer(text):
                        columns = max(columns, _column_number(m[1]))
                        rows = max(rows, int(m[2]))
                    for m in _ROW_REF.finditer(text):
                        rows = max(rows, int(m[1]))
                    tail = text[-1024:]
        except Exception:  # a damaged member: what was read is checked, calamine reports the rest
            pass
        if rows * max(columns, 1) > MAX_SHEET_CELLS:
            raise ReadError(f"工作表范围过大（最后一个单元格在第 {rows} 行、第 {columns} 列），"
                            "请删除多余的行列后再导入")


def read_excel(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None = None) -> RawTable:
    from python_calamine import CalamineWorkbook

    check_excel_extent(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
    except (Exception, PanicException) as exc:  # calamine raises its own types for damage
        raise ReadError(f"无法读取 Excel 文件（文件损坏或不是 Excel 格式）：{exc}") from exc
    if not names:
        raise ReadError("Excel 文件中没有工作表")
    notices: list[str] = []
    if spec.sheet and spec.sheet in names:
        chosen = [spec.sheet]
    else:
        chosen = names
    best: tuple[int, str, list[list[object]]] | None = None
    for name in chosen:
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
        except Exception as exc:
            raise ReadError(f"无法读取工作表“{name}”：{exc}") from exc
        head = [[_cell_text(c) or "" for c in r] for r in rows[:HEADER_SCAN_ROWS]]
        found = max((len(match_headers(h, spec, mapping).columns) for h in head), default=0)
        if best is None or found > best[0]:
            best = (found, name, rows)
    assert best is not None
    _, name, rows = best
    if spec.sheet and name != spec.sheet:
        notices.append(f"未找到工作表“{spec.sheet}”，已读取工作表“{name}”")
    headers, cells = _table(rows, 1, spec, mapping)
    flags = [c for c in cells.columns if c.startswith("n")]
    numeric = cells.select(pl.col(flags).name.map(lambda c: "c" + c[1:]))
    return RawTable(headers=headers, cells=cells.drop(flags), sheet=name, notices=notices,
                    numeric=numeric)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not) first, then GB18030 (a superset of GBK/GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ReadError("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）") from exc


def read_csv(data: bytes, spec: FeedSpec, mapping: dict[str, str] | None = None) -> RawTable:
    try:
        text, encoding = decode_text(data)
    except UnicodeDecodeError as exc:
        raise ReadError("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）") from exc
    if "\x00" in text[:4096]:
        raise ReadError("文件含有二进制内容，不是 CSV 文本文件")
    first_line = text[:4096].split("\n", 1)[0]
    separator = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        frame = pl.read_csv(text.encode("utf-8"), has_header=False, infer_schema=False,
                            separator=separator, quote_char='"',
                            truncate_ragged_lines=False)
    except pl.exceptions.NoDataError as exc:
        raise ReadError("文件中没有数据") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError) as exc:
        raise ReadError(f"CSV 格式错误（列数不一致或引号不配对）：{str(exc)[:200]}") from exc
    if frame.width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{frame.width} 列），请检查文件")
    frame = frame.rename({c: f"c{j}" for j, c in enumerate(frame.columns)})
    head = frame.head(HEADER_SCAN_ROWS).rows()
    at = find_header_row([[c or "" for c in r] for r in head], spec, mapping)
    headers = [c or "" for c in head[at]] if head else []
    cells = frame.slice(at + 1).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + at + 2).alias("row"))
    return RawTable(headers=headers, cells=_drop_blank_rows(cells), encoding=encoding)


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
        raise ReadError(f"无法读取 Parquet 文件（文件损坏或不是 Parquet 格式）：{exc}") from exc
    if frame.width > MAX_COLUMNS:
        raise ReadError(f"列数过多（{frame.width} 列），请检查文件")
    headers = list(frame.columns)
    text = [(pl.col(c).dt.strftime("%Y-%m-%d") if frame.schema[c] == pl.Date
             else pl.col(c).cast(pl.String)).alias(f"c{j}") for j, c in enumerate(headers)]
    try:
        cells = frame.select(*text)
    except pl.exceptions.PolarsError as exc:
        raise ReadError(f"Parquet 文件含有无法识别的列类型：{exc}") from exc
    cells = cells.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("row"))
    return RawTable(headers=headers, cells=_drop_blank_rows(cells))


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


def field_cells(table: RawTable, spec: FeedSpec,
                mapping: dict[str, str] | None = None) -> tuple[pl.DataFrame, HeaderMatch]:
    """The table's cells renamed to field keys (missing optional fields as null columns)."""
    found = match_headers(table.headers, spec, mapping)
    if not found.ok:
        labels = "、".join(spec.field(k).label for k in found.missing_required)
        present = "、".join(h.strip() for h in table.headers if h.strip()) or "（无）"
        raise MissingColumns(f"缺少必填列：{labels}。文件中的列：{present}。"
                             "可在“列对应”中指定本部门的列名。",
                             [h for h in table.headers if h], list(found.missing_required))
    exprs = [pl.col("row")]
    for f in spec.fields:
        n = found.columns.get(f.key)
        exprs.append((pl.col(f"c{n}") if n is not None else pl.lit(None, pl.String)).alias(f.key))
    return table.cells.select(exprs), found

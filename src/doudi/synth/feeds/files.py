"""Writing a rendered feed as the department's files: CSV in its encoding, Parquet and, on
request, Excel (.xlsx). Byte-for-byte the same for the same frame: no timestamps, fixed
compression and row groups, a fixed workbook creation date and fixed zip entry times."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import polars as pl
import xlsxwriter

from doudi.core.checksums import sha256_file
from doudi.synth.feeds.layouts import FeedLayout
from doudi.synth.writer import ROW_GROUP_SIZE

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included
FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)  # workbook property, so reruns are identical
XLSX_OPTIONS = {
    "constant_memory": True,
    # Every cell is text: no formulas, links or numbers guessed from strings.
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}


def csv_bytes(rendered: pl.DataFrame, encoding: str) -> bytes:
    """The CSV as the department sends it: header row, LF line ends, quotes only where needed,
    in `encoding` ("utf-8-sig" writes the BOM, "gb18030" is encoded once from UTF-8)."""
    buffer = io.BytesIO()
    # An empty cell is written as nothing (Polars would quote an empty string as "").
    bare = rendered.select(pl.when(pl.col(h) != "").then(pl.col(h)).alias(h)
                           for h in rendered.columns)
    bare.write_csv(buffer, line_terminator="\n", quote_style="necessary", null_value="")
    data = buffer.getvalue()
    codec = encoding.lower().replace("_", "-")
    if codec == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    if codec in ("utf-8", "utf8"):
        return data
    return data.decode("utf-8").encode(encoding)


def sheet_names(base: str, rows: int) -> list[str]:
    """`base`, then "base(2)", "base(3)" … while the data rows exceed Excel's row limit."""
    per_sheet = EXCEL_MAX_ROWS - 1
    count = max(1, -(-rows // per_sheet))
    return [base] + [f"{base}({i})" for i in range(2, count + 1)]


def write_xlsx(rendered: pl.DataFrame, path: Path, sheet: str) -> None:
    """An .xlsx of text cells (IDs keep all 18 characters), bold header on every sheet."""
    # constant_memory keeps one row in memory; its temporary files go next to the output.
    workbook = xlsxwriter.Workbook(str(path), {**XLSX_OPTIONS, "tmpdir": str(path.parent)})
    try:
        workbook.set_properties({"created": FIXED_CREATED})
        bold = workbook.add_format({"bold": True})
        per_sheet = EXCEL_MAX_ROWS - 1
        for number, name in enumerate(sheet_names(sheet, rendered.height)):
            worksheet = workbook.add_worksheet(name)
            worksheet.write_row(0, 0, rendered.columns, bold)
            write_string = worksheet.write_string
            part = rendered.slice(number * per_sheet, per_sheet)
            for r, values in enumerate(part.iter_rows(), start=1):
                for c, value in enumerate(values):
                    if value:
                        write_string(r, c, value)
    finally:
        workbook.close()


def write_feed(rendered: pl.DataFrame, layout: FeedLayout, directory: Path,
               xlsx: bool = False, wrong_sheet: bool = False) -> dict[str, dict]:
    """Write `{file_stem}.csv`, `{file_stem}.parquet` and, when `xlsx`, `{file_stem}.xlsx`
    (sheet `layout.sheet`, or "Sheet1" when `wrong_sheet`) into `directory`. Returns
    {file name: {"rows": data rows, "sha256": hex}}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rendered = rendered.cast(pl.String)
    written: dict[str, dict] = {}

    csv_path = directory / f"{layout.file_stem}.csv"
    data = csv_bytes(rendered, layout.encoding)
    csv_path.write_bytes(data)
    written[csv_path.name] = {"rows": rendered.height, "sha256": hashlib.sha256(data).hexdigest()}

    parquet_path = directory / f"{layout.file_stem}.parquet"
    rendered.write_parquet(parquet_path, compression="zstd", compression_level=3,
                           statistics=True, row_group_size=ROW_GROUP_SIZE)
    written[parquet_path.name] = {"rows": rendered.height, "sha256": sha256_file(parquet_path)}

    if xlsx:
        xlsx_path = directory / f"{layout.file_stem}.xlsx"
        write_xlsx(rendered, xlsx_path, "Sheet1" if wrong_sheet else layout.sheet)
        written[xlsx_path.name] = {"rows": rendered.height, "sha256": sha256_file(xlsx_path)}
    return written

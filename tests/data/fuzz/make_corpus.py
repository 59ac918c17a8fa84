"""The malformed-file corpus thrown at every file import path (tests/test_fuzz_inputs.py).

Each import path reads its own columns, so the corpus is built from a header and a few good
rows of that path's layout; every entry is that table broken one way. `build()` returns
{file name: bytes} and is what the tests call; run as a script it writes one corpus (the
department vehicle feed's layout) into a directory to look at or to feed `doudi import`:

    python tests/data/fuzz/make_corpus.py OUT_DIR
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import polars as pl
import xlsxwriter


def xlsx(header: list[str], rows: list[list[object]], *, sheet: str = "Sheet1",
         build=None, before: str | None = None) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    if before is not None:  # an empty sheet (or a note) ahead of the data
        book.add_worksheet(before).write(0, 0, "说明：数据见下一工作表")
    ws = book.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        ws.write_row(i, 0, row)
    if build is not None:
        build(book, ws)
    book.close()
    return out.getvalue()


def _swap_shared_string(data: bytes, marker: str, replacement: str) -> bytes:
    """XlsxWriter caps a string at 32,767 characters; the shared string is swapped in the zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                content = content.replace(marker.encode(), replacement.encode())
            dst.writestr(item, content)
    return out.getvalue()


def ods_bomb(header: list[str]) -> bytes:
    """An OpenDocument sheet (a zip, read by calamine whatever its name) whose one repeated
    cell spans 6,000 × 6,000: laid out densely it is 36 million cells."""
    cells = "".join(f'<table:table-cell office:value-type="string"><text:p>{h}</text:p>'
                    "</table:table-cell>" for h in header)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="S">'
        f"<table:table-row>{cells}</table:table-row>"
        '<table:table-row table:number-rows-repeated="6000"><table:table-cell'
        ' table:number-columns-repeated="6000" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/"'
            ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            "</manifest:manifest>"))
        z.writestr("content.xml", content)
    return out.getvalue()


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",", end: str = "\n") -> str:
    return end.join(sep.join(r) for r in [header, *rows]) + end


def parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def build(header: list[str], rows: list[list[str]]) -> dict[str, bytes]:
    """The corpus for one layout: `header` and a few good `rows` (text cells)."""
    good_xlsx = xlsx(header, rows)
    good_csv = csv_text(header, rows)
    frame = pl.DataFrame({h: [r[j] for r in rows] for j, h in enumerate(header)},
                         schema={h: pl.String for h in header})
    good_parquet = parquet(frame)
    first = rows[0]
    formula_rows = [[*first[:-1], None], *rows[1:]]

    def formulas(book, ws) -> None:
        ws.write_formula(1, len(header) - 1, '=CONCATENATE("成","功")', None, "成功")
        ws.write_formula(len(rows) + 1, 0, "=1/0", None, "#DIV/0!")
        ws.write_formula(len(rows) + 2, 0, '=HYPERLINK("http://example.invalid","x")')

    big_marker = "@@BIG@@"
    wide_header = header + [f"列{i}" for i in range(10_000 - len(header))]
    corpus = {
        # Excel
        "empty.xlsx": b"",
        "truncated.xlsx": good_xlsx[: len(good_xlsx) // 2],
        "zip_not_xlsx.xlsx": _zip({"readme.txt": "这不是 Excel 文件"}),
        "formula.xlsx": xlsx(header, formula_rows, build=formulas),
        "huge_cell.xlsx": _swap_shared_string(
            xlsx(header, [[*first[:-1], big_marker], *rows[1:]]), big_marker, "品" * 350_000),
        "far_cell.xlsx": xlsx(header, rows, build=lambda book, ws: ws.write(1048575, 16383, "远")),
        "wide_row.xlsx": xlsx(header, rows, build=lambda book, ws: ws.write(1, 16383, "远")),
        "wrong_sheet.xlsx": xlsx(header, rows, sheet="其他表", before="说明"),
        "ods_bomb.xlsx": ods_bomb(header),
        "html.xls": ("<html><body><table>" + "".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in [header, *rows])
            + "</table></body></html>").encode("utf-8"),
        "ole_garbage.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00\xff" * 600,
        # CSV
        "empty.csv": b"",
        "gbk.csv": good_csv.encode("gbk"),
        "utf8_bom.csv": b"\xef\xbb\xbf" + good_csv.encode("utf-8"),
        "utf16.csv": good_csv.encode("utf-16"),
        "nul.csv": good_csv.encode("utf-8").replace(b",", b"\x00,", 2),
        "unbalanced_quotes.csv": csv_text(header, [['"' + first[0], *first[1:]], *rows[1:]])
        .encode(),
        "wide_10k.csv": csv_text(wide_header, [[*first, *["x"] * (len(wide_header) - len(first))]])
        .encode(),
        "long_field.csv": csv_text(header, [[*first[:-1], "长" * 1_000_000], *rows[1:]]).encode(),
        "mixed_line_endings.csv": (
            ",".join(header) + "\r\n" + ",".join(rows[0]) + "\r"
            + "\n".join(",".join(r) for r in rows[1:]) + "\n").encode(),
        "header_only.csv": (",".join(header) + "\n").encode(),
        "latin1.csv": csv_text(header, rows).encode("utf-8").replace("成".encode(), b"\xe9\xff"),
        "binary.csv": bytes(range(256)) * 8,
        # Parquet
        "truncated.parquet": good_parquet[: len(good_parquet) // 2],
        "not_parquet.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1",
        "wrong_schema.parquet": parquet(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})),
        "wrong_types.parquet": parquet(pl.DataFrame({
            h: (pl.Series(h, [[1, 2]] * len(rows)) if j % 3 == 0 else
                pl.Series(h, [1.5] * len(rows)) if j % 3 == 1 else
                pl.Series(h, [None] * len(rows), dtype=pl.Null))
            for j, h in enumerate(header)})),
    }
    return corpus


def _zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return out.getvalue()


VEHICLE_HEADER = ["号牌号码", "车辆类型", "机动车所有人", "身份证明号码", "中文品牌",
                  "初次登记日期", "机动车状态"]
VEHICLE_ROWS = [
    ["皖J00001", "小型轿车", "张三", "341002197001010011", "比亚迪", "2020-03-01", "正常"],
    ["皖J00002", "小型轿车", "李四", "341002197001020016", "吉利", "2021-05-01", "正常"]]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz-corpus")
    target.mkdir(parents=True, exist_ok=True)
    for name, data in build(VEHICLE_HEADER, VEHICLE_ROWS).items():
        (target / name).write_bytes(data)
    print(f"{len(build(VEHICLE_HEADER, VEHICLE_ROWS))} files in {target}")

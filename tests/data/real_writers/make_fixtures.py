"""Department files written by real writers (tests/exchange/test_real_writers.py).

The same 受灾户 table (应急, feed type `disaster_damage`) is laid out the way offices lay it
out — a merged title, a 填报单位/日期 line, a two-row merged header, 灾害种类 merged down over the
rows it applies to, a hidden column, a blank row, a 合计 line and the 制表人/审核人/“共 N 条记录”
lines at the bottom, a 说明 sheet in front — and written by:

- LibreOffice (headless), from a flat OpenDocument sheet (.fods) written here: xlsx, xls
  (BIFF8), CSV in UTF-8, GB18030 and semicolon-separated, and "Unicode text" (UTF-16LE,
  tab-separated, as Excel's "Unicode 文本" saves);
- xlwt (.xls) and XlsxWriter (.xlsx), each with its own variation of the layout.

The files are committed, so the suite does not need LibreOffice; run this to rebuild them
(LibreOffice's files only where `soffice` is installed):

    PYTHONPATH=src python tests/data/real_writers/make_fixtures.py [OUT_DIR]
"""

from __future__ import annotations

import datetime as dt
import html
import io
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
FEED = "disaster_damage"
TITLE = "屯溪区2026年6月自然灾害受灾人员核查表"


def person_id(n: int) -> str:
    from doudi.core import idnumber

    # born 1950 (no test household is), so nobody in a test registry
    return idnumber.make("341002", dt.date(1950, 3, 1) + dt.timedelta(days=37 * n), 30 + n,
                         "M" if n % 2 else "F")


def bad_check_digit(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@dataclass(frozen=True)
class Record:
    name: str
    id_number: str
    address: str
    disaster: str
    day: dt.date
    damage: str
    loss: float


# Groups of one disaster, each merged down its 灾害种类 cells; the fifth record's ID has a
# wrong check digit (one error line, on its sheet row).
RECORDS = [
    Record("汪建国", person_id(1), "黎阳镇黎阳社区12号", "洪涝", dt.date(2026, 6, 12), "倒塌",
           38500.0),
    Record("程秀兰", person_id(2), "黎阳镇汪村3组", "洪涝", dt.date(2026, 6, 12), "严重损坏",
           12000.5),
    Record("胡志强", person_id(3), "奕棋镇瑶干社区", "洪涝", dt.date(2026, 6, 13), "一般损坏",
           3600.0),
    Record("吴小梅", person_id(4), "屯光镇屯光村", "风雹", dt.date(2026, 6, 20), "一般损坏",
           850.0),
    Record("黄德胜", bad_check_digit(person_id(5)), "屯光镇篁墩村", "风雹", dt.date(2026, 6, 20),
           "倒塌", 42000.0),
    Record("方丽", person_id(6), "阳湖镇阳湖社区", "干旱", dt.date(2026, 6, 25), "无", 1200.0),
    Record("江海涛", person_id(7), "新潭镇新潭村", "洪涝", dt.date(2026, 6, 28), "严重损坏",
           9800.0),
    Record("叶春燕", person_id(8), "新潭镇龙湾村", "洪涝", dt.date(2026, 6, 28), "一般损坏",
           2100.0),
]
GROUPS = [(0, 3), (3, 5), (5, 6), (6, 8)]  # [start, end) of each merged 灾害种类
TOTAL_LOSS = sum(r.loss for r in RECORDS)

# A cell: text, a number, a date, or None (blank); merges: (row, col, last row, last col).
Cell = str | float | int | dt.date | None


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell]]
    merges: list[tuple[int, int, int, int]]
    hidden: tuple[int, ...] = ()


def layout(old_ids: bool = True) -> Sheet:
    """The full office layout. Columns: 序号 | (hidden) 户主身份证号, an out-of-date copy |
    户主: 姓名 身份证号 | 家庭住址 | 受灾情况: 灾害种类 受灾日期 房屋损毁情况 直接经济损失(元).
    Without `old_ids` the hidden column is dropped (a text file cannot hide a column)."""
    if not old_ids:
        sheet = layout()
        return Sheet(sheet.name, [r[:1] + r[2:] for r in sheet.rows],
                     [(r0, c0 - (c0 > 1), r1, c1 - (c1 >= 1)) for r0, c0, r1, c1 in sheet.merges
                      if (c0, c1) != (1, 1)])
    width = 9
    rows: list[list[Cell]] = [
        [TITLE] + [None] * (width - 1),
        ["填报单位：屯溪区应急管理局", None, None, None, None, "填报日期：2026年7月1日",
         None, None, None],
        ["序号", "户主身份证号", "户主", None, "家庭住址", "受灾情况", None, None, None],
        [None, None, "姓名", "身份证号", None, "灾害种类", "受灾日期", "房屋损毁情况",
         "直接经济损失(元)"],
    ]
    merges = [(0, 0, 0, width - 1), (1, 0, 1, 4), (1, 5, 1, 8), (2, 0, 3, 0), (2, 1, 3, 1),
              (2, 2, 2, 3), (2, 4, 3, 4), (2, 5, 2, 8)]
    first = len(rows)
    for n, r in enumerate(RECORDS, start=1):
        rows.append([n, "已作废", r.name, r.id_number, r.address, r.disaster, r.day, r.damage,
                     r.loss])
    for start, end in GROUPS:
        for i in range(start + 1, end):
            rows[first + i][5] = None  # the merged cell's value lives in its first row only
        if end - start > 1:
            merges.append((first + start, 5, first + end - 1, 5))
    rows.append([None] * width)
    rows.append(["合计", None, None, None, None, None, None, None, TOTAL_LOSS])
    merges.append((len(rows) - 1, 0, len(rows) - 1, 7))
    rows.append(["制表人：李明", None, None, None, "审核人：王芳", None, None, None, None])
    rows.append([f"共 {len(RECORDS)} 条记录"] + [None] * (width - 1))
    return Sheet("受灾户", rows, merges, hidden=(1,))


COVER = Sheet("说明", [["填表说明"], ["1. 每户一行，户主身份证号须为18位。"],
                      ["2. 金额单位为元。"]], [])


# ---------------------------------------------------------------------------------------------
# flat OpenDocument (.fods), the source LibreOffice converts


def _fods_cell(value: Cell, spans: tuple[int, int] | None) -> str:
    attrs = ""
    if spans:
        attrs = f' table:number-rows-spanned="{spans[0]}" table:number-columns-spanned="{spans[1]}"'
    if value is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(value, dt.date):
        return (f'<table:table-cell{attrs} table:style-name="date" office:value-type="date" '
                f'office:date-value="{value.isoformat()}"><text:p>{value.isoformat()}</text:p>'
                "</table:table-cell>")
    if isinstance(value, (int, float)):
        return (f'<table:table-cell{attrs} office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    return (f'<table:table-cell{attrs} office:value-type="string"><text:p>'
            f"{html.escape(value)}</text:p></table:table-cell>")


def fods(sheets: list[Sheet]) -> str:
    tables = []
    for sheet in sheets:
        width = max(len(r) for r in sheet.rows)
        origin = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in sheet.merges}
        covered = {(r, c) for r0, c0, r1, c1 in sheet.merges
                   for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)} - set(origin)
        columns = "".join('<table:table-column table:visibility="collapse"/>'
                          if c in sheet.hidden else "<table:table-column/>" for c in range(width))
        body = []
        for r, row in enumerate(sheet.rows):
            cells = [("<table:covered-table-cell/>" if (r, c) in covered else
                      _fods_cell(row[c] if c < len(row) else None, origin.get((r, c))))
                     for c in range(width)]
            body.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
        tables.append(f'<table:table table:name="{sheet.name}">{columns}{"".join(body)}'
                      "</table:table>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
        ' xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"'
        ' office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        '<office:styles><number:date-style style:name="iso"><number:year number:style="long"/>'
        '<number:text>-</number:text><number:month number:style="long"/><number:text>-'
        '</number:text><number:day number:style="long"/></number:date-style></office:styles>'
        '<office:automatic-styles><style:style style:name="date" style:family="table-cell"'
        ' style:data-style-name="iso"/></office:automatic-styles>'
        f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body>'
        "</office:document>")


# LibreOffice's CSV filter options: separator, quote, character set (76 UTF-8, 85 GB18030,
# 65535 UTF-16LE with BOM)
LIBREOFFICE = {
    "libreoffice.xlsx": ("book", "xlsx"),
    "libreoffice.xls": ("book", "xls:MS Excel 97"),
    "libreoffice_utf8.csv": ("sheet", "csv:Text - txt - csv (StarCalc):44,34,76"),
    "libreoffice_hidden_column.csv": ("hidden", "csv:Text - txt - csv (StarCalc):44,34,76"),
    "libreoffice_gb18030.csv": ("sheet", "csv:Text - txt - csv (StarCalc):44,34,85"),
    "libreoffice_semicolon.csv": ("sheet", "csv:Text - txt - csv (StarCalc):59,34,76"),
    "libreoffice_unicode.txt": ("sheet", "csv:Text - txt - csv (StarCalc):9,34,65535"),
}


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice(out: Path) -> list[str]:
    program = soffice()
    if program is None:
        return []
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = {"book": [COVER, layout()], "sheet": [layout(old_ids=False)],
                   "hidden": [layout()]}
        for stem, sheets in sources.items():
            (work / f"{stem}.fods").write_text(fods(sheets), encoding="utf-8")
        for name, (stem, target) in LIBREOFFICE.items():
            dest = work / name.replace(".", "_")
            subprocess.run([program, "--headless", f"-env:UserInstallation=file://{work}/profile",
                            "--convert-to", target, "--outdir", str(dest),
                            str(work / f"{stem}.fods")],
                           check=True, capture_output=True, timeout=180)
            (made,) = list(dest.iterdir())
            shutil.copyfile(made, out / name)
            written.append(name)
    return written


# ---------------------------------------------------------------------------------------------
# xlwt (.xls) and XlsxWriter (.xlsx)


def xlwt_book() -> bytes:
    """No title; a 说明 sheet first; a one-row header; 灾害种类 merged down; a 小计 after each
    group is not written, but a 填表人 and a 填报日期 line close the sheet."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    cover = book.add_sheet("说明")
    for r, row in enumerate(COVER.rows):
        cover.write(r, 0, row[0])
    ws = book.add_sheet("Sheet2")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    header = ["户主姓名", "身份证号码", "家庭住址", "灾害种类", "受灾日期", "房屋损毁情况",
              "直接经济损失（元）", "备注"]
    for c, h in enumerate(header):
        ws.write(0, c, h)
    for start, end in GROUPS:
        if end - start > 1:
            ws.write_merge(1 + start, end, 3, 3, RECORDS[start].disaster)
        else:
            ws.write(1 + start, 3, RECORDS[start].disaster)
    for i, r in enumerate(RECORDS, start=1):
        ws.write(i, 0, r.name)
        ws.write(i, 1, r.id_number)
        ws.write(i, 2, r.address)
        ws.write(i, 4, r.day, date)
        ws.write(i, 5, r.damage)
        ws.write(i, 6, r.loss)
        ws.write(i, 7, "已签字" if i == len(RECORDS) else "")
    n = len(RECORDS) + 2
    ws.write(n, 0, "填表人：汪涛")
    ws.write(n, 3, "联系电话：0559-1234567")
    ws.write(n + 1, 0, "填报日期：2026年7月2日")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsxwriter_book() -> bytes:
    """A title and a 填报单位 line; a two-row header whose 户主 is merged over 姓名/身份证号 and
    whose other cells are merged down; a hidden column with an out-of-date copy of the IDs
    before the real one; a 小计 line after each disaster; 灾害种类 merged down."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet("受灾户")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range(0, 0, 0, 7, TITLE)
    ws.write(1, 0, "填报单位（盖章）：屯溪区应急管理局")
    ws.merge_range(2, 0, 3, 0, "户主身份证号")
    ws.merge_range(2, 1, 2, 2, "户主")
    ws.write_row(3, 1, ["姓名", "身份证号"])
    for c, h in enumerate(["家庭住址", "灾害种类", "受灾日期", "房屋损毁情况", "直接经济损失(元)"],
                          start=3):
        ws.merge_range(2, c, 3, c, h)
    ws.set_column(0, 0, None, None, {"hidden": True})
    r = 4
    for start, end in GROUPS:
        first = r
        for rec in RECORDS[start:end]:
            ws.write_row(r, 0, ["34100219000101000X", rec.name, rec.id_number, rec.address])
            ws.write_datetime(r, 5, dt.datetime.combine(rec.day, dt.time()), date)
            ws.write(r, 6, rec.damage)
            ws.write_number(r, 7, rec.loss)
            r += 1
        if end - start > 1:
            ws.merge_range(first, 4, r - 1, 4, RECORDS[start].disaster)
        else:
            ws.write(first, 4, RECORDS[start].disaster)
        ws.write(r, 1, "小计")
        ws.write_number(r, 7, sum(x.loss for x in RECORDS[start:end]))
        r += 1
    ws.write(r, 1, "合  计")
    ws.write_number(r, 7, TOTAL_LOSS)
    ws.write(r + 2, 0, "经办人：")
    ws.write(r + 2, 3, "审核人：")
    book.close()
    return out.getvalue()


def build(out: Path = HERE) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "xlwt.xls").write_bytes(xlwt_book())
    (out / "xlsxwriter.xlsx").write_bytes(xlsxwriter_book())
    return ["xlwt.xls", "xlsxwriter.xlsx", *libreoffice(out)]


if __name__ == "__main__":
    names = build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print("\n".join(names))

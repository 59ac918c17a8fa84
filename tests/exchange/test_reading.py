"""Reading department files (exchange.readers): encodings and separators, merges filled only
where the file merges, bounds checked before calamine reads a spreadsheet, and every refusal in
Chinese — never a library's English message — with a failed job storing only a little text."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import pytest
import xlsxwriter

from doudi.core import idnumber
from doudi.exchange import sheet_bounds
from doudi.exchange.imports import bounded_counts, import_bytes
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.exchange.readers import ReadError, field_cells, read_table
from doudi.exchange.sheet_bounds import _Scan, check_spreadsheet
from doudi.exchange.text_files import decode_text, head_lines, sniff_separator
from tests.data.real_writers.make_fixtures import HERE as FIXTURES
from tests.exchange.test_fuzz import HEADERS

# the English a message may name: formats and encodings, nothing a library wrote
ALLOWED_LATIN = {"CSV", "Excel", "UTF", "GBK", "GB18030", "BOM", "WPS", "xlsx", "xls", "ODS",
                 "xlsb", "Parquet", "MB", "TXT", "GB"}


def chinese_only(message: str) -> bool:
    words = set(re.findall(r"[A-Za-z]{2,}", message)) - ALLOWED_LATIN
    return bool(re.search(r"[\u4e00-\u9fff]", message)) and not words


def spec():
    from doudi.engine.feeds.feedspec import parse_spec
    from doudi.exchange.feed_types import shipped_documents

    return parse_spec(next(d for d in shipped_documents() if d["key"] == "vehicle"))


def vid(n: int) -> str:
    return idnumber.make("341002", __import__("datetime").date(1960, 1, 1)
                         + __import__("datetime").timedelta(days=53 * n), n, "F")


def records(n: int) -> list[list[str]]:
    brands = ["比亚迪", "吉利", "奇瑞, 江淮", "长安“星光”", "五菱"]  # a comma, quotes inside
    return [[f"皖J{n:05d}", "小型轿车", f"用户{n}", vid(n), brands[n % 5],
             f"20{10 + n % 15}-0{1 + n % 9}-1{n % 10}", "正常"] for n in range(n)]


def delimited(rows: list[list[str]], sep: str, title: bool = True) -> str:
    def cell(c: str) -> str:
        return f'"{c.replace(chr(34), chr(34) * 2)}"' if any(x in c for x in (sep, '"')) else c

    lines = (["机动车登记信息" + sep * 6, "填报单位：车管所" + sep * 6] if title else [])
    lines += [sep.join(cell(c) for c in r) for r in [HEADERS, *rows]]
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------------------------
# encodings and separators


ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8 BOM": lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    "GBK": lambda t: t.encode("gbk"),
    "GB18030": lambda t: t.encode("gb18030"),
    "UTF-16LE BOM": lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    "UTF-16BE BOM": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "UTF-8 BOM, GBK body": lambda t: b"\xef\xbb\xbf" + t.encode("gbk"),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("n", [1, 7])
def test_every_encoding_and_separator_reads_the_same_cells(encoding, sep, n):
    rows = records(n)
    table = read_table(ENCODINGS[encoding](delimited(rows, sep)), "车管.csv", spec())
    cells, _ = field_cells(table, spec())
    assert cells.drop("row").rows() == [tuple(r) for r in rows]
    assert cells["row"].to_list() == list(range(4, 4 + n))  # title and 填报单位 lines above
    assert any("已忽略表头上方 2 行" in x for x in table.notices)
    lied = encoding == "UTF-8 BOM, GBK body"
    assert any("实为 GBK" in x for x in table.notices) == lied


def test_excel_unicode_text_is_utf16le_with_tabs():
    text = delimited(records(3), "\t", title=False)
    table = read_table(b"\xff\xfe" + text.encode("utf-16-le"), "导出.txt", spec())
    assert table.encoding == "utf-16-le" and len(table.cells) == 3


def test_separator_sniffing_ignores_separators_inside_quotes():
    lines = head_lines('a;b;c\n"1,2,3,4";x;y\n"5,6";z;w\n')
    assert sniff_separator(lines) == ";"
    assert sniff_separator(head_lines("a\tb,c\td\n1\t2,3\t4\n")) == "\t"


def test_a_gbk_body_behind_a_utf8_bom_is_decoded_as_gbk():
    body = "号牌号码,机动车所有人\n皖J1,张三\n".encode("gbk")
    text, encoding = decode_text(b"\xef\xbb\xbf" + body)
    assert text.startswith("号牌号码") and encoding == "utf-8-bom+gb18030"


# ---------------------------------------------------------------------------------------------
# broken files: Chinese messages only


def _xlsx(build) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    build(book, book.add_worksheet("机动车"))
    book.close()
    return out.getvalue()


GOOD_CSV = delimited(records(4), ",").encode()
BROKEN = {
    "ragged.csv": delimited(records(4), ",").replace("正常\r\n", "正常,多,余\r\n", 1).encode(),
    "quote.csv": GOOD_CSV.replace("用户1".encode(), '"用户1'.encode()),
    "utf16_odd.csv": b"\xff\xfe" + "号牌号码".encode("utf-16-le") + b"\x00",
    "latin.csv": "plate;Müller\n".encode("latin-1") + bytes(range(128, 256)),
    "truncated.xlsx": _xlsx(lambda b, ws: ws.write_row(0, 0, HEADERS))[:900],
    "garbage.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,
    "zip_of_text.xlsx": (lambda: (lambda o: (zipfile.ZipFile(o, "w").writestr("a.txt", "x"),
                                             o.getvalue())[1])(io.BytesIO()))(),
    "empty_sheet.xlsx": _xlsx(lambda b, ws: None),
    "no_header.csv": b"1,2,3\n4,5,6\n",
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_files_are_refused_in_chinese(name):
    with pytest.raises(ReadError) as caught:
        table = read_table(BROKEN[name], name, spec())
        field_cells(table, spec())
    assert chinese_only(str(caught.value)), str(caught.value)


def test_a_ragged_line_is_named_by_its_row():
    with pytest.raises(ReadError, match="第 4 行有 9 列，多于表头的 7 列"):
        read_table(BROKEN["ragged.csv"], "r.csv", spec())


# ---------------------------------------------------------------------------------------------
# merges: filled down only where the file merges; rows as the sheet numbers them


def test_merged_cells_fill_down_and_unmerged_blanks_stay_blank():
    rows = records(5)

    def build(book, ws):
        ws.write_row(2, 2, HEADERS)  # the table starts at C3: row and column offsets
        for i, r in enumerate(rows):
            ws.write_row(3 + i, 2, [None if i < 4 and j == 1 else c for j, c in enumerate(r)])
        ws.merge_range(3, 3, 5, 3, "重型货车")  # 车辆类型 for the first three records
        # the fourth record's 车辆类型: blank, not merged

    table = read_table(_xlsx(build), "m.xlsx", spec())
    cells, _ = field_cells(table, spec())
    assert cells["vehicle_type"].to_list() == ["重型货车"] * 3 + [None, "小型轿车"]
    assert cells["row"].to_list() == [4, 5, 6, 7, 8]
    assert cells["plate"].to_list() == [r[0] for r in rows]


def test_a_horizontal_merge_among_records_is_not_copied_across():
    rows = records(3)

    def build(book, ws):
        ws.write_row(0, 0, HEADERS)
        for i, r in enumerate(rows):
            ws.write_row(1 + i, 0, [None if (i, j) == (1, 5) else c for j, c in enumerate(r)])
        ws.merge_range(2, 4, 2, 5, "比亚迪")  # 中文品牌 merged over 初次登记日期

    cells, _ = field_cells(read_table(_xlsx(build), "h.xlsx", spec()), spec())
    assert cells["registered_on"].to_list()[1] is None


# ---------------------------------------------------------------------------------------------
# bounds, before calamine


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _with_member(base: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(base)) as src:
        members = {i.filename: src.read(i.filename) for i in src.infolist()}
    members[name] = content
    return _zip(members)


BASE = _xlsx(lambda b, ws: [ws.write_row(0, 0, HEADERS), ws.write_row(1, 0, records(1)[0])])


def test_a_100mb_shared_string_in_a_small_file_is_refused_at_once():
    bomb = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main" count="1" uniqueCount="1"><si><t>' + b"A" * 100_000_000
            + b"</t></si></sst>")
    data = _with_member(BASE, "xl/sharedStrings.xml", bomb)
    assert len(data) < 200_000
    started = time.perf_counter()
    with pytest.raises(ReadError, match="内容过长") as caught:
        read_table(data, "bomb.xlsx", spec())
    assert time.perf_counter() - started < 20
    assert chinese_only(str(caught.value))


def test_member_and_total_sizes_are_bounded(monkeypatch):
    monkeypatch.setattr(sheet_bounds, "MAX_SHARED_STRINGS_BYTES", 1 << 20)
    many = b"<sst>" + b"<si><t>x</t></si>" * 70_000 + b"</sst>"  # 1.2 MB of small strings
    with pytest.raises(ReadError, match=r"sharedStrings\.xml.*解压后超过 1 MB"):
        check_spreadsheet(_with_member(BASE, "xl/sharedStrings.xml", many))
    monkeypatch.setattr(sheet_bounds, "MAX_UNZIPPED_BYTES", 64 * 1024)
    with pytest.raises(ReadError, match="全部内容解压后超过"):
        check_spreadsheet(_with_member(BASE, "docProps/custom.xml", b"<a/>" * 20_000))


def test_too_many_members_are_refused():
    with pytest.raises(ReadError, match="内部文件过多"):
        check_spreadsheet(_zip({f"xl/media/{n}.xml": b"<a/>" for n in range(2_001)}))


@pytest.mark.parametrize(("xml", "rows", "columns"), [
    (b'<row r="7"><c r="AB12" t="s"><v>1</v></c><c r="C3"/></row>', 12, 28),
    (b'<c r="XFD1048576"><v>1</v></c>', 1_048_576, 16_384),
    (b'<row r="1048576" spans="1:3"><c r="A5"/></row>', 1_048_576, 1),
    (b'<c r="ZZZ1"/><c r="B999999999999"/>', 10 ** 9, 18_278),
    (b'<c s="1" t="s" r="Q77"><v>0</v></c>', 77, 17),
])
def test_the_extent_scan_reads_every_reference(xml, rows, columns):
    scan = _Scan(refs=True)
    scan.feed(xml + b" " * 40)
    assert (scan.rows, scan.columns) == (rows, columns)


def test_a_sparse_sheet_past_the_cell_bound_is_refused():
    sheet = (b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
             b'<row r="2000000"><c r="M2000000"><v>1</v></c></row></sheetData></worksheet>')
    with pytest.raises(ReadError, match="范围过大（最后一个单元格在第 2000000 行、第 13 列）"):
        check_spreadsheet(_with_member(BASE, "xl/worksheets/sheet1.xml", sheet))


def _xls(cells: dict[tuple[int, int], str]) -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("机动车")
    for (r, c), value in cells.items():
        sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_mostly_empty_sheet_is_refused_before_it_is_laid_out():
    # 5.6 KB of .xls whose stray cell at IV65536 makes calamine lay out 16.7 million cells
    # (about 1 GB in the worker); an xlsx likewise
    stray = _xls({(0, 0): "号牌号码", (65_535, 255): "远"})
    with pytest.raises(ReadError, match="几乎是空的：范围 65536 行 × 256 列，只有 2 个单元格"):
        read_table(stray, "stray.xls", spec())
    sheet = (b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
             b'<row r="400000"><c r="L400000"><v>1</v></c></row></sheetData></worksheet>')
    with pytest.raises(ReadError, match="几乎是空的"):
        check_spreadsheet(_with_member(BASE, "xl/worksheets/sheet1.xml", sheet))
    # a dense sheet of the same extent is not refused (cells counted, not guessed)
    dense = b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>1</v></c>' % (c, r)
                                                     for c in (b"A", b"B", b"C", b"L"))
                     + b"</row>" for r in range(1, 400_001))
    check_spreadsheet(_with_member(BASE, "xl/worksheets/sheet1.xml",
                                   b"<worksheet><sheetData>" + dense + b"</sheetData></worksheet>"))


def test_the_extent_of_an_xls_is_read_from_its_records():
    from doudi.exchange.xls_columns import scan

    facts = scan(_xls({(0, 0): "a", (0, 3): "b", (9, 1): "c"}))
    assert facts.extents["机动车"] == (10, 4, 3)


def test_an_xls_past_its_size_bound_is_refused(monkeypatch):
    data = (FIXTURES / "xlwt.xls").read_bytes()
    assert check_spreadsheet(data).hidden == {}
    monkeypatch.setattr(sheet_bounds, "MAX_XLS_BYTES", len(data) - 1)
    with pytest.raises(ReadError, match="xls 文件过大"):
        check_spreadsheet(data)


def test_hidden_columns_of_xls_and_xlsx():
    assert check_spreadsheet((FIXTURES / "libreoffice.xls").read_bytes()).hidden["受灾户"] == [
        (1, 1)]
    assert check_spreadsheet((FIXTURES / "xlsxwriter.xlsx").read_bytes()).hidden["受灾户"] == [
        (0, 0)]


# ---------------------------------------------------------------------------------------------
# a failed job stores a little text, whatever the file


@pytest.mark.django_db
def test_a_failed_job_stores_a_bounded_message_and_counts(shipped_feed_types, settings, tmp_path):
    settings.EXCHANGE_DIR = tmp_path / "exchange"
    feed = FeedType.objects.get(key="vehicle")
    headers = [f"列{j}" + "长" * 30_000 for j in range(400)]  # 12M characters of headers
    data = (",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n").encode()
    out = import_bytes(feed, data, "wide.csv", user=None, channel="cli")
    assert out.status == ImportJob.FAILED and "缺少必填列" in out.message
    job = ImportJob.objects.get(pk=out.job.pk)
    assert len(job.message) <= 1_000
    assert len(json.dumps(job.counts, ensure_ascii=False)) <= 8_200
    assert job.counts["missing"] and job.counts["headers"][0].startswith("列0长")
    assert FeedBatch.objects.count() == 0


def test_bounded_counts_keeps_small_counts_whole():
    counts = {"rows": 3, "good": 2, "errors": 1}
    assert bounded_counts(counts) == counts
    big = bounded_counts({"headers": ["头" * 100] * 10_000, "missing": ["plate"]})
    assert len(json.dumps(big, ensure_ascii=False)) <= 8_200 and big["missing"] == ["plate"]


def _numbers(scan: _Scan) -> set[tuple[int, int]]:
    from doudi.exchange.sheet_bounds import SHEET_COLUMNS

    return {(int(c) // SHEET_COLUMNS, int(c) % SHEET_COLUMNS) for c in scan.numeric_codes()}


@pytest.mark.parametrize("chunk", [7, 13, 64, 10_000])
def test_the_scan_notes_which_cells_hold_a_number_across_chunks(chunk):
    xml = (b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="2"><v>3.41E+17</v>'
           b'</c><c r="C1" t="n"><v>5</v></c><c r="D1" s="1"/><c r="G1" s="1"></c>'
           b'<c r="E1" t="inlineStr"><is><t>'
           b' r="F9"</t></is></c></row><row r="2"><x:c r="AB2"><x:v>1</x:v></x:c>'
           b'<c t="str" r="C2"><f>A1</f><v>12</v></c><c\nr="D2"\ns="1"><v>45000</v></c></row>'
           b'</sheetData>')
    scan = _Scan(refs=True)
    for i in range(0, len(xml), chunk):
        scan.feed(xml[i:i + chunk])
    # B1 (a number), C1 (t="n"), AB2 (a prefixed element), D2 (a date is a styled number);
    # not D1 or G1 (empty: styled cells with no value, as under a merged cell), A1 or E1 (text),
    # C2 (a formula's text), nor F9 (words inside a text)
    assert _numbers(scan) == {(0, 1), (0, 2), (1, 27), (1, 3)}


@pytest.mark.parametrize("chunk", [5, 11, 100_000])
@pytest.mark.parametrize("prefix", [b"", b"x:"])
def test_the_scan_finds_the_merges_after_the_data(chunk, prefix):
    p = prefix
    xml = (b"<" + p + b'sheetData><' + p + b'row r="1"><' + p + b'c r="A1" t="s"><' + p
           + b'v>0</' + p + b'v></' + p + b'c></' + p + b'row></' + p + b'sheetData><' + p
           + b'mergeCells count="2"><' + p + b'mergeCell ref="A1:E1"/><' + p
           + b'mergeCell ref="B3:B9"/></' + p + b'mergeCells>')
    scan = _Scan(refs=True)
    for i in range(0, len(xml), chunk):
        scan.feed(xml[i:i + chunk])
    from doudi.exchange.sheet_bounds import _merges

    assert _merges(bytes(scan.after)) == [((0, 0), (0, 4)), ((2, 1), (8, 1))]

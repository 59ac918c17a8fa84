"""Malformed department files thrown at `import_bytes` (the shipped feed type "vehicle").

Whatever the file, nothing escapes: the import either fails with a Chinese message and leaves
no batch (no FeedBatch row, no file under batches/, no tmp file), or it is done and the batch's
counts add up (good + errors + duplicates == rows). Random bytes and truncations come from
hypothesis; the rest are hand-made from valid files built here with XlsxWriter and Polars."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.core import idnumber
from doudi.engine.feeds.cells import ID_EXCEL
from doudi.exchange.imports import batch_rows, import_bytes, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob

pytestmark = pytest.mark.django_db

# DOUDI_FUZZ_EXAMPLES=2000 for a longer hunt; the suite keeps it small.
FUZZ = settings(max_examples=int(os.environ.get("DOUDI_FUZZ_EXAMPLES", "30")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
HEADERS = ["号牌号码", "车辆类型", "机动车所有人", "身份证明号码", "中文品牌", "初次登记日期",
           "机动车状态"]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def vid(n: int) -> str:
    return idnumber.make("341002", dt.date(1970, 1, 1) + dt.timedelta(days=97 * n), n, "M")


def body(n: int = 5) -> list[list[str]]:
    return [[f"皖J{n:05d}", "小型轿车", f"张{n}", vid(n), "比亚迪", f"2020-0{1 + n % 9}-1{n % 10}",
             "正常"] for n in range(n)]


ROWS = body()


def xlsx(rows: list[list[object]] | None = None, headers: list[str] | None = HEADERS,
         sheet: str = "机动车", build=None) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    r = 0
    if headers is not None:
        ws.write_row(0, 0, headers)
        r = 1
    for i, row in enumerate(ROWS if rows is None else rows):
        ws.write_row(r + i, 0, row)
    if build is not None:
        build(book, ws)
    book.close()
    return out.getvalue()


def csv_text(rows: list[list[str]] | None = None, headers: list[str] = HEADERS) -> str:
    lines = [",".join(headers)] + [",".join(r) for r in (ROWS if rows is None else rows)]
    return "\n".join(lines) + "\n"


def parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def base_frame(rows: list[list[str]] | None = None) -> pl.DataFrame:
    rows = ROWS if rows is None else rows
    return pl.DataFrame([list(c) for c in zip(*rows, strict=True)] if rows else None,
                        schema={h: pl.String for h in HEADERS}, orient="col")


BASE_XLSX = xlsx()
BASE_CSV = csv_text().encode("utf-8")
BASE_PARQUET = parquet(base_frame())


@pytest.fixture
def vehicle(db, settings, tmp_path):
    settings.EXCHANGE_DIR = tmp_path / "exchange"
    return FeedType.objects.get(key="vehicle")


def files_under(root: Path, name: str) -> set[Path]:
    where = root / name
    return {p for p in where.rglob("*") if p.is_file()} if where.exists() else set()


def check(feed: FeedType, data: bytes, filename: str):
    """Import and assert the invariants; return the outcome."""
    from django.conf import settings as dj

    root = Path(dj.EXCHANGE_DIR)
    batches_before = FeedBatch.objects.count()
    files_before = files_under(root, "batches")
    out = import_bytes(feed, data, filename, user=None, channel="cli")
    assert out.status in (ImportJob.DONE, ImportJob.FAILED, ImportJob.DUPLICATE), out.status
    assert out.message and CHINESE.search(out.message), out.message
    assert out.job is not None and out.job.status == out.status
    assert not files_under(root, "tmp"), "tmp file left behind"
    if out.status == ImportJob.DONE:
        batch = out.batch
        assert FeedBatch.objects.count() == batches_before + 1
        assert batch.good_rows + batch.error_rows + batch.duplicate_rows == batch.rows
        assert batch.matched_id + batch.matched_weak + batch.unmatched == batch.good_rows
        c = out.counts
        assert c["good"] + c["errors"] + c["duplicates"] == c["rows"]
        assert batch.good_rows > 0
        new = files_under(root, "batches") - files_before
        assert new == {root / batch.path}
        assert batch_rows(batch).height == batch.good_rows
    else:
        assert FeedBatch.objects.count() == batches_before
        assert files_under(root, "batches") == files_before
        if out.status == ImportJob.FAILED:
            assert out.batch is None
    return out


def failed(feed: FeedType, data: bytes, filename: str, *fragments: str):
    out = check(feed, data, filename)
    assert out.status == ImportJob.FAILED, out.message
    for fragment in fragments:
        assert fragment in out.message, out.message
    return out


# ---------------------------------------------------------------------------------------------
# the valid base files import


@pytest.mark.parametrize(("data", "name"), [
    (BASE_XLSX, "v.xlsx"), (BASE_CSV, "v.csv"), (BASE_PARQUET, "v.parquet")])
def test_valid_base_files_import(vehicle, data, name):
    out = check(vehicle, data, name)
    assert out.status == ImportJob.DONE, out.message
    assert out.counts["good"] == len(ROWS)
    assert check(vehicle, data, name).status == ImportJob.DUPLICATE


# ---------------------------------------------------------------------------------------------
# hypothesis: truncations, random bytes, damaged bytes, random cell text


@FUZZ
@given(st.data())
def test_truncated_xlsx(vehicle, data):
    cut = data.draw(st.integers(min_value=1, max_value=len(BASE_XLSX) - 1))
    failed(vehicle, BASE_XLSX[:cut], "cut.xlsx", "Excel")


@FUZZ
@given(st.data())
def test_truncated_parquet(vehicle, data):
    cut = data.draw(st.integers(min_value=1, max_value=len(BASE_PARQUET) - 1))
    failed(vehicle, BASE_PARQUET[:cut], "cut.parquet", "Parquet")


@FUZZ
@given(st.data())
def test_truncated_csv(vehicle, data):
    cut = data.draw(st.integers(min_value=1, max_value=len(BASE_CSV) - 1))
    check(vehicle, BASE_CSV[:cut], "cut.csv")


@FUZZ
@given(st.binary(min_size=0, max_size=4096),
       st.sampled_from(["r.xlsx", "r.xls", "r.csv", "r.txt", "r.parquet"]))
def test_random_bytes(vehicle, blob, name):
    check(vehicle, blob, name)


@FUZZ
@given(st.binary(min_size=1, max_size=2048))
def test_random_bytes_behind_magic_numbers(vehicle, blob):
    failed(vehicle, b"PK\x03\x04" + blob, "zip.xlsx")
    failed(vehicle, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + blob, "ole.xls")
    failed(vehicle, b"PAR1" + blob + b"PAR1", "magic.parquet")


def test_a_zip_version_python_cannot_read_is_handled(vehicle):
    # the central directory's "version needed to extract" raised past what zipfile reads (6.3):
    # zipfile raises NotImplementedError while listing the members, not BadZipFile; the file
    # is read by calamine or refused with a reason, never a server error
    damaged = bytearray(BASE_XLSX)
    at = bytes(damaged).index(b"PK\x01\x02") + 6
    damaged[at:at + 2] = (64).to_bytes(2, "little")
    check(vehicle, bytes(damaged), "version.xlsx")


@FUZZ
@given(st.data())
def test_damaged_bytes(vehicle, data):
    # Parquet is left out: about 1 in 100 such files panics or aborts inside Polars (see below)
    base, name = data.draw(st.sampled_from([(BASE_XLSX, "d.xlsx"), (BASE_CSV, "d.csv")]))
    damaged = bytearray(base)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        at = data.draw(st.integers(min_value=0, max_value=len(base) - 1))
        damaged[at] = data.draw(st.integers(min_value=0, max_value=255))
    check(vehicle, bytes(damaged), name)


cell_text = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=30)


@FUZZ
@given(st.lists(st.lists(cell_text, min_size=7, max_size=7), min_size=1, max_size=8))
def test_random_cell_text_in_every_format(vehicle, rows):
    check(vehicle, xlsx(rows), "t.xlsx")
    check(vehicle, parquet(base_frame(rows)), "t.parquet")
    check(vehicle, csv_text(rows).encode("utf-8"), "t.csv")


# ---------------------------------------------------------------------------------------------
# empty, header only, empty sheet


@pytest.mark.parametrize("name", ["e.xlsx", "e.xls", "e.csv", "e.parquet"])
def test_empty_file(vehicle, name):
    failed(vehicle, b"", name, "文件为空")


def test_unsupported_suffix(vehicle):
    failed(vehicle, BASE_CSV, "v.docx", "不支持的文件类型")
    failed(vehicle, BASE_CSV, "noext", "不支持的文件类型")


@pytest.mark.parametrize(("data", "name"), [
    (xlsx([]), "h.xlsx"), (csv_text([]).encode(), "h.csv"), (csv_text([]).encode(), "h.txt"),
    (parquet(base_frame([])), "h.parquet")])
def test_header_only(vehicle, data, name):
    failed(vehicle, data, name, "没有可导入的有效行")


def test_empty_sheet(vehicle):
    failed(vehicle, xlsx([], headers=None), "empty.xlsx", "没有数据")
    failed(vehicle, xlsx([], headers=None, sheet="Sheet1"), "empty.xlsx")


def test_only_blank_lines(vehicle):
    failed(vehicle, b"\n\n\n", "blank.csv")
    failed(vehicle, b"  \r\n", "blank.csv")
    failed(vehicle, b",,,,\n,,,,\n", "commas.csv")


def test_no_matching_header(vehicle):
    failed(vehicle, xlsx(ROWS, headers=["a", "b", "c", "d", "e", "f", "g"]), "x.xlsx",
           "缺少必填列")
    failed(vehicle, parquet(base_frame().rename({"号牌号码": "plate"})), "x.parquet",
           "缺少必填列：号牌号码")


def test_all_rows_bad(vehicle):
    rows = [[*r[:3], "123", *r[4:]] for r in ROWS]
    out = failed(vehicle, xlsx(rows), "bad.xlsx", "没有可导入的有效行")
    assert out.counts["errors"] == len(ROWS)


# ---------------------------------------------------------------------------------------------
# huge cells, formulas, many columns


def big_cell_xlsx(text: str) -> bytes:
    """XlsxWriter caps strings at 32,767 characters (Excel's limit), so the sheet's shared
    string is swapped for a longer one in the zip."""
    marker = "@@BIG@@"
    base = xlsx([[*ROWS[0][:4], marker, *ROWS[0][5:]]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w",
                                                                   zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                content = content.replace(marker.encode(), text.encode())
            dst.writestr(item, content)
    return out.getvalue()


def test_a_cell_past_excels_limit_is_refused_in_every_format(vehicle):
    # Excel holds at most 32,767 characters in a cell; a longer one (a bomb's usual shape) is
    # refused, before calamine inflates it for an xlsx, with the row for CSV and Parquet
    failed(vehicle, big_cell_xlsx("品" * 350_000), "big.xlsx", "内容过长")
    failed(vehicle, big_cell_xlsx("品" * 32_768), "big.xlsx", "内容过长")
    big = [[*ROWS[0][:4], "x" * 1_000_000, *ROWS[0][5:]]]
    failed(vehicle, csv_text(big).encode(), "big.csv", "第 2 行“中文品牌”的内容过长")
    failed(vehicle, parquet(base_frame(big)), "big.parquet", "第 1 行“中文品牌”的内容过长")


def test_a_cell_at_excels_limit_imports(vehicle):
    out = check(vehicle, big_cell_xlsx("品" * 32_767), "limit.xlsx")
    assert out.status == ImportJob.DONE, out.message
    assert batch_rows(out.batch).get_column("brand").str.len_chars().to_list() == [32_767]
    at_limit = [[*ROWS[0][:4], "x" * 32_767, *ROWS[0][5:]]]
    assert check(vehicle, csv_text(at_limit).encode(), "ok.csv").status == ImportJob.DONE


def test_formulas(vehicle):
    def build(book, ws):
        date = book.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_formula(1, 4, '=CONCATENATE("比亚","迪")', None, "比亚迪")
        ws.write_formula(2, 5, "=DATE(2020,1,2)", date, 43832)
        ws.write_formula(3, 5, "=DATE(2020,1,3)")  # no cached value: XlsxWriter writes 0
        ws.write_formula(4, 4, "=1/0", None, "#DIV/0!")
        ws.write_formula(5, 3, '="' + vid(4) + '"', None, vid(4))
        ws.write_array_formula(6, 0, 6, 0, "{=A2}", None, "皖J99999")

    rows = [*ROWS, ["", *ROWS[0][1:3], vid(9), "x", "2020-01-01", "正常"]]
    out = check(vehicle, xlsx(rows, build=build), "f.xlsx")
    assert out.status == ImportJob.DONE, out.message
    stored = batch_rows(out.batch)
    assert stored.filter(pl.col("row") == 3).get_column("registered_on").to_list() == [
        dt.date(2020, 1, 2)]
    assert stored.filter(pl.col("row") == 2).get_column("brand").to_list() == ["比亚迪"]


def test_formulas_only_no_cached_values(vehicle):
    def build(book, ws):
        for r in range(1, 4):
            for c in range(7):
                ws.write_formula(r, c, f"=ROW()+{c}")

    check(vehicle, xlsx([], build=build), "f0.xlsx")


WIDE = [*HEADERS, *[f"列{i}" for i in range(600 - len(HEADERS))]]


def test_600_columns(vehicle):
    row = [*ROWS[0], *["x"] * (600 - len(HEADERS))]
    failed(vehicle, xlsx([row], headers=WIDE), "wide.xlsx", "列数过多")
    failed(vehicle, csv_text([row], headers=WIDE).encode(), "wide.csv", "列数过多")
    frame = pl.DataFrame([[v] for v in row], schema={h: pl.String for h in WIDE}, orient="col")
    failed(vehicle, parquet(frame), "wide.parquet", "列数过多")


def test_one_row_far_to_the_right(vehicle):
    # the header is narrow but one cell sits in column 700
    check(vehicle, xlsx(build=lambda book, ws: ws.write(3, 700, "远")), "far.xlsx")


# ---------------------------------------------------------------------------------------------
# encodings


def test_utf16_without_bom(vehicle):
    text = csv_text()
    failed(vehicle, text.encode("utf-16-le"), "u16le.csv")
    failed(vehicle, text.encode("utf-16-be"), "u16be.csv")
    failed(vehicle, text.encode("utf-16-le")[:-1], "u16odd.csv")


def test_utf16_with_bom_and_odd_length(vehicle):
    check(vehicle, csv_text().encode("utf-16"), "u16.csv")
    failed(vehicle, csv_text().encode("utf-16")[:-1], "u16odd.csv")
    failed(vehicle, b"\xff\xfe" + b"\x00\xd8" * 3, "u16lone.csv")  # lone surrogates


def test_gbk_and_gb18030_import(vehicle):
    assert check(vehicle, csv_text().encode("gbk"), "gbk.csv").status == ImportJob.DONE


def test_latin1(vehicle):
    latin = "plate,type,owner\nAB1,Café,Müller\n".encode("latin-1")
    failed(vehicle, latin, "latin1.csv")
    ascii_header = csv_text([[*r[:2], "Jürgen", *r[3:]] for r in ROWS]).encode("utf-8")
    mixed = ascii_header.replace("Jürgen".encode(), "Jürgen".encode("latin-1"))
    check(vehicle, mixed, "latin1mixed.csv")


def test_mixed_encodings(vehicle):
    head = (",".join(HEADERS) + "\n").encode("utf-8")
    rows = csv_text(ROWS[:2], headers=[]).encode("gbk")
    tail = csv_text(ROWS[2:], headers=[]).encode("utf-8")
    check(vehicle, head + rows + tail, "mixed.csv")
    check(vehicle, head + "张三".encode("utf-16-le") + b"\n" + tail, "mixed16.csv")


# ---------------------------------------------------------------------------------------------
# CSV shape


def test_ragged_lines(vehicle):
    text = csv_text()
    lines = text.splitlines()
    longer = "\n".join([*lines[:2], lines[2] + ",extra,more", *lines[3:]]) + "\n"
    shorter = "\n".join([*lines[:2], ",".join(lines[2].split(",")[:3]), *lines[3:]]) + "\n"
    check(vehicle, longer.encode(), "long.csv")
    check(vehicle, shorter.encode(), "short.csv")
    random_widths = "\n".join([lines[0]] + [",".join(["a"] * n) for n in (1, 12, 3, 0, 40)])
    check(vehicle, random_widths.encode(), "ragged.csv")


def test_unbalanced_quotes(vehicle):
    lines = csv_text().splitlines()
    opened = "\n".join([*lines[:2], '"' + lines[2], *lines[3:]]) + "\n"
    check(vehicle, opened.encode(), "q1.csv")
    inner = "\n".join([*lines[:2], lines[2].replace("比亚迪", 'bi"ya"di'), *lines[3:]]) + "\n"
    check(vehicle, inner.encode(), "q2.csv")
    check(vehicle, (lines[0] + '\n"' + "a" * 5000 + "\n").encode(), "q3.csv")
    check(vehicle, b'"' * 7, "q4.csv")


def test_nul_bytes(vehicle):
    failed(vehicle, BASE_CSV.replace(b",", b"\x00,", 3), "nul.csv", "二进制")
    late = BASE_CSV + (csv_text(body(200), headers=[]).encode() + b"\x00tail\x00\n")
    check(vehicle, late, "latenul.csv")
    check(vehicle, BASE_CSV.rstrip(b"\n") + b"\x00\n", "endnul.csv")


def test_tabs_and_crlf(vehicle):
    tsv = csv_text().replace(",", "\t").replace("\n", "\r\n").encode()
    assert check(vehicle, tsv, "t.csv").status == ImportJob.DONE


# ---------------------------------------------------------------------------------------------
# Parquet types


def test_parquet_nested_and_list_columns(vehicle):
    frame = base_frame()
    n = frame.height
    nested = [
        frame.with_columns(pl.Series("中文品牌", [["比亚迪", "x"]] * n)),
        frame.with_columns(pl.Series("extra", [[1, 2]] * n)),
        frame.with_columns(pl.struct(pl.lit(1).alias("a"), pl.lit("b").alias("b"))
                           .alias("车辆类型")),
        frame.with_columns(pl.Series("extra", [[[1], [2, 3]]] * n)),
        frame.with_columns(pl.Series("extra", [{"a": [1, 2], "b": {"c": "d"}}] * n)),
        frame.with_columns(pl.col("中文品牌").cast(pl.Categorical)),
        frame.with_columns(pl.Series("extra", [b"\xff\xfe"] * n, dtype=pl.Binary)),
        frame.with_columns(pl.Series("extra", [dt.timedelta(days=1)] * n)),
        frame.with_columns(pl.Series("extra", [None] * n, dtype=pl.Null)),
        frame.with_columns(pl.Series("extra", [1.5] * n).cast(pl.Decimal(10, 2))),
        frame.with_columns(pl.lit(dt.datetime(2020, 1, 2, 3, 4)).alias("初次登记日期")),
        frame.with_columns(pl.lit(dt.date(2020, 1, 2)).alias("初次登记日期")),
        frame.with_columns(pl.lit(43832).alias("初次登记日期")),
        frame.with_columns(pl.Series("extra", [[1, 2]] * n, dtype=pl.Array(pl.Int64, 2))),
    ]
    for i, f in enumerate(nested):
        check(vehicle, parquet(f), f"nested{i}.parquet")


def test_parquet_with_no_columns_or_no_rows(vehicle):
    failed(vehicle, parquet(pl.DataFrame()), "none.parquet")
    failed(vehicle, parquet(base_frame().clear()), "zero.parquet")


# ---------------------------------------------------------------------------------------------
# damaged Parquet: Polars panics (PanicException is a BaseException, which `except Exception`
# in readers.read_parquet does not catch) or aborts the whole process on an absurd allocation


# a valid 3-row Parquet file (columns a, b; uncompressed, written by Polars 2.1.0)
SMALL_PARQUET = base64.b64decode(
    "UEFSMRUEFU4VTkwVBhUAAAAJAAAA55qWSjAwMDAwCQAAAOealkowMDAwMQkAAADnmpZKMDAwMDIVABUUFRQsFQYVEBUGFQYA"
    "AAIAAAAGAQIDJAAVDBk1AAYQGRgBYRUAFgYWngEWngEmcCYIABUEFR4VHkwVBhUAAAABAAAAeAEAAAB5AQAAAHoVABUUFRQs"
    "FQYVEBUGFQYAAAIAAAAGAQIDJAAVDBk1AAYQGRgBYhUAFgYWbhZuJpICJtoBABkcFnAVNhYAAAAZHBaSAhU2FgAAABUCGTxI"
    "BHJvb3QVBAAVDCUCGAFhJQBMHAAAABUMJQIYAWIlAEwcAAAAFgYZHBksJo4CHBUMGTUABhAZGAFhFQAWBhaeARaeASZwJggA"
    "FvwCFRQAJoADHBUMGTUABhAZGAFiFQAWBhZuFm4mkgIm2gEAFpADFRYAFowCFgYmCBaMAhQAABkcGAxBUlJPVzpzY2hlbWEY"
    "0AEvLy8vLzVJQUFBQUVBQUFBOHYvLy94UUFBQUFFQUFFQUFBQUtBQXNBQ0FBS0FBUUErUC8vL3d3QUFBQUlBQWdBQUFBRUFB"
    "SUFBQUFzQUFBQUJBQUFBTWovLy84WUFBQUFFQUFBQUFnQUFBQUJGQUFBQUFBQUFNai8vLzhCQUFBQVlnQUFBT3ovLy84c0FB"
    "QUFJQUFBQUJnQUFBQUJGQUFBRUFBU0FBUUFFQUFSQUFnQUFBQU1BQUFBQUFEOC8vLy9CQUFFQUFFQUFBQmhBQT09ABhOUG9s"
    "YXJzIChweXRob24pIHZlcnNpb24gMi4xLjAgKGJ1aWxkIDdmOTAyYmQzZmZkMjdmZjgyZDE0Mjc4YTA5YTI5NWZmMmY3YWVk"
    "OTIpGSwcAAAcAAAAwQEAAFBBUjE=")


def patched(data: bytes, at: int, value: int) -> bytes:
    out = bytearray(data)
    out[at] = value
    return bytes(out)


def test_small_parquet_is_valid():
    assert pl.read_parquet(io.BytesIO(SMALL_PARQUET)).height == 3


def test_damaged_parquet_panic_becomes_a_failed_import(vehicle):
    failed(vehicle, patched(SMALL_PARQUET, 61, 0x00), "panic.parquet", "Parquet")


def test_damaged_parquet_does_not_abort_the_process(tmp_path):
    damaged = tmp_path / "abort.parquet"
    damaged.write_bytes(patched(SMALL_PARQUET, 64, 0x01))
    script = (
        "import sys\n"
        "from doudi.exchange.readers import ReadError, read_parquet\n"
        "try:\n"
        "    read_parquet(open(sys.argv[1], 'rb').read())\n"
        "except ReadError:\n"
        "    print('ReadError')\n")
    run = subprocess.run([sys.executable, "-c", script, str(damaged)], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "RUST_BACKTRACE": "0"})
    assert (run.returncode, run.stdout.strip()) == (0, "ReadError"), run.returncode


# ---------------------------------------------------------------------------------------------
# a date Python cannot hold


def test_year_zero_date_is_an_error_not_a_stored_value(vehicle):
    rows = [[*r[:5], "0000-01-01", r[6]] for r in ROWS[:1]] + ROWS[1:]
    out = check(vehicle, xlsx(rows), "year0.xlsx")
    assert out.counts["errors"] == 1
    list(batch_rows(out.batch).iter_rows(named=True))


# ---------------------------------------------------------------------------------------------
# an ID Excel stored as a number (15 significant digits) is an error, never a guessed ID


def test_id_stored_as_an_excel_number_is_rejected(vehicle):
    def build(book, ws):
        ws.write_number(1, 3, int(ROWS[0][3]))  # 3.41002197001001E+17 in Excel

    out = check(vehicle, xlsx(build=build), "num.xlsx")
    assert out.status == ImportJob.DONE, out.message
    assert (out.counts["good"], out.counts["errors"]) == (len(ROWS) - 1, 1)
    assert out.batch.error_rows == 1
    report = report_rows(out.job)
    assert report.select("row", "field", "reason").rows() == [
        (2, "id_number", ID_EXCEL)]
    assert report.get_column("value").to_list() == ["3.41***********e+17"]  # masked

"""Files written by real writers (LibreOffice, xlwt, XlsxWriter) as offices lay them out import
as the department meant them (tests/data/real_writers/make_fixtures.py builds them).

Each holds the same eight 受灾户 records, the fifth with a wrong check digit. Around them: a
merged title, a 填报单位 line, a two-row merged header, 灾害种类 merged down, a hidden out-of-date
ID column, 合计/小计 lines and the 制表人/审核人/“共 N 条记录” lines, a 说明 sheet in front."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from doudi.exchange.imports import batch_rows, import_bytes, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from tests.data.real_writers import make_fixtures as mf

pytestmark = pytest.mark.django_db
HERE = Path(mf.__file__).parent
BAD = mf.RECORDS[4]
MERGED_BELOW = {"程秀兰", "胡志强", "黄德胜", "叶春燕"}  # 灾害种类 only in the merged cell above


@pytest.fixture
def disaster(shipped_feed_types, settings, tmp_path) -> FeedType:
    settings.EXCHANGE_DIR = tmp_path / "exchange"
    return FeedType.objects.get(key="disaster_damage")


def run(feed: FeedType, name: str):
    return import_bytes(feed, (HERE / name).read_bytes(), name, user=None, channel="cli")


def stored_as_written(out) -> None:
    """The seven good records stored with their values, the bad ID reported on its row."""
    assert out.status == ImportJob.DONE, out.message
    stored = batch_rows(out.batch).sort("row")
    good = [r for r in mf.RECORDS if r is not BAD]
    assert stored["head_name"].to_list() == [r.name for r in good]
    assert stored["id_number"].to_list() == [r.id_number for r in good]
    assert stored["disaster"].to_list() == [r.disaster for r in good]
    assert stored["occurred_on"].to_list() == [r.day for r in good]
    assert stored["loss"].to_list() == [round(r.loss * 100) for r in good]  # fen
    assert stored["address"].to_list() == [r.address for r in good]


@pytest.mark.parametrize(("name", "rows", "bad_row", "notice"), [
    ("libreoffice.xlsx", [5, 6, 7, 8, 10, 11, 12], 9,
     "已忽略表头上方 2 行、表尾合计及制表人等 3 行"),
    ("libreoffice.xls", [5, 6, 7, 8, 10, 11, 12], 9,
     "已忽略表头上方 2 行、表尾合计及制表人等 3 行"),
    ("xlsxwriter.xlsx", [5, 6, 7, 9, 12, 14, 15], 10,
     "已忽略表头上方 2 行、表中合计/小计 3 行、表尾合计及经办人 3 行"),
    ("xlwt.xls", [2, 3, 4, 5, 7, 8, 9], 6, "已忽略表尾填表人及说明 2 行"),
])
def test_spreadsheets_import_as_laid_out(disaster, name, rows, bad_row, notice):
    out = run(disaster, name)
    stored_as_written(out)
    assert batch_rows(out.batch).sort("row")["row"].to_list() == rows  # the rows a user sees
    assert out.message.count("已忽略") == 1 and notice in out.message, out.message
    assert (out.counts["rows"], out.counts["errors"]) == (8, 1)
    assert report_rows(out.job).select("row", "field").rows() == [(bad_row, "id_number")]


def test_the_data_sheet_is_found_by_its_header_not_its_place(disaster):
    # xlwt.xls: a 说明 sheet first, the data in "Sheet2", not the spec's "受灾户"
    out = run(disaster, "xlwt.xls")
    assert out.batch.sheet == "Sheet2"
    assert "未找到工作表“受灾户”，已读取工作表“Sheet2”" in out.message


def test_the_named_sheet_is_read_when_present_after_a_cover_sheet(disaster):
    # libreoffice.xlsx: the 说明 sheet comes first too, the spec's sheet is read (a test of its
    # own: the same rows imported twice are refused as a copy of the first batch)
    assert run(disaster, "libreoffice.xlsx").batch.sheet == "受灾户"


def test_a_note_in_the_last_record_is_not_a_footer(disaster):
    # xlwt.xls: the last record's 备注 says 已签字, and it is kept
    stored = batch_rows(run(disaster, "xlwt.xls").batch)
    assert mf.RECORDS[-1].name in stored["head_name"].to_list()


@pytest.mark.parametrize(("name", "encoding"), [
    ("libreoffice_utf8.csv", "utf-8"), ("libreoffice_gb18030.csv", "gb18030"),
    ("libreoffice_semicolon.csv", "utf-8"), ("libreoffice_unicode.txt", "utf-16-le")])
def test_text_files_import_without_filling_down(disaster, name, encoding):
    # a text file cannot say what was merged: the 灾害种类 cells under a merged one are blank,
    # each reported as a required cell left empty, never filled with a guess
    out = run(disaster, name)
    assert out.status == ImportJob.DONE, out.message
    assert "已忽略表头上方 2 行、表尾合计及制表人等 3 行" in out.message
    stored = batch_rows(out.batch).sort("row")
    expected = [r for r in mf.RECORDS if r is not BAD and r.name not in MERGED_BELOW]
    assert stored["head_name"].to_list() == [r.name for r in expected]
    assert stored["disaster"].to_list() == [r.disaster for r in expected]
    report = report_rows(out.job)
    assert sorted(report.filter(pl.col("field") == "disaster")["row"].to_list()) == [6, 7, 9, 12]
    assert report.filter(pl.col("field") == "id_number")["row"].to_list() == [9]


def test_a_text_file_with_an_ambiguous_doubled_column_is_refused(disaster):
    # exported from a sheet whose hidden column repeats the ID header: which one holds the IDs
    # cannot be told from text, so nothing is guessed
    out = run(disaster, "libreoffice_hidden_column.csv")
    assert out.status == ImportJob.FAILED
    assert "户主身份证号" in out.message and "出现了 2 次" in out.message
    assert FeedBatch.objects.count() == 0


def test_hidden_column_with_the_same_header_is_ignored_in_spreadsheets(disaster):
    for name in ("libreoffice.xlsx", "libreoffice.xls", "xlsxwriter.xlsx"):
        stored = batch_rows(run(disaster, name).batch)
        assert "已作废" not in stored["id_number"].to_list()
        assert not stored["id_number"].str.starts_with("3410021900").any()
        FeedBatch.objects.all().delete()


def _outcome(feed: FeedType, data: bytes, name: str):
    out = import_bytes(feed, data, name, user=None, channel="cli")
    result = (out.status, out.message if out.batch is None else
              batch_rows(out.batch).sort("row").drop("person_id", "match").rows())
    FeedBatch.objects.all().delete()
    return result


@pytest.mark.skipif(mf.soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_fixtures_rebuilt_by_libreoffice_read_the_same(disaster, tmp_path):
    written = mf.build(tmp_path)
    assert set(mf.LIBREOFFICE) <= set(written)
    for name in written:
        fresh = _outcome(disaster, (tmp_path / name).read_bytes(), name)
        committed = _outcome(disaster, (HERE / name).read_bytes(), name)
        assert fresh == committed, name


def test_fixtures_are_small_and_complete():
    names = {p.name for p in HERE.iterdir() if p.suffix != ".py" and p.is_file()}
    assert names >= {"xlwt.xls", "xlsxwriter.xlsx", *mf.LIBREOFFICE}
    assert all((HERE / n).stat().st_size < 16_000 for n in names)

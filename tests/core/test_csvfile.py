"""Every CSV Doudi writes neutralises formula-like text cells and keeps numeric columns plain
numbers (issue 23, finding 9)."""

from __future__ import annotations

import csv
import io
import pathlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doudi.benefits import bank_layouts
from doudi.core import csvfile

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "doudi"
DANGEROUS = ("=", "+", "-", "@")


def _read(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_no_text_cell_reads_back_as_a_formula(cells: list[str]) -> None:
    rows = _read(csvfile.write(["表头"] * len(cells), [cells]))
    assert len(rows) == 2  # a CR or LF in a cell never splits the row
    for cell in rows[1]:
        assert not cell.startswith((*DANGEROUS, "\t", "\r"))
        assert "\n" not in cell and "\r" not in cell


@pytest.mark.parametrize("value", ["-1.00", "=1+1", "1e5", "+5", "@SUM(A1)", "", " 5", "5,00",
                                   "\t5", "NaN"])
def test_a_numeric_column_refuses_anything_but_a_plain_number(value: str) -> None:
    with pytest.raises(csvfile.UnsafeCell):
        csvfile.write(["金额"], [[value]], numeric=[0])


def test_numbers_stay_numbers() -> None:
    rows = _read(csvfile.write(["户名", "金额", "金额（分）"],
                               [["-张三", "1234.50", "123450"], ["=HYPERLINK(\"x\")", "0.00", "0"]],
                               numeric=[1, 2]))
    assert rows[1] == ["'-张三", "1234.50", "123450"]
    assert rows[2] == ["'=HYPERLINK(\"x\")", "0.00", "0"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_the_bank_file_keeps_amounts_numeric_and_names_inert(encoding: str) -> None:
    layout = bank_layouts.make_layout(
        columns="流水号=流水号\n账号=账号\n@户名=户名\n金额=金额\n金额（分）=金额（分）\n代码=项目代码",
        encoding=encoding)
    rows = [{"line": "1", "account": "6222020200112233445", "name": "+1-2 @张三\r=A1",
             "amount": "980.00", "amount_fen": "98000", "code": "=cmd|' /C calc'!A0"}]
    table = _read(bank_layouts.render(layout, iter(rows)), encoding)
    assert table[0][2] == "'@户名"
    assert table[1] == ["1", "6222020200112233445", "'+1-2 @张三 =A1", "980.00", "98000",
                        "'=cmd|' /C calc'!A0"]
    bad = [{**rows[0], "amount": "-980.00"}]
    with pytest.raises(bank_layouts.LayoutError):
        bank_layouts.render(layout, iter(bad))
    xlsx = bank_layouts.make_layout(columns="流水号=流水号\n账号=账号\n金额=金额",
                                    file_format="xlsx")
    with pytest.raises(bank_layouts.LayoutError):
        bank_layouts.render(xlsx, iter([{**rows[0], "amount": "=1+1"}]))


def test_every_csv_writer_goes_through_csvfile() -> None:
    """No other module writes CSV itself (the csv module's writer, Polars' or pandas'
    write_csv/to_csv), except the ones listed with their reason."""
    allowed = {
        "core/csvfile.py": "the one writer",
        # a synthetic department's own file (the input Doudi imports), not Doudi's output
        "synth/feeds/files.py": "synthetic input",
        "synth/old_system_sheets.py": "synthetic input",  # an old system's export, GBK
        # CSV as a transport into PostgreSQL COPY and a digest: never a file anyone opens
        "benefits/settlement.py": "COPY", "benefits/services.py": "COPY",
        "synth/loader.py": "COPY",
        "engine/monitoring/run.py": "digest", "exchange/imports.py": "digest",
    }
    pattern = re.compile(r"csv\.writer\(|csv\.DictWriter\(|\.write_csv\(|\.to_csv\(")
    found = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text())}
    assert found - set(allowed) == set(), found - set(allowed)

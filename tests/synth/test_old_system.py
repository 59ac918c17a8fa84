"""The old provincial system's exports of a synthetic district: the files are what an old
system writes (title, two-row merged header, household cells merged down, 合计 and 制表人
lines, GBK CSV, IDs as text), they hold exactly what the truth frames say, the plants are where
the truth says, the bad-rows copy has each fault at the row it names, and the shipped go-live
layouts read every file through the exchange reader."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from doudi.benefits import banks
from doudi.core import idnumber
from doudi.synth import district, old_system
from doudi.synth.old_system_faults import FAULT_KINDS
from doudi.synth.old_system_tables import CASELOAD

MONTH = dt.date(2026, 11, 1)
SEED = 5
LAYOUT = {"caseload": "caseload_combined", "roster": "roster_last",
          "payments": "payments_history", "decisions": "decisions_history"}
TRUTH = {"caseload": "members", "roster": "roster", "payments": "payments",
         "decisions": "decisions"}


@pytest.fixture(scope="module")
def town():
    # 1,000 households of 屯溪区: about 90 covered, two of them 特困 (under a second)
    return district.build("341002", 1_000, seed=3, today=dt.date(2026, 11, 23))


@pytest.fixture(scope="module")
def done(town, tmp_path_factory):
    return old_system.export(town, seed=SEED, out_dir=tmp_path_factory.mktemp("old"),
                             month=MONTH)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def sheet_of(path: Path):
    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(book.sheet_names[0])


def spec(kind: str):
    from doudi.engine.feeds.feedspec import parse_spec
    from doudi.golive import layouts

    doc = next(d for d in layouts.shipped_documents() if d["key"] == LAYOUT[kind])
    return parse_spec({k: v for k, v in doc.items() if k != "kind"})


def read(path: Path, kind: str) -> pl.DataFrame:
    from doudi.exchange.readers import field_cells, read_table

    s = spec(kind)
    cells, found = field_cells(read_table(path.read_bytes(), path.name, s), s)
    assert found.missing_required == ()
    return cells


# ------------------------------------------------------------------------------ the files


def test_the_same_seed_gives_the_same_bytes(town, done, tmp_path):
    again = old_system.export(town, seed=SEED, out_dir=tmp_path / "again", month=MONTH)
    for kind in old_system.KINDS:
        for fmt in old_system.FORMATS:
            assert again.paths[kind][fmt].read_bytes() == done.paths[kind][fmt].read_bytes()
    other = old_system.export(town, seed=SEED + 1, out_dir=tmp_path / "other", month=MONTH,
                              formats=("csv",))
    assert other.paths["caseload"]["csv"].read_bytes() != \
        done.paths["caseload"]["csv"].read_bytes()


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_excel_header_is_two_rows_merged_and_household_cells_merged_down(done, fmt):
    sheet = sheet_of(done.paths["caseload"][fmt])
    merges = set(sheet.merged_cell_ranges)
    rows = sheet.to_python()
    width = len(CASELOAD)
    assert ((0, 0), (0, width - 1)) in merges  # the title
    assert "在保对象花名册" in rows[0][0]
    groups = {rows[2][c0]: (c0, c1) for (r0, c0), (r1, c1) in merges if r0 == r1 == 2}
    assert set(groups) == {"家庭信息", "保障信息", "发放信息", "家庭成员信息"}
    assert ((2, 0), (3, 0)) in merges and ((2, 1), (3, 1)) in merges  # 序号, 家庭编号
    assert rows[3][2] == "乡镇（街道）" and rows[3][groups["家庭成员信息"][0]] == "姓名"
    household = [j for j, c in enumerate(CASELOAD) if c.household]
    expected = {((r - 1, j), (r - 1 + n - 1, j))
                for r, n in done.households.select("row_excel", "members").iter_rows()
                if n > 1 for j in household}
    assert {m for m in merges if m[0][0] >= 4} == expected
    below = rows[3 + done.members.height + 1:]
    assert below[0][0] == "合计" and below[1][0].startswith("制表人")


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_ids_and_accounts_are_text_in_excel(done, fmt):
    rows = sheet_of(done.paths["caseload"][fmt]).to_python()
    for j, c in enumerate(CASELOAD):
        if c.key in ("head_id", "payee_id", "id_number", "account", "legacy_number"):
            values = [rows[r - 1][j] for r in done.households["row_excel"]]
            assert all(isinstance(v, str) and v for v in values), c.key


def test_csv_is_gbk_with_the_household_on_every_member_row(done):
    data = done.paths["caseload"]["csv"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    lines = list(csv.reader(io.StringIO(data.decode("gbk"))))
    header = lines[2]
    body = lines[3:3 + done.members.height]
    assert lines[3 + done.members.height][0] == "合计"
    legacy = header.index("家庭编号")
    head_id = header.index("户主身份证号")
    assert [r[legacy] for r in body] == done.members["legacy_number"].to_list()
    heads = dict(done.households.select("legacy_number", "head_id").iter_rows())
    assert all(r[head_id] == heads[r[legacy]] for r in body)


# ------------------------------------------------------------------------------ the truth


def test_households_members_and_payees_are_consistent(done):
    h, m = done.households, done.members
    assert h["legacy_number"].n_unique() == h.height
    assert set(h["programme"]) <= set(old_system.PROGRAMMES) and {"dibao", "tekun"} <= set(
        h["programme"])
    assert all(n.startswith("AH") and len(n) == 12 for n in h["legacy_number"])
    assert all(idnumber.is_valid(x) for x in m["id_number"])
    counted = m.group_by("legacy_number").agg(pl.len().alias("n"), pl.col("covered").sum())
    joined = h.join(counted, on="legacy_number")
    assert (joined["members"] == joined["n"]).all()
    assert (joined["persons"] == joined["covered"]).all()
    heads = m.filter(pl.col("relation") == "head")
    assert heads.height == h.height
    assert h.join(heads, on="legacy_number").filter(
        (pl.col("payee_id") != pl.col("id_number")) | (pl.col("head_id") != pl.col("id_number"))
    ).height == 0
    tekun = h.filter(pl.col("programme") == "tekun")
    assert tekun.filter(pl.col("persons") != 1).height == 0
    assert set(tekun["beneficiary_id"]) <= set(m.filter(pl.col("covered"))["id_number"])
    taper = h.filter(pl.col("taper_until").is_not_null())
    assert taper.height >= 1 and (taper["programme"] == "dibao").all()
    assert (taper["taper_until"] > MONTH).all() and (h["review_due"] > MONTH).all()


def test_every_account_passes_the_bank_checks(done):
    h = done.households
    for bank, written, kind, number in h.select(
            "bank", "bank_written", "account_kind", "account").iter_rows():
        assert banks.problems(number, bank, kind) == []
        found = banks.find(written)
        assert found is not None and found.name == bank


def test_roster_payments_and_decisions_follow_the_caseload(done):
    h = done.households
    paid = h.filter(pl.col("amount_fen") > 0)
    assert set(done.roster["legacy_number"]) == set(
        paid.filter(pl.col("in_roster"))["legacy_number"])
    assert (done.roster["month"] == MONTH).all()
    months = done.payments["month"].unique().sort().to_list()
    # the last twelve months, ending with the last roster's: that month as the roster paid it
    assert months == [old_system.add_months_first(MONTH, -k) for k in range(11, -1, -1)]
    started = done.payments.join(h, on="legacy_number").filter(
        pl.col("start_date") > pl.col("month"))
    assert started.height == 0
    before = done.payments.filter(pl.col("month") < MONTH)
    assert (before.join(h, on="legacy_number")
            .filter(pl.col("regular_fen") != pl.col("amount_fen")).height == 0)
    last = done.payments.filter(pl.col("month") == MONTH).select("legacy_number", "regular_fen")
    assert sorted(last.rows()) == sorted(done.roster.select("legacy_number", "amount_fen").rows())
    assert done.decisions.height == h.height and set(done.decisions["decision"]) == {"批准"}


def test_plants_are_exactly_where_the_truth_says(done):
    kinds = {kind: [n for n, k in done.plants if k == kind] for kind in old_system.PLANT_KINDS}
    assert len(kinds[old_system.AMOUNT_DIFFERS]) == old_system.AMOUNT_PLANTS
    assert len(kinds[old_system.NOT_IN_ROSTER]) == len(kinds[old_system.ROSTER_DIFFERS]) == 1
    paid = done.households.filter(pl.col("rules_amount_fen").is_not_null())
    differs = paid.filter(pl.col("amount_fen") != pl.col("rules_amount_fen"))
    assert sorted(differs["legacy_number"]) == sorted(kinds[old_system.AMOUNT_DIFFERS])
    missing = set(paid["legacy_number"]) - set(done.roster["legacy_number"])
    assert missing == set(kinds[old_system.NOT_IN_ROSTER])
    both = done.roster.join(done.households, on="legacy_number", suffix="_case")
    assert sorted(both.filter(pl.col("amount_fen") != pl.col("amount_fen_case"))[
        "legacy_number"]) == kinds[old_system.ROSTER_DIFFERS]


def test_without_plants_every_amount_is_the_rules_and_every_paid_household_in_the_roster(
        town, tmp_path):
    clean = old_system.export(town, seed=SEED, out_dir=tmp_path, month=MONTH, plant=False,
                              formats=("csv",))
    assert clean.plants == []
    paid = clean.households.filter(pl.col("rules_amount_fen").is_not_null())
    assert (paid["amount_fen"] == paid["rules_amount_fen"]).all()
    assert set(clean.roster["legacy_number"]) == set(paid["legacy_number"])


# ------------------------------------------------------------------------------ read back


@pytest.mark.parametrize("fmt", ["xls", "xlsx", "csv"])
@pytest.mark.parametrize("kind", list(LAYOUT))
def test_shipped_layouts_read_every_file(done, kind, fmt):
    cells = read(done.paths[kind][fmt], kind)
    truth = getattr(done, TRUTH[kind])
    assert cells.height == truth.height
    rows = "row_csv" if fmt == "csv" else "row_excel"
    # the first record is at the truth's row: the header (two rows in Excel) was found
    assert cells["row"].to_list() == truth[rows].to_list()
    assert cells["legacy_number"].to_list() == truth["legacy_number"].to_list()
    if kind == "caseload":
        assert cells["id_number"].to_list() == truth["id_number"].to_list()
        got = cells.group_by("legacy_number", maintain_order=True).first()
        h = done.households
        assert [fen(v) for v in got["amount"]] == h["amount_fen"].to_list()
        assert got["start_date"].to_list() == [d.isoformat() for d in h["start_date"]]
        assert got["review_due"].to_list() == [d.isoformat() for d in h["review_due"]]
        assert got["account"].to_list() == h["account"].to_list()
        assert got["town"].to_list() == h["town"].to_list()
        assert got["programme"].to_list() == h["programme_word"].to_list()
    elif kind == "roster":
        assert [fen(v) for v in cells["amount"]] == truth["amount_fen"].to_list()
        assert cells["payee_id"].to_list() == truth["payee_id"].to_list()
    elif kind == "payments":
        assert [fen(v) for v in cells["paid"]] == truth["paid_fen"].to_list()
    else:
        assert cells["document_number"].to_list() == truth["document_number"].to_list()


@pytest.mark.parametrize("fmt", ["xls", "csv"])
def test_household_ids_merged_down_read_on_every_member_row(done, fmt):
    cells = read(done.paths["caseload"][fmt], "caseload")
    heads = dict(done.households.select("legacy_number", "head_id").iter_rows())
    assert cells["head_id"].to_list() == [heads[n] for n in cells["legacy_number"]]


def test_xlsx_household_ids_merged_down_read_on_every_member_row(done):
    cells = read(done.paths["caseload"]["xlsx"], "caseload")
    heads = dict(done.households.select("legacy_number", "head_id").iter_rows())
    assert cells["head_id"].to_list() == [heads[n] for n in cells["legacy_number"]]


# ------------------------------------------------------------------------------ bad rows


@pytest.mark.parametrize("fmt", ["xls", "xlsx", "csv"])
def test_bad_rows_variant_lists_each_fault_at_its_row(done, fmt, tmp_path):
    bad = old_system.bad_rows_variant(done, fmt=fmt, out_dir=tmp_path)
    assert sorted(f.kind for f in bad.faults) == sorted(FAULT_KINDS)
    assert len({f.legacy_number for f in bad.faults}) == len(FAULT_KINDS)
    spoiled = read(bad.path, "caseload")
    clean = read(done.paths["caseload"][fmt], "caseload")
    assert spoiled.height == clean.height
    by = {f.kind: f for f in bad.faults}
    for f in bad.faults:
        now = spoiled.filter(pl.col("row") == f.row)
        before = clean.filter(pl.col("row") == f.row)
        assert now["legacy_number"].item() == f.legacy_number
        assert now[f.field].item() != before[f.field].item(), f.kind
    cell = {k: spoiled.filter(pl.col("row") == f.row)[f.field].item() for k, f in by.items()}
    assert len(cell["id_truncated"]) == 17
    assert len(cell["id_check_digit"]) == 18 and not idnumber.is_valid(cell["id_check_digit"])
    assert cell["amount_not_a_number"] == "abc" and cell["bare_year_date"] == "2023"
    assert cell["two_heads"] == "户主" and cell["unknown_town"] not in done.towns
    assert cell["unknown_programme"] not in old_system.PROGRAMME_WORDS
    assert banks.problems(cell["account_check_failed"], "中国工商银行", banks.CARD)
    members = done.members.filter(
        pl.col("legacy_number") == by["payee_not_member"].legacy_number)
    assert cell["payee_not_member"] not in members["id_number"].to_list()
    row = spoiled.filter(pl.col("row") == by["sex_contradicts_id"].row)
    facts = idnumber.parse(row["id_number"].item())
    assert row["sex"].item() != ("男" if facts.sex == "M" else "女")

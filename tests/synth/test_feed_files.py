"""Department feed files: rendering typed rows as text, dirty rows, and the written files
(CSV in the department's encoding, Parquet, Excel) — formats, defects, byte-identical reruns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import zipfile
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from doudi.core import idnumber
from doudi.synth.feeds import dirty, files, layouts, render

MEDICAL = layouts.BY_KEY["medical_settlement"]
DEATH = layouts.BY_KEY["death_record"]
FULLWIDTH_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
EXCEL_EPOCH = dt.date(1899, 12, 30)


# ---------------------------------------------------------------- synthetic typed frames

def _ids(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for _ in range(n):
        region = str(rng.choice(["341002", "341003", "341004", "440106"]))
        born = dt.date(1940, 1, 1) + dt.timedelta(days=int(rng.integers(0, 30_000)))
        out.append(idnumber.make(region, born, int(rng.integers(0, 500)),
                                 str(rng.choice(["M", "F"]))))
    return out


def _dates(rng: np.random.Generator, n: int) -> list[dt.date]:
    return [dt.date(2026, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 330, n)]


def medical_frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    visit = rng.choice(["门诊", "门诊慢特病", "住院"], n).tolist()
    return pl.DataFrame({
        "settlement_no": [f"JS2026{i:08d}" for i in range(n)],
        "id_number": _ids(rng, n),
        "name": rng.choice(["张三", "李小红", "王五", "欧阳明"], n).tolist(),
        "insurance_type": rng.choice(["职工基本医疗保险", "城乡居民基本医疗保险"], n).tolist(),
        "hospital": rng.choice(["屯溪区人民医院", "黄山市人民医院, 东院"], n).tolist(),
        "visit_type": visit,
        "admitted_on": [d if v == "住院" else None for d, v in zip(_dates(rng, n), visit,
                                                                     strict=True)],
        "settled_on": _dates(rng, n),
        "total": rng.integers(0, 9_000_000, n),
        "fund_paid": rng.integers(0, 3_000_000, n),
        "serious_illness_paid": rng.integers(0, 200_000, n),
        "assistance_paid": rng.integers(0, 200_000, n),
        "out_of_pocket": rng.integers(-5_000, 900, n),  # refunds are negative, many < 10 yuan
    }, schema_overrides={"admitted_on": pl.Date})


def death_frame(n: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "id_number": _ids(rng, n),
        "name": rng.choice(["赵六", "钱七", "孙八"], n).tolist(),
        "died_on": _dates(rng, n),
        "cancelled_on": _dates(rng, n),
        "police_station": rng.choice(["屯溪路派出所", "昱中派出所"], n).tolist(),
    })


@pytest.fixture(scope="module")
def medical() -> pl.DataFrame:
    return medical_frame(3000)


@pytest.fixture(scope="module")
def medical_text(medical) -> pl.DataFrame:
    return render.render(medical, MEDICAL)


@pytest.fixture(scope="module")
def known(medical) -> pl.Series:
    extra = pl.Series(_ids(np.random.default_rng(99), 2000))
    return pl.concat([medical.get_column("id_number"), extra])


# ---------------------------------------------------------------- a reference decoder

def decode_money(text: str) -> int:
    """Fen from any money text an import must accept."""
    plain = text.translate(FULLWIDTH_TO_ASCII).replace(",", "").replace("￥", "")
    plain = plain.removesuffix("元")
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", plain), text
    fen = Decimal(plain) * 100
    assert fen == fen.to_integral_value(), text
    return int(fen)


def decode_date(text: str, style: str) -> dt.date:
    plain = text.translate(FULLWIDTH_TO_ASCII)
    if m := re.fullmatch(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日", plain):
        return dt.date(*map(int, m.groups()))
    if re.fullmatch(r"[0-9]{5}", plain):
        return EXCEL_EPOCH + dt.timedelta(days=int(plain))
    if style == "slash":
        return dt.date(*map(int, plain.split("/")))
    return dt.datetime.strptime(plain, {"iso": "%Y-%m-%d", "compact": "%Y%m%d"}[style]).date()


def test_reference_decoder() -> None:
    assert decode_date("46086", "iso") == dt.date(2026, 3, 5)  # Excel's own serial
    assert decode_date("2026年3月5日", "iso") == dt.date(2026, 3, 5)
    assert decode_date("2026/3/5", "slash") == dt.date(2026, 3, 5)
    assert decode_money("￥1,234.50") == decode_money("1234.5元") == 123450
    assert decode_money("-３.００") == -300


# ---------------------------------------------------------------- render

def _one_row_medical(**changes) -> pl.DataFrame:
    return medical_frame(1).with_columns(
        **{k: pl.Series(k, v, dtype=medical_frame(1).schema[k]) for k, v in changes.items()})


def test_render_headers_order_and_text(medical, medical_text) -> None:
    assert medical_text.columns == [c.header for c in MEDICAL.columns]
    assert set(medical_text.dtypes) == {pl.String}
    assert medical_text.height == medical.height
    assert medical_text.null_count().sum_horizontal().item() == 0
    # IDs and text pass through untouched; extra columns in the input are ignored.
    again = render.render(medical.with_columns(extra=pl.lit(1)), MEDICAL)
    assert again.equals(medical_text)
    assert medical_text.get_column("公民身份号码").equals(
        medical.get_column("id_number").alias("公民身份号码"))


@pytest.mark.parametrize(("style", "expected"), [
    ("iso", ["2026-03-05", "2026-12-25", "1999-01-09", ""]),
    ("slash", ["2026/3/5", "2026/12/25", "1999/1/9", ""]),
    ("compact", ["20260305", "20261225", "19990109", ""]),
])
def test_render_date_styles(style, expected) -> None:
    layout = dataclasses.replace(DEATH, date_style=style)
    days = [dt.date(2026, 3, 5), dt.date(2026, 12, 25), dt.date(1999, 1, 9), None]
    frame = death_frame(4).with_columns(died_on=pl.Series(days, dtype=pl.Date))
    assert render.render(frame, layout).get_column("死亡日期").to_list() == expected


def test_render_money_in_yuan_with_two_decimals() -> None:
    fen = [123450, -300, 5, 0, None, -5, 100_000_000_000, 99, 10]
    frame = medical_frame(len(fen)).with_columns(total=pl.Series(fen, dtype=pl.Int64))
    assert render.render(frame, MEDICAL).get_column("医疗总费用").to_list() == [
        "1234.50", "-3.00", "0.05", "0.00", "", "-0.05", "1000000000.00", "0.99", "0.10"]


def test_render_decimal1_and_number() -> None:
    prop = layouts.BY_KEY["property"]
    frame = pl.DataFrame({
        "certificate_no": ["皖(2026)屯溪区不动产权第0000001号"] * 4,
        "owner": ["张三", None, "李四", "王五"],
        "id_number": ["341002198001010015"] * 4,
        "location": ["屯溪区黄山路1号"] * 4,
        "use": ["住宅"] * 4,
        "area": [853, 0, -5, None],
        "registered_on": [dt.date(2020, 5, 1)] * 4,
    })
    text = render.render(frame, prop)
    assert text.get_column("建筑面积(㎡)").to_list() == ["85.3", "0.0", "-0.5", ""]
    assert text.get_column("权利人").to_list() == ["张三", "", "李四", "王五"]
    watch = layouts.BY_KEY["relapse_watch"]
    frame = pl.DataFrame({c.key: ["x", "y"] for c in watch.columns}).with_columns(
        members=pl.Series([3, None], dtype=pl.Int64),
        entered_on=pl.Series([dt.date(2025, 7, 1), None], dtype=pl.Date))
    text = render.render(frame, watch)
    assert text.get_column("家庭人口数").to_list() == ["3", ""]
    assert text.get_column("识别纳入时间").to_list() == ["2025-07-01", ""]


def test_render_rejects_missing_columns(medical) -> None:
    with pytest.raises(ValueError, match="lacks"):
        render.render(medical.drop("total"), MEDICAL)


# ---------------------------------------------------------------- dirt

def _copies(issues: pl.DataFrame) -> list[int]:
    return issues.filter(pl.col("kind") == "duplicate").get_column("row").to_list()


def _undo(dirty_frame: pl.DataFrame, issues: pl.DataFrame) -> pl.DataFrame:
    """Drop the duplicate copies and put every original cell back."""
    rows = [list(r) for r in dirty_frame.iter_rows()]
    headers = dirty_frame.columns
    for issue in issues.filter(pl.col("kind") != "duplicate").iter_rows(named=True):
        rows[issue["row"] - 1][headers.index(issue["column"])] = issue["original"]
    copies = {r - 1 for r in _copies(issues)}
    kept = [r for i, r in enumerate(rows) if i not in copies]
    return pl.DataFrame(kept, schema=headers, orient="row")


@pytest.fixture(scope="module")
def medical_dirty(medical_text, known):
    before = medical_text.clone()
    result = dirty.apply(medical_text, MEDICAL, 0.2, seed=5, known_ids=known)
    assert medical_text.equals(before)  # the input is never modified
    return result


def test_dirt_count_matches_share(medical_text, medical_dirty) -> None:
    frame, issues = medical_dirty
    assert issues.height == round(0.2 * medical_text.height)
    assert issues.get_column("row").n_unique() == issues.height  # one defect per row
    assert frame.height == medical_text.height + len(_copies(issues))
    assert issues.schema == pl.Schema(dirty.ISSUE_SCHEMA)
    assert issues.get_column("feed").unique().to_list() == ["medical_settlement"]
    assert issues.get_column("row").is_sorted()
    # Kinds are spread over all eight (about 600 / 8 each).
    counts = dict(issues.group_by("kind").len().iter_rows())
    assert set(counts) == set(dirty.DIRT_KINDS)
    assert min(counts.values()) >= 50


def test_dirt_only_touches_the_issue_cells(medical_text, medical_dirty) -> None:
    frame, issues = medical_dirty
    assert _undo(frame, issues).equals(medical_text)
    for issue in issues.iter_rows(named=True):
        assert frame.row(issue["row"] - 1, named=True)[issue["column"]] == issue["written"]
        assert issue["expected"] == dirty.EXPECTED[issue["kind"]]
        if issue["kind"] != "duplicate":
            assert issue["written"] != issue["original"]


def _of_kind(issues: pl.DataFrame, kind: str) -> list[dict]:
    found = issues.filter(pl.col("kind") == kind).to_dicts()
    assert found, kind
    return found


def test_bad_check_digit_fails_and_unknown_id_passes(medical_dirty, known) -> None:
    _, issues = medical_dirty
    known_set = set(known.to_list())
    for issue in _of_kind(issues, "bad_check_digit"):
        assert issue["column"] == "公民身份号码"
        assert issue["written"][:17] == issue["original"][:17]
        assert not idnumber.is_valid(issue["written"])
    unknown = _of_kind(issues, "unknown_id")
    for issue in unknown:
        assert idnumber.is_valid(issue["written"])
        assert issue["written"] not in known_set
        assert issue["written"][:14] == issue["original"][:14]  # same region and birth date
        assert int(issue["written"][16]) % 2 == int(issue["original"][16]) % 2  # same sex
    assert len({i["written"] for i in unknown}) == len(unknown)


def test_unknown_ids_avoid_a_crowded_prefix() -> None:
    # 400 of the 500 male IDs born that day are known: the new IDs must be among the others.
    born = dt.date(1980, 1, 1)
    free = {idnumber.make("341002", born, s, "M") for s in range(0, 500, 5)}
    crowd = [idnumber.make("341002", born, s, "M") for s in range(500)]
    known = pl.Series([i for i in crowd if i not in free])
    originals = pl.Series(known.to_list()[:5])
    written = dirty._unknown_ids(originals, known, np.random.default_rng(3))
    assert written.null_count() == 0
    assert set(written.to_list()) <= free
    assert written.n_unique() == 5


def test_duplicates_are_identical_adjacent_rows(medical_dirty) -> None:
    frame, issues = medical_dirty
    for issue in _of_kind(issues, "duplicate"):
        copy = issue["row"] - 1
        assert frame.row(copy) == frame.row(copy - 1)
        assert issue["original"] == issue["written"] == frame.row(copy, named=True)["公民身份号码"]


def test_format_dirt_decodes_back(medical_dirty) -> None:
    _, issues = medical_dirty
    money = {c.header for c in MEDICAL.columns if c.kind == "money"}
    dates = {c.header for c in MEDICAL.columns if c.kind == "date"}
    fullwidth = _of_kind(issues, "fullwidth_digits")
    assert {i["column"] for i in fullwidth} >= {"公民身份号码"} and \
        {i["column"] for i in fullwidth} & money
    for issue in fullwidth:
        assert re.search("[０-９]", issue["written"]) and not re.search("[0-9]", issue["written"])
        if issue["column"] == "公民身份号码":
            assert idnumber.normalize(issue["written"]) == issue["original"]
        else:
            assert decode_money(issue["written"]) == decode_money(issue["original"])
    amounts = _of_kind(issues, "amount_format")
    for issue in amounts:
        assert issue["column"] in money
        assert decode_money(issue["written"]) == decode_money(issue["original"])
    written = [i["written"] for i in amounts]
    assert any(w.endswith("元") for w in written)
    assert any(w.startswith(("￥", "-￥")) for w in written)
    assert any("," in w and "￥" not in w for w in written)
    assert any(w.startswith("-") for w in written)  # negative refunds survive the rewrite
    for kind in ("excel_serial_date", "chinese_date"):
        for issue in _of_kind(issues, kind):
            assert issue["column"] in dates and issue["original"]
            assert decode_date(issue["written"], "slash") == \
                decode_date(issue["original"], "slash")


def test_blank_required_empties_required_cells(medical_dirty) -> None:
    _, issues = medical_dirty
    blanks = _of_kind(issues, "blank_required")
    required = {c.header for c in MEDICAL.columns if c.required}
    assert all(i["written"] == "" and i["original"] != "" for i in blanks)
    assert {i["column"] for i in blanks} <= required
    assert len({i["column"] for i in blanks}) > 3  # not always the ID


def test_protected_rows_stay_clean(medical_text, known) -> None:
    protected = pl.Series(np.arange(medical_text.height) % 2 == 0)
    frame, issues = dirty.apply(medical_text, MEDICAL, 0.3, 8, known, protected=protected)
    assert issues.height == round(0.3 * medical_text.height)
    clean = _undo(frame, issues)
    # Map every issue back to its row in the clean frame: no protected row among them.
    copies = sorted(_copies(issues))
    original_rows = [
        r - 1 - sum(c < r for c in copies) - (k == "duplicate")
        for r, k in issues.select("row", "kind").iter_rows()]
    assert not any(protected.to_list()[i] for i in original_rows)
    frame_untouched = clean.filter(protected)
    assert frame_untouched.equals(medical_text.filter(protected))
    # Asking for more than the free rows dirties every free row, nothing else.
    _, everything = dirty.apply(medical_text, MEDICAL, 0.9, 8, known, protected=protected)
    assert everything.height == medical_text.height // 2


def test_zero_share_changes_nothing(medical_text, known) -> None:
    frame, issues = dirty.apply(medical_text, MEDICAL, 0.0, 1, known)
    assert frame.equals(medical_text)
    assert issues.height == 0 and issues.schema == pl.Schema(dirty.ISSUE_SCHEMA)


def test_dirt_is_deterministic(medical_text, known, medical_dirty) -> None:
    frame, issues = dirty.apply(medical_text, MEDICAL, 0.2, seed=5, known_ids=known)
    assert frame.equals(medical_dirty[0]) and issues.equals(medical_dirty[1])
    _, other_issues = dirty.apply(medical_text, MEDICAL, 0.2, seed=6, known_ids=known)
    assert not other_issues.equals(issues)


def test_layout_without_money_gets_no_amount_dirt() -> None:
    frame = death_frame(800)
    text = render.render(frame, DEATH)
    assert dirty.kinds_for(DEATH) == tuple(
        k for k in dirty.DIRT_KINDS if k != "amount_format")
    out, issues = dirty.apply(text, DEATH, 0.5, 2, frame.get_column("id_number"))
    assert set(issues.get_column("kind")) == set(dirty.kinds_for(DEATH))
    assert set(issues.filter(pl.col("kind") == "fullwidth_digits").get_column("column")) == \
        {"身份证号码"}
    assert _undo(out, issues).equals(text)
    for issue in issues.filter(pl.col("kind").is_in(["excel_serial_date", "chinese_date"])
                               ).iter_rows(named=True):
        assert decode_date(issue["written"], "compact") == \
            decode_date(issue["original"], "compact")


# ---------------------------------------------------------------- files

def _read_xlsx(path, sheet: str) -> list[list[str]]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return [[str(v) for v in row] for row in rows]


def test_gb18030_csv_reads_back(tmp_path, medical_dirty) -> None:
    frame, _ = medical_dirty
    written = files.write_feed(frame, MEDICAL, tmp_path)
    csv = tmp_path / "医保_医疗费用结算明细.csv"
    data = csv.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    text = data.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert text.splitlines()[0] == ",".join(c.header for c in MEDICAL.columns)
    assert '"黄山市人民医院, 东院"' in text  # quoted because of the comma …
    assert ',屯溪区人民医院,' in text  # … and nothing else is
    back = pl.read_csv(text.encode("utf-8"), infer_schema=False).fill_null("")
    assert back.equals(frame)
    assert written[csv.name] == {"rows": frame.height,
                                 "sha256": hashlib.sha256(data).hexdigest()}
    parquet = tmp_path / "医保_医疗费用结算明细.parquet"
    assert pl.read_parquet(parquet).equals(frame)
    assert written[parquet.name]["rows"] == frame.height
    assert set(written) == {csv.name, parquet.name}


def test_utf8_sig_csv_has_bom(tmp_path) -> None:
    layout = layouts.BY_KEY["disability_certificate"]
    frame = pl.DataFrame({
        "certificate_no": ["34100219800101001511", "34100219900202002X42"],
        "name": ["张三", "李四"],
        "id_number": ["341002198001010015", "34100219900202002X"],
        "category": ["肢体", "视力"],
        "grade": ["二级", ""],
        "issued_on": ["2020-05-01", "2021-06-30"],
        "status": ["有效", "有效"],
    }).rename({c.key: c.header for c in layout.columns})
    files.write_feed(frame, layout, tmp_path)
    data = (tmp_path / "残联_残疾人证信息.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").endswith("34100219900202002X,视力,,2021-06-30,有效\n")
    back = pl.read_csv(data.decode("utf-8-sig").encode(), infer_schema=False).fill_null("")
    assert back.equals(frame)


def test_xlsx_reads_back_as_text(tmp_path, medical_dirty) -> None:
    frame = medical_dirty[0].head(300)
    written = files.write_feed(frame, MEDICAL, tmp_path, xlsx=True)
    path = tmp_path / "医保_医疗费用结算明细.xlsx"
    assert written[path.name]["rows"] == 300
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["结算明细"]
    rows = _read_xlsx(path, "结算明细")
    assert rows[0] == frame.columns
    assert rows[1:] == [list(r) for r in frame.iter_rows()]
    # IDs stay 18-character text, not 3.41002E+17.
    assert all(len(r[1]) == 18 for r in rows[1:] if r[1] and "０" not in r[1])


def test_xlsx_wrong_sheet_and_overflow_sheets(tmp_path, monkeypatch, medical_text) -> None:
    frame = medical_text.head(10)
    files.write_feed(frame, MEDICAL, tmp_path / "wrong", xlsx=True, wrong_sheet=True)
    path = tmp_path / "wrong" / "医保_医疗费用结算明细.xlsx"
    assert CalamineWorkbook.from_path(str(path)).sheet_names == ["Sheet1"]
    assert _read_xlsx(path, "Sheet1")[1:] == [list(r) for r in frame.iter_rows()]

    assert files.sheet_names("结算明细", 1_048_575) == ["结算明细"]
    assert files.sheet_names("结算明细", 1_048_576) == ["结算明细", "结算明细(2)"]
    assert files.sheet_names("结算明细", 0) == ["结算明细"]
    monkeypatch.setattr(files, "EXCEL_MAX_ROWS", 5)  # 4 data rows per sheet
    files.write_feed(frame, MEDICAL, tmp_path / "split", xlsx=True)
    path = tmp_path / "split" / "医保_医疗费用结算明细.xlsx"
    names = ["结算明细", "结算明细(2)", "结算明细(3)"]
    assert CalamineWorkbook.from_path(str(path)).sheet_names == names
    parts = [_read_xlsx(path, name) for name in names]
    assert all(part[0] == frame.columns for part in parts)
    assert [len(part) - 1 for part in parts] == [4, 4, 2]
    assert [row for part in parts for row in part[1:]] == [list(r) for r in frame.iter_rows()]


def test_files_are_byte_identical_on_rerun(tmp_path, medical_dirty) -> None:
    frame = medical_dirty[0].head(500)
    first = files.write_feed(frame, MEDICAL, tmp_path / "a", xlsx=True)
    second = files.write_feed(frame, MEDICAL, tmp_path / "b", xlsx=True)
    assert first == second and len(first) == 3
    for name, entry in first.items():
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    with zipfile.ZipFile(tmp_path / "a" / "医保_医疗费用结算明细.xlsx") as book:
        assert {info.date_time for info in book.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        core = book.read("docProps/core.xml").decode()
    assert "2026-01-01T00:00:00Z" in core
    changed = frame.with_columns(pl.col("参保人姓名").str.replace("张", "章"))
    third = files.write_feed(changed, MEDICAL, tmp_path / "c", xlsx=True)
    assert all(third[name]["sha256"] != first[name]["sha256"] for name in first)

"""A whole synthetic district as written to disk: the truth file's planted cases are present in
the data they claim (one check per kind), dirty rows are where the dirt file says, reruns are
byte-identical, IDs are valid and households sit in real villages.

Everything is read back from the written files the way an importer would: Parquet for the
registry, enrolments and truth; each department's CSV in its own encoding, with its Chinese
headers, as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from doudi.core import idnumber
from doudi.programmes import catalogue
from doudi.rules.engine import Result, evaluate
from doudi.rules.shipped import shipped
from doudi.synth import district, planted, villages, writer
from doudi.synth.feeds.layouts import BY_KEY, LAYOUTS, FeedLayout
from doudi.synth.population import Population
from doudi.synth.rules_frames import engine_frames

AREA = "341002"
HOUSEHOLDS = 3_000
SEED = 11
TODAY = dt.date(2026, 11, 23)
ROW = "_row"  # 1-based data row of a CSV (the header is row 0)
PROGRAMME_LEVEL = {u.code: (u.level, u.eligible) for u in catalogue.monitored_units()}


# ------------------------------------------------------------------------------- reading back

def read_feed_csv(path: Path, layout: FeedLayout) -> tuple[list[str], pl.DataFrame]:
    """A department CSV as an importer reads it: decoded with the layout's encoding, every
    cell text; returns the header row and the data rows (with their 1-based row number)."""
    with path.open(encoding=layout.encoding, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    frame = pl.DataFrame(body, schema=dict.fromkeys(header, pl.String), orient="row")
    return header, frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


@dataclass
class Written:
    root: Path
    households: pl.DataFrame
    persons: pl.DataFrame
    enrolments: pl.DataFrame
    truth: pl.DataFrame
    dirt: pl.DataFrame
    headers: dict[str, list[str]]  # layout key → the CSV's header row
    feeds: dict[str, pl.DataFrame]  # layout key → the CSV's rows, text, Chinese headers

    def person(self, id_number: str) -> dict[str, Any]:
        rows = self.persons.filter(pl.col("id_number") == id_number)
        assert rows.height == 1, f"{id_number}: {rows.height} persons in persons.parquet"
        return rows.row(0, named=True)

    def household(self, household_id: int) -> dict[str, Any]:
        rows = self.households.filter(pl.col("household_id") == household_id)
        assert rows.height == 1, f"household {household_id}: {rows.height} rows"
        return rows.row(0, named=True)

    def head(self, household_id: int) -> dict[str, Any]:
        rows = self.persons.filter((pl.col("household_id") == household_id)
                                   & (pl.col("relation") == "head"))
        assert rows.height == 1, f"household {household_id}: {rows.height} heads"
        return rows.row(0, named=True)

    def matching(self, feed: str, cells: dict[str, str]) -> pl.DataFrame:
        """The rows of `feed` whose cells (by Chinese header) equal the given texts exactly."""
        frame = self.feeds[feed]
        for header, value in cells.items():
            frame = frame.filter(pl.col(header) == value)
        return frame

    def enrolled(self, programme: str) -> pl.DataFrame:
        return self.enrolments.filter(pl.col("programme") == programme)


def date_text(day: dt.date, feed: str) -> str:
    """A date the way the feed's department writes it."""
    style = BY_KEY[feed].date_style
    if style == "iso":
        return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    assert style == "compact", style
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def yuan_to_fen(text: str) -> int:
    return int(Decimal(text) * 100)


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def sha256_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def built() -> district.District:
    return district.build(AREA, HOUSEHOLDS, seed=SEED, today=TODAY)


@pytest.fixture(scope="module")
def data(built: district.District, tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("district")
    writer.write_district(built, root, xlsx=True)
    feeds_dir = root / writer.FEEDS_DIR
    headers, feeds = {}, {}
    for layout in LAYOUTS:
        headers[layout.key], feeds[layout.key] = read_feed_csv(
            feeds_dir / f"{layout.file_stem}.csv", layout)
    return Written(
        root=root,
        households=pl.read_parquet(root / writer.HOUSEHOLDS_FILE),
        persons=pl.read_parquet(root / writer.PERSONS_FILE),
        enrolments=pl.read_parquet(root / writer.ENROLMENTS_FILE),
        truth=pl.read_parquet(root / writer.TRUTH_FILE),
        dirt=pl.read_parquet(root / writer.DIRT_FILE),
        headers=headers, feeds=feeds)


@pytest.fixture(scope="module")
def engine(data: Written) -> Result:
    """The rules engine on the written registry (households.parquet + persons.parquet)."""
    population = Population(households=data.households, persons=data.persons, area=AREA,
                            seed=SEED, today=TODAY)
    h, m = engine_frames(population)
    return evaluate(h, m, shipped(), TODAY)


# ------------------------------------------------------------------- per-kind evidence checks
# Each check asserts that one truth row's facts are in the written files and returns where the
# planted feed row is, (feed, 1-based row), or None when the evidence is the registry itself.

Location = tuple[str, int] | None
Check = Callable[[dict[str, Any], Written, Result], Location]


def _one(rows: pl.DataFrame, what: str) -> int:
    assert rows.height == 1, f"expected one {what}, found {rows.height}"
    return int(rows[ROW][0])


def _assert_dibao_enrolled(case: dict[str, Any], data: Written) -> None:
    dibao = data.enrolled("dibao")
    assert case["household_id"] in dibao["household_id"].to_list(), \
        "household is not enrolled in dibao (enrolments.parquet)"


def _person_of_case(case: dict[str, Any], data: Written) -> dict[str, Any]:
    person = data.person(case["id_number"])
    assert person["household_id"] == case["household_id"]
    assert person["person_id"] == case["person_id"]
    return person


def _contribution_above_wage(case: dict[str, Any], data: Written) -> int:
    """The person's 社会保险缴费 row started on the event day, base above the registered wage."""
    person = _person_of_case(case, data)
    rows = data.matching("contribution", {"身份证号": case["id_number"]})
    row = _one(rows, "社会保险缴费 row for the person (the background row is replaced)")
    found = rows.row(0, named=True)
    assert found["参保日期"] == date_text(case["event_date"], "contribution")
    base = yuan_to_fen(found["缴费基数"])
    assert base > person["income_wage"], \
        f"缴费基数 {base} fen does not exceed the registered wage {person['income_wage']} fen"
    return row


def check_uncovered_eligible(case: dict[str, Any], data: Written, engine: Result) -> Location:
    programme = case["programme"]
    level, flag = PROGRAMME_LEVEL[programme]
    enrolled = data.enrolled(programme)
    if level == "household":
        assert case["person_id"] is None
        assert case["household_id"] not in enrolled["household_id"].to_list(), \
            f"household is enrolled in {programme}"
        hit = engine.households.filter((pl.col("household_id") == case["household_id"])
                                       & pl.col(flag))
    else:
        person = _person_of_case(case, data)
        assert person["person_id"] not in enrolled["person_id"].to_list(), \
            f"person is enrolled in {programme}"
        hit = engine.members.filter((pl.col("member_id") == str(person["person_id"]))
                                    & pl.col(flag))
    assert hit.height == 1, f"the rules engine does not find it eligible for {programme}"
    return None


def check_covered_ineligible(case: dict[str, Any], data: Written, engine: Result) -> Location:
    _assert_dibao_enrolled(case, data)
    assert "dibao" in case["eligible_before"]
    assert not {"dibao", "taper"} & set(case["eligible_after"]), case["eligible_after"]
    source = case["source"]
    if source == "contribution":
        return ("contribution", _contribution_above_wage(case, data))
    household = data.household(case["household_id"])
    head = data.head(case["household_id"])
    on = date_text(case["event_date"], source)
    if source == "vehicle":
        rows = data.matching("vehicle", {"身份证明号码": head["id_number"]})
        row = _one(rows.filter(pl.col("初次登记日期") == on), "vehicle registered that day")
        cars = rows.drop(ROW).unique().height  # a duplicated row is still one car
        assert cars > household["vehicles"], \
            f"{cars} cars at 车管, {household['vehicles']} in the registry"
    elif source == "property":
        rows = data.matching("property", {"证件号码": head["id_number"]})
        row = _one(rows.filter((pl.col("登簿日期") == on) & (pl.col("用途") == "商业")),
                   "商业 property registered that day")
        shops = rows.filter(pl.col("用途") != "住宅").drop(ROW).unique().height
        assert shops > household["non_residential_property"], \
            f"{shops} non-residential at 不动产, {household['non_residential_property']} declared"
    elif source == "business":
        row = _one(data.matching("business", {"证件号码": head["id_number"],
                                              "成立日期": on}), "business established that day")
        assert household["business"] is False, "the registry already has the business"
    else:
        pytest.fail(f"unexpected source {source!r}")
    return (source, row)


def check_taper_due(case: dict[str, Any], data: Written, engine: Result) -> Location:
    assert case["source"] == "contribution"
    _assert_dibao_enrolled(case, data)
    assert "taper" in case["eligible_after"], case["eligible_after"]
    return ("contribution", _contribution_above_wage(case, data))


def _check_death(case: dict[str, Any], data: Written) -> int:
    _person_of_case(case, data)
    rows = data.matching("death_record", {"身份证号码": case["id_number"]})
    row = _one(rows, "死亡人员 row for the person")
    assert rows["死亡日期"][0] == date_text(case["event_date"], "death_record")
    return row


def check_breadwinner_death(case: dict[str, Any], data: Written, engine: Result) -> Location:
    row = _check_death(case, data)
    person = data.person(case["id_number"])
    age = age_on(person["birth_date"], case["event_date"])
    assert 25 <= age <= 59, f"breadwinner aged {age} at death"
    return ("death_record", row)


def check_death(case: dict[str, Any], data: Written, engine: Result) -> Location:
    return ("death_record", _check_death(case, data))


def check_medical_bill(case: dict[str, Any], data: Written, engine: Result) -> Location:
    person = _person_of_case(case, data)
    assert person["serious_illness"] is False, "the registry already knows the illness"
    rows = data.matching("medical_settlement", {
        "公民身份号码": case["id_number"], "就诊类型": "住院",
        "结算日期": date_text(case["event_date"], "medical_settlement")})
    row = _one(rows, "住院 settlement on the event day")
    assert Decimal(rows["个人自付"][0]) >= 10_000, f"个人自付 {rows['个人自付'][0]} 元"
    return ("medical_settlement", row)


def check_severe_disability(case: dict[str, Any], data: Written, engine: Result) -> Location:
    person = _person_of_case(case, data)
    assert person["disability_grade"] == 0, "the registry already knows a disability"
    rows = data.matching("disability_certificate", {"身份证号": case["id_number"]})
    row = _one(rows, "残疾人证 row (a new certificate for someone without one)")
    found = rows.row(0, named=True)
    assert found["残疾等级"] in ("一级", "二级"), found["残疾等级"]
    assert found["发证日期"] == date_text(case["event_date"], "disability_certificate")
    return ("disability_certificate", row)


def check_unemployment(case: dict[str, Any], data: Written, engine: Result) -> Location:
    person = _person_of_case(case, data)
    assert person["income_wage"] > 0, "the registry has no wage to lose"
    row = _one(data.matching("unemployment", {
        "身份证号": case["id_number"],
        "失业登记日期": date_text(case["event_date"], "unemployment")}),
        "失业登记 on the event day")
    still_paying = data.matching("contribution", {"身份证号": case["id_number"]})
    assert still_paying.height == 0, "社会保险缴费 still listed for the unemployed"
    return ("unemployment", row)


def check_disaster(case: dict[str, Any], data: Written, engine: Result) -> Location:
    head = data.head(case["household_id"])
    rows = data.matching("disaster_damage", {
        "户主身份证号": head["id_number"],
        "受灾日期": date_text(case["event_date"], "disaster_damage")})
    row = _one(rows, "受灾户 row for the head on the event day")
    assert rows["房屋损毁情况"][0] in ("倒塌", "严重损坏"), rows["房屋损毁情况"][0]
    return ("disaster_damage", row)


def check_relapse_watch_entry(case: dict[str, Any], data: Written, engine: Result) -> Location:
    head = data.head(case["household_id"])
    row = _one(data.matching("relapse_watch", {
        "户主证件号码": head["id_number"], "风险是否消除": "否",
        "识别纳入时间": date_text(case["event_date"], "relapse_watch")}),
        "live-risk 监测对象 row for the head on the event day")
    return ("relapse_watch", row)


def check_school_dropout(case: dict[str, Any], data: Written, engine: Result) -> Location:
    _person_of_case(case, data)
    rows = data.matching("school_enrolment", {"身份证件号": case["id_number"]})
    row = _one(rows, "学籍 row for the pupil (the 在读 row is replaced)")
    assert rows["学籍状态"][0] == "辍学", rows["学籍状态"][0]
    return ("school_enrolment", row)


def check_moved_out(case: dict[str, Any], data: Written, engine: Result) -> Location:
    _person_of_case(case, data)
    row = _one(data.matching("hukou_move", {
        "身份证号码": case["id_number"], "迁移类型": "迁出",
        "迁移日期": date_text(case["event_date"], "hukou_move")}), "迁出 on the event day")
    return ("hukou_move", row)


CHECKS: dict[str, Check] = {
    "uncovered_eligible": check_uncovered_eligible,
    "covered_ineligible": check_covered_ineligible,
    "taper_due": check_taper_due,
    "breadwinner_death": check_breadwinner_death,
    "death": check_death,
    "medical_bill": check_medical_bill,
    "severe_disability": check_severe_disability,
    "unemployment": check_unemployment,
    "disaster": check_disaster,
    "relapse_watch_entry": check_relapse_watch_entry,
    "school_dropout": check_school_dropout,
    "moved_out": check_moved_out,
}


def _run_checks(cases: pl.DataFrame, data: Written, engine: Result
                ) -> tuple[list[Location], list[str]]:
    locations, failures = [], []
    for case in cases.iter_rows(named=True):
        try:
            locations.append(CHECKS[case["kind"]](case, data, engine))
        except AssertionError as exc:
            failures.append(f"{case['case_id']} {case['kind']} household "
                            f"{case['household_id']} {case['id_number']}: {exc}")
    return locations, failures


# ------------------------------------------------------------------------------ planted cases

def test_every_kind_has_a_check() -> None:
    assert set(CHECKS) == set(planted.KINDS)


@pytest.mark.parametrize("kind", list(planted.KINDS))
def test_kind_is_planted(kind: str, data: Written) -> None:
    cases = data.truth.filter(pl.col("kind") == kind)
    assert cases.height >= 1, f"no {kind} in truth.parquet"
    assert cases["label"].unique().to_list() == [planted.KINDS[kind]]
    # the kinds drawn a fixed number of times per 10,000 households get at least that many
    if kind not in ("uncovered_eligible", "death"):
        assert cases.height >= HOUSEHOLDS * planted.DEFAULT_PER_10K // 10_000


@pytest.mark.parametrize("kind", list(planted.KINDS))
def test_planted_case_is_in_the_data_it_claims(kind: str, data: Written,
                                               engine: Result) -> None:
    cases = data.truth.filter(pl.col("kind") == kind)
    assert cases.height >= 1
    locations, failures = _run_checks(cases, data, engine)
    assert not failures, "\n".join(failures)
    if kind == "uncovered_eligible":
        assert set(cases["source"].to_list()) == {"registry"}
        assert locations == [None] * cases.height
    else:  # the evidence is the feed named by `source`
        assert [feed for feed, _ in locations] == cases["source"].to_list()


def test_engine_frames_give_the_age_the_birth_date_gives(data: Written) -> None:
    """The uncovered_eligible truth rests on engine_frames: its ages must be the real ones."""
    population = Population(households=data.households, persons=data.persons, area=AREA,
                            seed=SEED, today=TODAY)
    _, members = engine_frames(population)
    frame_age = dict(zip(members["member_id"].to_list(), members["age"].to_list(), strict=True))
    wrong = [(p["id_number"], frame_age[str(p["person_id"])], age_on(p["birth_date"], TODAY))
             for p in data.persons.iter_rows(named=True)
             if frame_age[str(p["person_id"])] != age_on(p["birth_date"], TODAY)]
    assert not wrong, f"{len(wrong)} ages wrong (id, frame, real), e.g. {wrong[:3]}"


def test_covered_ineligible_uses_every_kind_of_evidence(data: Written) -> None:
    sources = data.truth.filter(pl.col("kind") == "covered_ineligible")["source"]
    assert set(sources.to_list()) == {"vehicle", "property", "business", "contribution"}


def test_feeds_holding_only_events_hold_only_truth_cases(data: Written) -> None:
    """Deaths, moves and disasters have no background rows: every row is a truth case."""
    truth = data.truth
    deaths = truth.filter(pl.col("kind").is_in(["death", "breadwinner_death"]))
    assert sorted(data.feeds["death_record"]["身份证号码"].to_list()) == \
        sorted(deaths["id_number"].to_list())
    moves = truth.filter(pl.col("kind") == "moved_out")
    assert sorted(data.feeds["hukou_move"]["身份证号码"].to_list()) == \
        sorted(moves["id_number"].to_list())
    disaster_heads = [data.head(h)["id_number"] for h in
                      truth.filter(pl.col("kind") == "disaster")["household_id"].to_list()]
    assert sorted(data.feeds["disaster_damage"]["户主身份证号"].to_list()) == \
        sorted(disaster_heads)


def test_live_risk_and_dropouts_are_only_the_planted_ones(data: Written) -> None:
    truth = data.truth
    entry_heads = {data.head(h)["id_number"] for h in
                   truth.filter(pl.col("kind") == "relapse_watch_entry")["household_id"]}
    watch = data.feeds["relapse_watch"]
    live = watch.filter(pl.col("风险是否消除") == "否")
    assert set(live["户主证件号码"].to_list()) == entry_heads
    # background rows: risk removed (是), unless that very cell was blanked by the dirt
    blanked = set(data.dirt.filter((pl.col("feed") == "relapse_watch")
                                   & (pl.col("column") == "风险是否消除"))["row"].to_list())
    background = watch.filter(~pl.col("户主证件号码").is_in(sorted(entry_heads)))
    assert background.height > 0
    odd = background.filter((pl.col("风险是否消除") != "是") & ~pl.col(ROW).is_in(sorted(blanked)))
    assert odd.height == 0, odd
    dropouts = data.feeds["school_enrolment"].filter(pl.col("学籍状态") == "辍学")
    assert sorted(dropouts["身份证件号"].to_list()) == \
        sorted(truth.filter(pl.col("kind") == "school_dropout")["id_number"].to_list())


def test_truth_rows_point_at_the_registry(data: Written) -> None:
    truth = data.truth
    assert truth["case_id"].is_unique().all()
    assert truth["case_id"].null_count() == 0
    joined = truth.join(data.households.select("household_id", "number", "area_code"),
                        on="household_id", how="left")
    missing = joined.filter(pl.col("number").is_null())
    assert missing.height == 0, missing.select("case_id", "household_id")
    wrong = joined.filter((pl.col("area_code") != pl.col("area_code_right"))
                          | (pl.col("household_number") != pl.col("number")))
    assert wrong.height == 0, wrong.select("case_id", "household_id")
    assert truth.filter(pl.col("event_date") > TODAY).height == 0
    # person-level cases name a member of that household by both keys
    people = truth.filter(pl.col("person_id").is_not_null()).join(
        data.persons.select("person_id", pl.col("household_id").alias("registered_household"),
                            pl.col("id_number").alias("registered_id")),
        on="person_id", how="left")
    assert people.height > 0
    bad = people.filter((pl.col("registered_household") != pl.col("household_id"))
                        | (pl.col("registered_id") != pl.col("id_number"))
                        | pl.col("registered_id").is_null())
    assert bad.height == 0, bad.select("case_id", "person_id")


# ------------------------------------------------------------------------------------- dirt

def test_dirty_rows_are_where_the_dirt_file_says(data: Written) -> None:
    dirt = data.dirt
    assert dirt.height > 0
    assert set(dirt["feed"].unique().to_list()) <= set(BY_KEY)
    assert dirt["feed"].n_unique() >= 5
    wrong = []
    for issue in dirt.iter_rows(named=True):
        frame = data.feeds[issue["feed"]]
        assert 1 <= issue["row"] <= frame.height, issue
        cell = frame[issue["column"]][issue["row"] - 1]
        if cell != issue["written"]:
            wrong.append(f"{issue['feed']} row {issue['row']} {issue['column']}: "
                         f"CSV has {cell!r}, dirt file says {issue['written']!r}")
        if issue["kind"] == "duplicate":  # the copy sits right after its original
            copy = frame.row(issue["row"] - 1)[1:]
            original = frame.row(issue["row"] - 2)[1:]
            if copy != original:
                wrong.append(f"{issue['feed']} row {issue['row']}: not a copy of the row above")
        elif issue["written"] == issue["original"]:
            wrong.append(f"{issue['feed']} row {issue['row']}: {issue['kind']} changed nothing")
    assert not wrong, "\n".join(wrong)


def test_planted_rows_are_clean(data: Written, engine: Result) -> None:
    feed_cases = data.truth.filter(pl.col("source") != "registry")
    locations, failures = _run_checks(feed_cases, data, engine)
    assert not failures, "\n".join(failures)
    assert len(locations) == feed_cases.height
    spoiled = {(f, r) for f, r in data.dirt.select("feed", "row").iter_rows()}
    copies = {(f, r) for f, r in data.dirt.filter(pl.col("kind") == "duplicate")
              .select("feed", "row").iter_rows()}
    for location in locations:
        assert location is not None
        feed, row = location
        assert (feed, row) not in spoiled, f"planted row {feed} {row} is listed as dirty"
        assert (feed, row + 1) not in copies, f"planted row {feed} {row} was duplicated"


# ------------------------------------------------------------------------------ files & shape

def test_feed_files_cover_every_department_with_their_headers(data: Written) -> None:
    feeds_dir = data.root / writer.FEEDS_DIR
    for layout in LAYOUTS:
        assert data.headers[layout.key] == [c.header for c in layout.columns], layout.key
        raw = (feeds_dir / f"{layout.file_stem}.csv").read_bytes()
        if layout.encoding == "utf-8-sig":
            assert raw.startswith(b"\xef\xbb\xbf"), layout.key
        else:  # GB 18030: the Chinese header is not UTF-8
            assert not raw.startswith(b"\xef\xbb\xbf"), layout.key
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        for suffix in (".parquet", ".xlsx"):
            assert (feeds_dir / f"{layout.file_stem}{suffix}").is_file()
    departments = {layout.department for layout in LAYOUTS}
    assert {layout.department for layout in LAYOUTS if data.feeds[layout.key].height} == \
        departments


def test_enrolment_shape(data: Written) -> None:
    dibao = data.enrolled("dibao")
    tekun = data.enrolled("tekun")
    households = data.households.height
    assert dibao["household_id"].is_unique().all()
    assert 0.01 * households <= dibao.height <= 0.10 * households, dibao.height
    assert 0 < tekun.height < dibao.height
    assert tekun["person_id"].null_count() == 0
    assert "covered" not in data.enrolments.columns
    assert data.enrolments["household_id"].is_in(data.households["household_id"].implode()).all()


def test_households_sit_in_real_villages(data: Written) -> None:
    codes = {v.code for v in villages.villages(AREA)}
    outside = data.households.filter(~pl.col("area_code").is_in(sorted(codes)))
    assert outside.height == 0, outside.select("household_id", "area_code")
    assert data.households["area_code"].n_unique() > 1


def test_every_resident_id_is_valid_and_from_the_county(data: Written) -> None:
    persons = data.persons.join(data.households.select("household_id", "area_code"),
                                on="household_id", how="left")
    invalid = [i for i in persons["id_number"].to_list() if not idnumber.is_valid(i)]
    assert not invalid, invalid[:10]
    assert persons["id_number"].is_unique().all()
    elsewhere = persons.filter(pl.col("id_number").str.slice(0, 6)
                               != pl.col("area_code").str.slice(0, 6))
    assert elsewhere.height == 0, elsewhere.select("id_number", "area_code")


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    trees = []
    for run in ("first", "second"):
        d = district.build(AREA, 800, seed=5, today=TODAY)
        writer.write_district(d, tmp_path / run, xlsx=True)
        trees.append(sha256_tree(tmp_path / run))
    first, second = trees
    names = set(first)
    assert "manifest.json" in names and "truth.parquet" in names
    assert "dirty_rows.parquet" in names  # beside the truth, not among the feeds
    assert not any(name.startswith("feeds/") and "dirty" in name for name in names)
    assert sum(name.endswith(".csv") for name in names) == len(LAYOUTS)
    assert sum(name.endswith(".xlsx") for name in names) == len(LAYOUTS)
    assert first == second

    other = district.build(AREA, 800, seed=6, today=TODAY)
    writer.write_district(other, tmp_path / "other")
    assert (sha256_tree(tmp_path / "other")["persons.parquet"] != first["persons.parquet"])

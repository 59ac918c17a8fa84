"""The synthetic population generator: determinism, valid unique IDs, real villages, shapes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl
import pytest

from doudi.core import areacode, idnumber
from doudi.synth import cli, population, villages, writer

TODAY = dt.date(2026, 11, 23)
MONEY_HOUSEHOLD = ("financial_assets", "monthly_medical_expense", "monthly_education_expense")
MONEY_PERSON = ("income_wage", "income_business", "income_pension", "income_transfer",
                "income_property")


@pytest.fixture(scope="module")
def tunxi() -> population.Population:
    return population.generate("341002", 20_000, seed=1, today=TODAY)


@pytest.fixture(scope="module")
def guangdong() -> population.Population:
    return population.generate("44", 4_000, seed=3, today=TODAY)


def _with_age(persons: pl.DataFrame) -> pl.DataFrame:
    born = pl.col("birth_date")
    month_day = born.dt.month().cast(pl.Int32) * 100 + born.dt.day().cast(pl.Int32)
    before_birthday = (month_day > TODAY.month * 100 + TODAY.day).cast(pl.Int32)
    return persons.with_columns(
        age=(TODAY.year - born.dt.year().cast(pl.Int32) - before_birthday).cast(pl.Int32))


def _hashes(directory) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
            for name in (writer.HOUSEHOLDS_FILE, writer.PERSONS_FILE, writer.MANIFEST_FILE)}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        writer.write(population.generate("341002", 3_000, seed=seed, today=TODAY),
                     tmp_path / name)
    a, b, c = (_hashes(tmp_path / n) for n in "abc")
    assert a == b
    assert a[writer.PERSONS_FILE] != c[writer.PERSONS_FILE]
    assert a[writer.HOUSEHOLDS_FILE] != c[writer.HOUSEHOLDS_FILE]
    manifest = json.loads((tmp_path / "a" / writer.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["area"] == "341002" and manifest["seed"] == 5
    assert manifest["today"] == "2026-11-23" and manifest["households"] == 3_000
    back = pl.read_parquet(tmp_path / "a" / writer.PERSONS_FILE)
    assert back.height == manifest["persons"]


def test_cli_run_returns_counts_and_timings(tmp_path):
    result = cli.run("341002", 500, 2, tmp_path / "out", TODAY).summary
    assert result["households"] == 500 and result["persons"] > 500
    assert result["build_seconds"] >= 0 and result["write_seconds"] >= 0
    assert result["feed_rows"] > 500 and sum(result["truth"].values()) > 0
    for name in (writer.PERSONS_FILE, writer.TRUTH_FILE, writer.ENROLMENTS_FILE):
        assert (tmp_path / "out" / name).exists()


@pytest.mark.parametrize("which", ["tunxi", "guangdong"])
def test_ids_valid_unique_and_agree_with_person_and_county(which, request):
    pop = request.getfixturevalue(which)
    p = pop.persons.join(pop.households.select("household_id", "area_code"), on="household_id")
    assert p["id_number"].n_unique() == p.height
    assert all(idnumber.is_valid(i) for i in p["id_number"])
    assert (p["id_number"].str.slice(0, 6) == p["area_code"].str.slice(0, 6)).all()
    births = p["birth_date"].dt.strftime("%Y%m%d")
    assert (p["id_number"].str.slice(6, 8) == births).all()
    parity_male = p["id_number"].str.slice(16, 1).cast(pl.Int32) % 2 == 1
    assert (parity_male == (p["sex"] == "M")).all()
    for row in p.sample(200, seed=1).iter_rows(named=True):
        facts = idnumber.parse(row["id_number"], TODAY)
        assert (facts.birth_date, facts.sex) == (row["birth_date"], row["sex"])


def test_guangdong_ids_take_each_villages_county(guangdong):
    counties = guangdong.households["area_code"].str.slice(0, 6).unique()
    assert counties.len() > 20


def test_households_sit_in_real_villages_with_their_hukou(tunxi, guangdong):
    for pop, prefix in ((tunxi, "341002"), (guangdong, "44")):
        real = {v.code: v for v in villages.villages(prefix)}
        h = pop.households
        assert set(h["area_code"]) <= set(real)
        for code, hukou in h.select("area_code", "hukou").unique().iter_rows():
            assert hukou == ("urban" if real[code].is_urban else "rural")
    assert tunxi.households["area_code"].n_unique() == len(villages.villages("341002"))
    numbers = tunxi.households["number"]
    assert numbers.n_unique() == tunxi.households.height
    assert (numbers.str.len_chars() == 17).all()
    assert (numbers.str.slice(0, 12) == tunxi.households["area_code"]).all()
    assert tunxi.households["household_id"].to_list() == list(range(1, 20_001))


def test_villages_read_from_the_shipped_tables():
    vs = villages.villages("341002")
    assert len(vs) == 76
    assert all(len(v.code) == 12 and v.town_code == v.code[:9] and v.town_name for v in vs)
    assert {v.is_urban for v in vs} == {True, False}
    assert all(v.is_urban == areacode.is_urban_village(v.name) for v in vs)
    assert len(villages.villages("341002001")) < len(vs)
    with pytest.raises(ValueError):
        villages.villages("11")
    with pytest.raises(ValueError):
        villages.villages("3501")


def test_no_float_columns_and_money_is_int64(tunxi):
    for frame in (tunxi.households, tunxi.persons):
        assert not [c for c, t in frame.schema.items() if t.is_float()]
    for c in MONEY_HOUSEHOLD:
        assert tunxi.households.schema[c] == pl.Int64
        assert tunxi.households[c].min() >= 0
    for c in MONEY_PERSON:
        assert tunxi.persons.schema[c] == pl.Int64
        assert tunxi.persons[c].min() >= 0
    assert tunxi.households.schema["household_id"] == pl.Int64
    assert tunxi.persons.schema["person_id"] == pl.Int64


def test_household_shapes_follow_the_documented_shares(tunxi):
    h, n = tunxi.households, tunxi.households.height
    urban = (h["hukou"] == "urban").mean()
    counts = h["household_type"].value_counts()
    for kind, share_u, share_r in zip(population.HOUSEHOLD_TYPES,
                                      population.TYPE_SHARES["urban"],
                                      population.TYPE_SHARES["rural"], strict=True):
        expected = urban * share_u + (1 - urban) * share_r
        got = counts.filter(pl.col("household_type") == kind)["count"].sum() / n
        assert abs(got - expected) < 0.03, kind
    sizes = tunxi.persons.group_by("household_id").len()["len"]
    assert 0.20 <= (sizes == 1).mean() <= 0.30  # 2020 census: 25.4 % one-person households
    assert 2.5 <= tunxi.persons.height / n <= 3.1
    assert sizes.max() <= 9


def test_age_structure_and_generations(tunxi):
    p = _with_age(tunxi.persons)
    assert 0.14 <= (p["age"] < 15).mean() <= 0.25  # census 2020: 18 %
    assert 0.15 <= (p["age"] >= 60).mean() <= 0.28  # census 2020: 18.7 %
    assert p["age"].min() >= 0 and p["age"].max() <= 105
    heads = p.filter(pl.col("relation") == "head").select(
        "household_id", pl.col("age").alias("head_age"), pl.col("name").alias("head_name"))
    assert heads.height == tunxi.households.height
    j = p.join(heads, on="household_id")
    gap = j["head_age"] - j["age"]
    rel = j["relation"]
    assert (gap.filter(rel == "child") >= 18).all()
    assert (gap.filter(rel == "grandchild") >= 36).all()
    assert (gap.filter(rel.is_in(["parent", "parent_in_law"])) <= -18).all()
    # the head's spouse is a parent of the head's children too
    spouses = j.filter(pl.col("relation") == "spouse").select("household_id", spouse_age="age")
    kids = j.filter(pl.col("relation") == "child").join(spouses, on="household_id")
    assert (kids["spouse_age"] - kids["age"] >= 18).all()
    spouse_gap = gap.filter(rel == "spouse").abs()
    assert spouse_gap.median() <= 4
    # children and grandchildren carry the head's surname
    kin = j.filter(pl.col("relation").is_in(["child", "grandchild"]))
    assert (kin["name"].str.slice(0, 1) == kin["head_name"].str.slice(0, 1)).all()
    assert (p["name"].str.len_chars() >= 2).all()
    assert set(p["sex"].unique()) == {"M", "F"}
    assert 0.45 <= (p["sex"] == "M").mean() <= 0.55


def test_left_behind_children_and_migrants(tunxi):
    p = tunxi.persons.join(tunxi.households.select("household_id", "household_type"),
                           on="household_id")
    assert (p.filter(pl.col("migrant"))["co_resident"] == False).all()  # noqa: E712
    lb = p.filter(pl.col("household_type") == "left_behind")
    with_migrant = lb.group_by("household_id").agg(pl.col("migrant").any())
    assert with_migrant["migrant"].mean() > 0.9
    assert (lb.filter(pl.col("relation") == "head")["co_resident"]).all()
    orphans = p.filter(pl.col("orphan"))
    assert 0 < orphans.height < 0.002 * p.height
    assert p.filter(pl.col("de_facto_unsupported")).height < 0.003 * p.height
    assert (_with_age(orphans)["age"] < 18).all()
    childless = p.filter(pl.col("childless"))
    assert childless.height > 0
    assert set(childless["household_type"]) <= {"single_elder", "elderly_couple"}
    assert set(childless["relation"]) <= {"head", "spouse"}


def test_health_school_and_capacity_rates(tunxi):
    p = _with_age(tunxi.persons)
    disabled = p.filter(pl.col("disability_grade") > 0)
    assert 0.05 <= disabled.height / p.height <= 0.078  # 6.34 % (2006 survey)
    assert 0.25 <= (disabled["disability_grade"] <= 2).mean() <= 0.42
    cats = disabled["disability_category"].value_counts(sort=True)
    assert cats["disability_category"][0] == "physical"
    assert (p.filter(pl.col("disability_grade") == 0)["disability_category"] == "").all()
    assert 0.005 <= p["serious_illness"].mean() <= 0.03
    old_ill = p.filter(pl.col("age") >= 60)["serious_illness"].mean()
    assert old_ill > p.filter(pl.col("age") < 40)["serious_illness"].mean()
    assert (p.filter(pl.col("disability_grade") == 1)["labour_capacity"] == "none").all()
    assert (p.filter(pl.col("age") >= 70)["labour_capacity"] != "full").all()
    assert (p.filter(pl.col("age") < 16)["labour_capacity"] == "none").all()
    school = p.filter((pl.col("age") >= 7) & (pl.col("age") <= 10))
    assert (school["student_status"] == "primary").mean() > 0.95
    assert (p.filter(pl.col("age") < 3)["student_status"] == "").all()
    assert p.filter(pl.col("student_status") == "undergraduate")["age"].is_between(18, 22).all()
    adl = p["adl_failed"]
    assert adl.min() >= 0 and adl.max() <= 6
    old = p.filter(pl.col("age") >= 85)["adl_failed"]
    young_old = p.filter(pl.col("age").is_between(60, 69))["adl_failed"]
    assert (old > 0).mean() > (young_old > 0).mean()


def test_incomes_and_poor_households(tunxi):
    p = _with_age(tunxi.persons)
    for c in MONEY_PERSON:
        assert (p[c] == 0).mean() > 0.6  # many zeros
        assert (p[c] % 100 == 0).mean() > 0.5  # mostly whole yuan
    workers = p.filter(pl.col("income_wage") > 0)["income_wage"]
    assert 200_000 <= workers.median() <= 800_000  # 2,000–8,000 yuan a month
    assert workers.quantile(0.99) > 3 * workers.median()  # long tail
    assert (p.filter(pl.col("age") < 16)["income_wage"] == 0).all()
    old = p.filter(pl.col("age") >= 65)
    assert (old["income_pension"] > 0).mean() > 0.8
    counted = p.filter(pl.col("co_resident")).group_by("household_id").agg(
        pl.len().alias("n"), pl.sum_horizontal(MONEY_PERSON).sum().alias("income"))
    h = tunxi.households.join(counted, on="household_id")
    standard = 76_000  # 屯溪 低保 standard, fen per person per month
    below = (h["income"] < standard * h["n"]).mean()
    edge = ((h["income"] >= standard * h["n"]) & (h["income"] * 2 < 3 * standard * h["n"])).mean()
    assert 0.02 <= below <= 0.12
    assert 0.02 <= edge <= 0.15
    poor = h.filter(pl.col("economic_tier") == "poor")
    assert (poor["income"] < standard * poor["n"]).all()
    assert (poor["vehicles"] == 0).all() and (~poor["business"]).all()
    hardship = h.filter(pl.col("economic_tier") == "hardship")
    assert hardship.height > 0
    assert (hardship["monthly_medical_expense"] * 10 >= hardship["income"] * 6).all()
    assert (h["houses"].is_between(0, 3)).all()
    assert 0.2 <= (h["vehicles"] > 0).mean() <= 0.6


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        population.generate("341002", 0, seed=1, today=TODAY)
    with pytest.raises(ValueError):
        population.generate("12", 10, seed=1, today=TODAY)

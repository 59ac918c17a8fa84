"""The pure monitoring run on synthetic districts: every planted kind found (recall ≥ 0.95),
few false alarms (precision ≥ 0.9), the same warnings for the same inputs, thresholds that
districts tune, and indicators that refuse to be mis-written."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from doudi.engine.monitoring import indicators as ind
from doudi.engine.monitoring.against_truth import score
from doudi.engine.monitoring.overlay import overlay
from doudi.engine.monitoring.run import digest, run
from doudi.rules.shipped import shipped as shipped_parameters
from doudi.synth import district
from doudi.synth.monitoring_inputs import inputs

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def params():
    return shipped_parameters()


@pytest.fixture(scope="module", params=[(3, 6000), (11, 4000)], ids=["seed3", "seed11"])
def scored(request, params):
    seed, households = request.param
    d = district.build("341002", households, seed=seed, today=TODAY, parameters=params)
    out = run(inputs(d, params), ind.shipped())
    return d, out


def test_every_planted_kind_is_found_and_alarms_are_right(scored) -> None:
    d, out = scored
    table, overall = score(out.warnings, d.truth)
    planted = set(d.truth["kind"].unique().to_list())
    assert planted == set(table.filter(pl.col("truth") > 0)["kind"].to_list())
    assert len(planted) == 12  # every kind the synthetic district plants
    low = table.filter(pl.col("truth") > 0).filter(pl.col("recall") < 0.95)
    assert low.height == 0, low
    assert overall["precision"] >= 0.9, table
    assert not out.skipped


def test_warnings_carry_evidence_and_one_per_subject(scored) -> None:
    _, out = scored
    w = out.warnings
    assert w.filter(pl.col("evidence").is_null() | (pl.col("evidence") == "")).height == 0
    risk = w.filter(pl.col("kind") == "risk")
    assert risk["evidence"].str.starts_with('{"rows":[').all()
    assert not risk["evidence"].str.contains("[0-9]{17}[0-9X]").any()  # no full resident IDs
    keys = ["indicator", "household_id", "member_id", "programme"]
    assert w.select(keys).is_duplicated().sum() == 0
    # breadwinner deaths supersede the plain death warning of the same person
    both = w.filter(pl.col("indicator") == "breadwinner_death").join(
        w.filter(pl.col("indicator") == "death"), on=["household_id", "member_id"])
    assert both.height == 0


def test_same_inputs_same_warnings(params) -> None:
    d = district.build("341002", 2500, seed=8, today=TODAY, parameters=params)
    first = run(inputs(d, params), ind.shipped()).warnings
    second = run(inputs(d, params), ind.shipped()).warnings
    assert first.height > 0 and digest(first) == digest(second)


def test_a_tuned_threshold_changes_the_warnings(params) -> None:
    d = district.build("341002", 3000, seed=4, today=TODAY, parameters=params)
    shipped = ind.shipped()
    base = run(inputs(d, params), shipped).counts["medical_bill"]
    strict = [i.with_params({"excess": 30_000_000}) if i.key == "medical_bill" else i
              for i in shipped]
    assert run(inputs(d, params), strict).counts.get("medical_bill", 0) < base
    short = [i.with_params({"days": 1}) if i.key == "unemployment" else i for i in shipped]
    assert run(inputs(d, params), short).counts.get("unemployment", 0) < run(
        inputs(d, params), shipped).counts["unemployment"]


def test_a_feed_that_agrees_with_the_registry_changes_nothing(params) -> None:
    d = district.build("341002", 1500, seed=2, today=TODAY, parameters=params)
    i = inputs(d, params)
    planted_ids = set(d.truth["id_number"].drop_nulls().to_list())
    heads = set(d.population.persons.filter(
        pl.col("household_id").is_in(d.truth["household_id"].implode()))["id_number"].to_list())
    clean = {k: f.filter(~pl.col("id_number").is_in(sorted(planted_ids | heads)))
             for k, f in i.feeds.items()}
    laid = overlay(i.households, i.members, clean, TODAY)
    cols = ["vehicles", "non_residential_property", "business", "annual_rigid_expenditure"]
    before = i.households.sort("household_id").select("household_id", *cols)
    after = laid.households.sort("household_id").select("household_id", *cols)
    assert before.equals(after)
    m_cols = ["member_id", "income", "earned_income", "disability_grade", "student"]
    assert i.members.sort("member_id").select(m_cols).equals(
        laid.members.sort("member_id").select(m_cols))


def _registry() -> tuple[pl.DataFrame, pl.DataFrame]:
    from doudi.rules.frames import HOUSEHOLD_DEFAULTS, HOUSEHOLD_SCHEMA, MEMBER_DEFAULTS

    h = pl.DataFrame([{**HOUSEHOLD_DEFAULTS, "household_id": 1, "area_code": "341002102201",
                       "hukou": "urban", "annual_rigid_expenditure": 0,
                       "annual_medical_expense": 120_000}]).cast(
        {k: v for k, v in HOUSEHOLD_SCHEMA.items() if k != "household_id"})
    m = pl.DataFrame([
        {**MEMBER_DEFAULTS, "household_id": 1, "member_id": 11, "age": 40, "income": 150_000,
         "earned_income": 150_000, "wage": 150_000, "id_number": "A"},
        {**MEMBER_DEFAULTS, "household_id": 1, "member_id": 12, "age": 38, "income": 52_000,
         "earned_income": 52_000, "wage": 0, "id_number": "B"},
        {**MEMBER_DEFAULTS, "household_id": 1, "member_id": 13, "age": 70, "id_number": "C"},
    ])
    return h, m


def test_overlay_applies_each_kind_of_news() -> None:
    h, m = _registry()
    day = dt.date(2026, 11, 1)
    feeds = {
        "unemployment": pl.DataFrame({"id_number": ["A"], "registered_on": [day],
                                      "monthly_benefit": [162_000]}),
        "contribution": pl.DataFrame({"id_number": ["B"], "base": [100_000]}),
        "death_record": pl.DataFrame({"id_number": ["C"], "died_on": [day]}),
        "vehicle": pl.DataFrame({"id_number": ["A", "B"]}),
        "disability_certificate": pl.DataFrame({"id_number": ["B"], "grade": ["二级"],
                                                "category": ["肢体"], "status": ["有效"]}),
        "medical_settlement": pl.DataFrame({"id_number": ["A", "B"],
                                            "settled_on": [day, day - dt.timedelta(days=400)],
                                            "out_of_pocket": [500_000, 900_000]}),
    }
    laid = overlay(h, m, feeds, TODAY)
    a, b = (laid.members.filter(pl.col("member_id") == k).row(0, named=True) for k in (11, 12))
    assert (a["income"], a["earned_income"], a["wage"]) == (162_000, 0, 0)  # lost the wage
    assert (b["income"], b["earned_income"]) == (100_000, 100_000)  # base above 520 declared
    assert (b["disability_grade"], b["disability_type"]) == (2, "physical")
    assert 13 not in laid.members["member_id"].to_list() and laid.left == {13: "死亡"}
    row = laid.households.row(0, named=True)
    assert row["vehicles"] == 2
    assert row["annual_rigid_expenditure"] == 500_000 - 120_000  # the old bill is outside


@pytest.mark.parametrize(("doc", "message"), [
    ({"key": "x", "name": "x", "level": 2, "verify_days": 5, "source": "f"}, "指标代码"),
    ({"key": "xx", "level": 6, "verify_days": 5, "source": "f"}, "预警等级"),
    ({"key": "xx", "level": 2, "verify_days": 0, "source": "f"}, "核实时限"),
    ({"key": "xx", "level": 2, "verify_days": 5}, "数据来源"),
    ({"key": "xx", "level": 2, "verify_days": 5, "source": "f",
      "where": [["a", "~", 1]]}, "未知运算符"),
    ({"key": "xx", "level": 2, "verify_days": 5, "source": "f",
      "where": [["a", ">", "$nope"]]}, "未定义的参数"),
    ({"key": "xx", "level": 2, "verify_days": 5, "kind": "uncovered_eligible",
      "source": "f"}, "不设数据来源"),
    ({"key": "xx", "level": 2, "verify_days": 5, "source": "f",
      "params": {"d": {"value": -1, "unit": "days"}}}, "非负整数"),
])
def test_bad_indicators_are_refused(doc: dict, message: str) -> None:
    with pytest.raises(ind.IndicatorError, match=message):
        ind.parse_indicator(doc)


def test_tuning_refuses_unknown_or_bad_values() -> None:
    medical = next(i for i in ind.shipped() if i.key == "medical_bill")
    with pytest.raises(ind.IndicatorError, match="没有参数"):
        medical.with_params({"nope": 1})
    with pytest.raises(ind.IndicatorError, match="非负整数"):
        medical.with_params({"excess": "很多"})
    assert medical.with_params({"excess": 1}).value("$excess") == 1
    assert medical.value("$excess") == 300_000  # the shipped one is unchanged


def test_overdue_reviews_are_due_actions(params) -> None:
    from doudi.engine.monitoring.run import REVIEW_SCHEMA

    d = district.build("341002", 800, seed=6, today=TODAY, parameters=params)
    data = inputs(d, params)
    first = data.households.row(0, named=True)["household_id"]
    second = data.households.row(1, named=True)["household_id"]
    data.reviews = pl.DataFrame({
        "household_id": [first, second], "member_id": [None, None],
        "programme": ["dibao", "dibao"],
        "due_on": [TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=3)]},
        schema=REVIEW_SCHEMA)
    shipped = ind.shipped()
    late = run(data, shipped).warnings.filter(pl.col("indicator") == "review_overdue")
    assert late["household_id"].to_list() == [first]
    assert late["evidence"].to_list() == [f'{{"review_due":"{TODAY - dt.timedelta(days=3)}"}}']
    lenient = [i.with_params({"grace_days": 5}) if i.key == "review_overdue" else i
               for i in shipped]
    assert run(data, lenient).counts.get("review_overdue", 0) == 0


def test_the_order_of_rows_changes_nothing(params) -> None:
    """What lets Spark split the work: shuffled feeds, registry and enrollments give the same
    warnings, evidence included."""
    d = district.build("341002", 2000, seed=13, today=TODAY, parameters=params)
    data = inputs(d, params)
    first = run(data, ind.shipped()).warnings
    data.feeds = {k: f.sample(fraction=1.0, shuffle=True, seed=1) for k, f in data.feeds.items()}
    data.members = data.members.sample(fraction=1.0, shuffle=True, seed=2)
    data.households = data.households.sample(fraction=1.0, shuffle=True, seed=3)
    data.enrollments = data.enrollments.sample(fraction=1.0, shuffle=True, seed=4)
    assert digest(run(data, ind.shipped()).warnings) == digest(first)

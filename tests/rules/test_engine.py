"""The engine on households worked out by hand, rounding, integer money, and purity."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from doudi.rules.engine import evaluate, selected
from doudi.rules.frames import (
    HOUSEHOLD_SCHEMA,
    MEMBER_SCHEMA,
    InputError,
    fen_to_yuan,
    from_records,
    yuan_to_fen,
)
from doudi.rules.money import round_fraction
from doudi.rules.parameters import make_parameter
from doudi.rules.programmes import PROGRAMMES
from doudi.rules.scenarios import outputs
from doudi.rules.shipped import shipped

DAY = dt.date(2023, 6, 1)
GUANGZHOU = "440103001001"  # 荔湾区: standard 1238 (urban = rural), 按元四舍五入
TUNXI = "341002102000"  # 屯溪区: standard 760, rounding to the fen
TAISHAN = "440781100200"  # 台山 (四类): urban 857, rural 600


def run(household, params=None, day=DAY, programmes=None):
    household = {"id": "x", **household}
    h, m = from_records([household])
    result = evaluate(h, m, params or shipped(), day, programmes)
    return outputs(result, str(household["id"])), result


def Y(text):
    return Decimal(text).quantize(Decimal("0.01"))


# ---------------------------------------------------------------- worked examples


def test_guangzhou_three_person_household():
    """Standard 1238 × 3 = 3714. Member a earns 1500: 就业成本 60% × 1238 = 742.80 is deducted
    → 757.20; b has 300 (pension, not earned); c is a student with nothing. Family income
    1057.20, per capita 352.40. Base (3714 − 1057.20) × 3 ÷ 3 = 2656.80 → 2657 (nearest yuan).
    分类施保: one student × 20% × 1238 = 247.60 → 248. Total 2905."""
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "financial_assets": "20000", "members": [
        {"id": "a", "age": 40, "income": "1500", "earned_income": "1500"},
        {"id": "b", "age": 38, "income": "300"},
        {"id": "c", "age": 10, "student": True},
    ]})
    assert out["dibao.members"] == 3 and out["dibao.covered"] == 3
    assert out["dibao.family_income"] == Y("1057.20")
    assert out["dibao.per_capita_income"] == Y("352.40")
    assert out["dibao.eligible"] is True
    assert out["dibao.base"] == Y("2657")
    assert out["dibao.addon"] == Y("248")
    assert out["dibao.amount"] == Y("2905")
    assert out["edge.eligible"] is False
    assert out["hardship.annual_income"] == Y("21600")  # 12 × (1500 + 300)
    for member in "abc":
        assert out[f"tekun.{member}.eligible"] is False
        assert out[f"child.{member}.amount"] == 0


def test_guangzhou_deduction_may_exceed_the_earnings():
    """广州 allows the 742.80 deduction beyond a 500 wage: the member counts −242.80, the family
    income is floored at 0 only in total: 1000 − 242.80 = 757.20."""
    out, result = run({"area": GUANGZHOU, "hukou": "rural", "members": [
        {"id": "a", "age": 30, "income": "500", "earned_income": "500"},
        {"id": "b", "age": 55, "income": "1000"},
    ]})
    assert out["dibao.family_income"] == Y("757.20")
    # (2476 − 757.20) = 1718.80 → 1719
    assert out["dibao.amount"] == Y("1719")
    assert result.households["dibao.deduction_total"].item() == 74_280


def test_guangzhou_edge_family_with_single_person_admission():
    """Per capita 1300 > 1238 but ≤ 1.5 × 1238: 低保边缘. The grade-1 member is admitted alone at
    100% of the standard, and gets both disability subsidies (边缘 is a living-subsidy group)."""
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "members": [
        {"id": "a", "age": 50, "income": "2600"},
        {"id": "b", "age": 48, "disability_grade": 1, "disability_type": "physical"},
    ]})
    assert out["dibao.eligible"] is False
    assert out["edge.eligible"] is True
    assert out["single_person.eligible"] is True
    assert out["single_person.members"] == ["b"]
    assert out["single_person.amount"] == Y("1238")
    assert out["disability.b.living_subsidy"] == Y("202")
    assert out["disability.b.care_subsidy"] == Y("261")
    assert out["disability.a.care_subsidy"] == 0


def test_guangzhou_hardship_and_linshi():
    """Not 低保 (1500 per head); annual income 12 × 3000 = 36000 < 2 × 76849; rigid spending
    30000 ≥ 60% × 36000: 支出型. An emergency request of 10000 is capped by 3 months × 1238 × 2
    = 7428 and by what is left of the 50000 annual cap after 45000: 5000."""
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "annual_rigid_expenditure": "30000",
                  "linshi": {"type": "emergency", "need": "10000",
                             "received_this_year": "45000"},
                  "members": [{"id": "a", "age": 50, "income": "1500"},
                              {"id": "b", "age": 50, "income": "1500"}]})
    assert out["hardship.annual_income"] == Y("36000")
    assert out["hardship.eligible"] is True
    assert out["linshi.eligible"] is True
    assert out["linshi.cap"] == Y("7428")
    assert out["linshi.amount"] == Y("5000")


def test_guangzhou_tekun_rounds_to_the_yuan():
    """1.6 × 1238 = 1980.80 → 1981 (published as 1981), care 2% × 2300 = 46."""
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "members": [
        {"id": "a", "age": 80, "has_supporter": False}]})
    assert out["tekun.a.eligible"] is True
    assert out["tekun.a.care_level"] == "independent"
    assert out["tekun.a.amount"] == Y("2027")


@pytest.mark.parametrize(
    ("adl_failed", "level", "amount"),
    [
        (0, "independent", "1045"),  # 988 + 3% × 1870 = 56.10 → 57
        (2, "partial", "1362"),  # 988 + 20% × 1870 = 374
        (4, "full", "1643"),  # 988 + 35% × 1870 = 654.50 → 655
        (6, "full", "1643"),
    ],
)
def test_tunxi_single_elderly_tekun(adl_failed, level, amount):
    """屯溪: basic living 1.3 × 760 = 988.00 (national multiple; 广东's 1.6 does not reach
    Anhui) plus care by self-care level on the 1870 base (屯溪's tier-3 minimum wage), 特困
    amounts rounded up to the yuan as 安徽 pays them while 低保 stays to the fen."""
    out, _ = run({"area": TUNXI, "hukou": "rural", "members": [
        {"id": "a", "age": 75, "has_supporter": False, "adl_failed": adl_failed}]})
    assert out["tekun.a.eligible"] is True
    assert out["tekun.a.care_level"] == level
    assert out["tekun.a.amount"] == Y(amount)
    # alone with no income the person also passes the 低保 test: 760 − 0
    assert out["dibao.amount"] == Y("760")


@pytest.mark.parametrize(
    ("change", "fails"),
    [
        ({"has_supporter": True}, "supporter"),
        ({"income": "760"}, "own income not below the standard"),
        ({"age": 59}, "able to work"),
    ],
)
def test_tunxi_tekun_each_criterion_matters(change, fails):
    member = {"id": "a", "age": 75, "has_supporter": False, **change}
    out, _ = run({"area": TUNXI, "hukou": "urban", "members": [member]})
    assert out["tekun.a.eligible"] is False, fails
    assert out["tekun.a.amount"] == 0


def test_tunxi_taper():
    """Enrolled family of two; wages 2000 minus the 30% × 760 = 228 deduction (capped at the
    wage, national rule) → 1772 ≥ 1520: above the standard, but only because of work and within
    1.5 × 760 × 2 = 2280: six months of 100/100/80/80/60/60% of the current 500."""
    out, _ = run({"area": TUNXI, "hukou": "urban", "dibao_enrolled": True,
                  "dibao_current_amount": "500", "members": [
                      {"id": "a", "age": 40, "income": "2000", "earned_income": "2000"},
                      {"id": "b", "age": 12}]})
    assert out["dibao.family_income"] == Y("1772")
    assert out["dibao.eligible"] is False
    assert out["taper.eligible"] is True
    assert out["taper.months"] == 6
    assert out["taper.amounts"] == [Y(v) for v in ("500", "500", "400", "400", "300", "300")]


@pytest.mark.parametrize(
    ("area", "hukou", "n", "amount"),
    [(GUANGZHOU, "urban", 2, "2476"), (TUNXI, "rural", 4, "3040"),
     (TAISHAN, "rural", 3, "1800"), (TAISHAN, "urban", 3, "2571")],
)
def test_households_whose_members_have_no_income(area, hukou, n, amount):
    members = [{"id": f"m{i}", "age": 30 + i} for i in range(n)]
    out, _ = run({"area": area, "hukou": hukou, "members": members})
    assert out["dibao.family_income"] == 0
    assert out["dibao.per_capita_income"] == 0
    assert out["dibao.eligible"] is True
    assert out["dibao.amount"] == Y(amount)


def _assert_nothing_granted(out):
    for name, value in out.items():
        if name.endswith("eligible"):
            assert not value, name
        elif isinstance(value, Decimal):
            assert value == 0, name
        elif isinstance(value, list):
            assert value == [], name


def test_household_without_members_does_not_crash_and_gets_nothing():
    out, result = run({"area": GUANGZHOU, "hukou": "urban", "financial_assets": "0",
                       "linshi": {"type": "emergency", "need": "1000"}})
    assert result.households.height == 1 and result.members.height == 0
    assert out["dibao.members"] == 0
    assert out["dibao.per_capita_income"] is None
    _assert_nothing_granted(out)


def test_household_without_members_among_others():
    records = [
        {"id": "empty", "area": TUNXI, "hukou": "urban"},
        {"id": "one", "area": TUNXI, "hukou": "urban", "members": [{"id": "a", "age": 30}]},
        {"id": "empty2", "area": GUANGZHOU, "hukou": "rural", "annual_income": "0",
         "annual_rigid_expenditure": "5000", "dibao_enrolled": True,
         "dibao_current_amount": "300"},
    ]
    h, m = from_records(records)
    result = evaluate(h, m, shipped(), DAY)
    assert result.households.get_column("household_id").to_list() == ["empty", "one", "empty2"]
    _assert_nothing_granted(outputs(result, "empty"))
    _assert_nothing_granted(outputs(result, "empty2"))
    assert outputs(result, "one")["dibao.amount"] == Y("760")


def test_household_whose_members_all_live_elsewhere_is_not_eligible():
    out, _ = run({"area": TUNXI, "hukou": "urban", "members": [
        {"id": "a", "age": 30, "co_resident": False}]})
    assert out["dibao.members"] == 0
    assert out["dibao.eligible"] is False and out["edge.eligible"] is False
    assert out["dibao.amount"] == 0


def test_refused_work_is_counted_at_the_imputed_income_and_not_covered():
    """屯溪: b refuses work and is counted at 1870; 3 × 760 = 2280 > 1870, so the family is
    eligible, but only a and c are covered: (2280 − 1870) × 2 ÷ 3 = 273.33."""
    out, _ = run({"area": TUNXI, "hukou": "urban", "members": [
        {"id": "a", "age": 70}, {"id": "b", "age": 30, "refused_work": True},
        {"id": "c", "age": 8}]})
    assert out["dibao.family_income"] == Y("1870")
    assert (out["dibao.members"], out["dibao.covered"]) == (3, 2)
    assert out["dibao.amount"] == Y("273.33")


def test_asset_tests():
    base = {"area": TUNXI, "hukou": "urban", "members": [{"id": "a", "age": 30}]}
    limit = "18240"  # 24 months × 760 × 1 person
    assert run({**base, "financial_assets": limit})[0]["dibao.eligible"] is True
    assert run({**base, "financial_assets": "18240.01"})[0]["dibao.eligible"] is False
    for field, value in (("houses", 2), ("vehicles", 1), ("non_residential_property", 1),
                         ("business", True)):
        out, _ = run({**base, field: value})
        assert out["dibao.eligible"] is False, field
        assert out["dibao.assets_ok"] is False, field


# ---------------------------------------------------------------- rounding


def _single(income, **overrides):
    params = shipped()
    if overrides:
        params = params.with_overrides(overrides, GUANGZHOU[:6], DAY)
    out, _ = run({"area": GUANGZHOU, "hukou": "urban",
                  "members": [{"id": "a", "age": 40, "income": income}]}, params)
    return out["dibao.amount"]


@pytest.mark.parametrize(
    ("income", "mode", "step", "expected"),
    [
        ("100.50", "half_up", 1, "1138"),  # gap 1137.50: a tie rounds up
        ("100.50", "down", 1, "1137"),
        ("100.50", "up", 1, "1138"),
        ("100.60", "half_up", 1, "1137"),  # gap 1137.40
        ("100.60", "up", 1, "1138"),
        ("100.40", "half_up", 1, "1138"),  # gap 1137.60
        ("100.40", "down", 1, "1137"),
        ("100.50", "half_up", 10, "1140"),  # to 10 yuan: 1137.50 → 1140
        ("100.50", "down", 10, "1130"),
        ("100.50", "up", 10, "1140"),
        ("133.00", "half_up", 10, "1110"),  # 1105 is a tie → up
        ("133.01", "half_up", 10, "1100"),  # 1104.99
        ("100.57", "half_up", "0.01", "1137.43"),
        ("100.57", "up", "0.1", "1137.50"),
        ("100.57", "down", "0.1", "1137.40"),
    ],
)
def test_rounding_modes(income, mode, step, expected):
    assert _single(income, **{"dibao.rounding.mode": mode, "dibao.rounding": step}) == Y(expected)


def test_rounding_applies_once_to_the_shared_gap():
    """Three members, one refuses work: (3714 − 2300) × 2 ÷ 3 = 942.666… → 943 (not 2 × 471.33)."""
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "members": [
        {"id": "a", "age": 40, "refused_work": True}, {"id": "b", "age": 70},
        {"id": "c", "age": 5}]})
    assert out["dibao.base"] == Y("943")
    params = shipped().with_overrides({"dibao.rounding.mode": "down"}, GUANGZHOU, DAY)
    out, _ = run({"area": GUANGZHOU, "hukou": "urban", "members": [
        {"id": "a", "age": 40, "refused_work": True}, {"id": "b", "age": 70},
        {"id": "c", "age": 5}]}, params)
    assert out["dibao.base"] == Y("942")


def test_min_amount_floor():
    params = shipped().with_overrides({"dibao.min_amount": 50}, GUANGZHOU, DAY)
    out, result = run({"area": GUANGZHOU, "hukou": "urban",
                       "members": [{"id": "a", "age": 40, "income": "1200"}]}, params)
    assert out["dibao.base"] == Y("50")  # the gap of 38 is raised to 50
    assert result.households["dibao.min_applied"].item() is True


@pytest.mark.parametrize(
    ("numer", "denom", "step", "mode", "expected"),
    [
        (15, 10, 1, "half_up", 2), (14, 10, 1, "half_up", 1), (25, 10, 1, "half_up", 3),
        (11, 10, 1, "up", 2), (19, 10, 1, "down", 1), (10, 10, 1, "up", 1),
        (0, 7, 100, "up", 0), (-500, 3, 1, "half_up", 0), (-1, 1, 1, "up", 0),
        (1_050, 1, 100, "half_up", 1_100), (1_049, 1, 100, "half_up", 1_000),
        (1_001, 1, 100, "up", 1_100), (1_099, 1, 100, "down", 1_000),
    ],
)
def test_round_fraction(numer, denom, step, mode, expected):
    frame = pl.DataFrame({"n": [numer], "s": [step], "m": [mode]}, schema={
        "n": pl.Int64, "s": pl.Int64, "m": pl.String})
    got = frame.select(round_fraction(pl.col("n"), denom, pl.col("s"), pl.col("m"))).item()
    assert got == expected


def test_a_mode_that_differs_by_row_rounds_as_the_same_mode_for_the_whole_batch():
    """A mode read row by row (one division and its remainder) against each mode given once
    for the batch (its own formula), over every numerator up to a few units."""
    numer = pl.int_range(-3, 2_000, eager=True, dtype=pl.Int64)
    for denom in (1, 3, 7, 10_000):
        for step in (1, 100):
            frame = pl.DataFrame({"n": numer, "s": step}).with_columns(pl.col("s").cast(pl.Int64))
            for mode in ("up", "down", "half_up"):
                by_row = frame.with_columns(pl.lit(mode).alias("m")).select(
                    round_fraction(pl.col("n"), denom, pl.col("s"), pl.col("m")))
                once = frame.select(round_fraction(pl.col("n"), denom, pl.col("s"), mode))
                assert by_row.to_series().to_list() == once.to_series().to_list(), \
                    (denom, step, mode)


# ---------------------------------------------------------------- integer money


def _amount_columns():
    cols = {}
    for prog in PROGRAMMES.values():
        if prog.amount:
            cols[prog.amount] = prog.level
        for column, kind in prog.outputs.values():
            if kind in {"yuan", "yuan_list"}:
                cols[column] = prog.level
    return cols


MONEY_EXTRA = ("standard", "dibao.threshold", "dibao.gap_amount", "dibao.asset_limit",
               "edge.threshold", "linshi.annual_remaining", "single_person.each",
               "hardship.income_limit", "tekun.basic", "tekun.care", "disability.total")


def test_money_is_never_float():
    records = [
        {"id": "a", "area": GUANGZHOU, "hukou": "urban", "linshi": {"type": "advance",
                                                                    "need": "99.99"},
         "members": [{"id": "a", "age": 67, "income": "123.45", "earned_income": "23.45",
                      "has_supporter": False, "adl_failed": 3}]},
        {"id": "b", "area": TUNXI, "hukou": "rural", "dibao_enrolled": True,
         "dibao_current_amount": "333.33",
         "members": [{"id": "a", "age": 9, "orphan": True}]},
        {"id": "c", "area": TAISHAN, "hukou": "rural"},
    ]
    result = evaluate(*from_records(records), shipped(), DAY)
    frames = {"household": result.households, "member": result.members}
    cols = _amount_columns()
    assert "dibao.amount" in cols and "tekun.amount" in cols and "taper.amounts" in cols
    for column, level in {**cols, **dict.fromkeys(MONEY_EXTRA, None)}.items():
        frame = frames[level] if level else (
            result.households if column in result.households.columns else result.members)
        dtype = frame.schema[column]
        inner = dtype.inner if isinstance(dtype, pl.List) else dtype
        assert inner.is_integer(), f"{column}: {dtype}"
    for name, frame in frames.items():
        floats = [c for c, t in frame.schema.items() if t.is_float() or t.is_decimal()]
        assert not floats, f"{name}: {floats}"


def test_input_schemas_carry_money_as_integers():
    for schema in (HOUSEHOLD_SCHEMA, MEMBER_SCHEMA):
        assert not [c for c, t in schema.items() if t.is_float()]
    h, m = from_records([{"area": TUNXI, "hukou": "urban", "financial_assets": "1,234.56",
                          "members": [{"age": 40, "income": 0.1, "earned_income": "0.05"}]}])
    assert h["financial_assets"].item() == 123_456
    assert (m["income"].item(), m["earned_income"].item()) == (10, 5)


@pytest.mark.parametrize(
    ("value", "fen"), [("1238", 123_800), ("0.01", 1), (12.5, 1_250), ("1,000.10", 100_010),
                       (0, 0), ("1e2", 10_000)])
def test_yuan_to_fen(value, fen):
    assert yuan_to_fen(value, "f") == fen
    assert isinstance(yuan_to_fen(value, "f"), int)


@pytest.mark.parametrize("value", ["1.001", "abc", True, "NaN", "Infinity", "", 0.333])
def test_yuan_to_fen_rejects(value):
    with pytest.raises(InputError, match="f"):
        yuan_to_fen(value, "f")


def test_fen_to_yuan():
    assert fen_to_yuan(123_805) == Decimal("1238.05")
    assert fen_to_yuan(None) is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"hukou": "city"}, "hukou"),
        ({"hukou": "urban", "members": [{"id": "a"}]}, "缺少 age"),
        ({"hukou": "urban", "members": [{"age": 1, "disability_type": "x"}]}, "disability_type"),
        ({"hukou": "urban", "members": [{"age": 1, "disability_grade": 5}]}, "disability_grade"),
        ({"hukou": "urban", "members": [{"age": 1, "adl_failed": 7}]}, "adl_failed"),
        ({"hukou": "urban", "members": [{"age": 1, "income": "1.234"}]}, "成员 1 income"),
        ({"hukou": "urban", "financial_assets": "lots"}, "financial_assets"),
        ({"hukou": "urban", "linshi": {"type": "emergency", "need": "x"}}, "linshi_need"),
    ],
)
def test_from_records_rejects_bad_input(record, message):
    with pytest.raises(InputError, match=message):
        from_records([{"id": "h1", "area": TUNXI, **record}])


def test_from_records_rejects_non_numeric_age():
    with pytest.raises(InputError, match="age"):
        from_records([{"id": "h1", "area": TUNXI, "hukou": "urban",
                       "members": [{"id": "a", "age": "forty"}]}])


def test_negative_money_never_becomes_a_negative_payment():
    record = {"id": "n", "area": GUANGZHOU, "hukou": "urban",
              "linshi": {"type": "emergency", "need": "-100"}, "members": [{"id": "a", "age": 40}]}
    try:
        h, m = from_records([record])
    except InputError:
        return
    out = outputs(evaluate(h, m, shipped(), DAY), "n")
    assert out["linshi.amount"] >= 0


def test_no_linshi_request_means_not_eligible():
    """Not None: a null linshi_type must not leak three-valued logic into the outputs."""
    out, result = run({"area": TUNXI, "hukou": "urban", "members": [{"id": "a", "age": 30}]})
    assert out["linshi.amount"] == 0
    assert out["linshi.eligible"] is False
    assert result.households["linshi.requested"].item() is False


# ---------------------------------------------------------------- programmes and batches


def test_selected_programmes_include_prerequisites():
    assert [p.name for p in selected(["edge"])] == ["dibao", "edge"]
    assert len(selected(None)) == len(PROGRAMMES)
    with pytest.raises(ValueError, match="未知的救助项目"):
        selected(["nope"])


def test_evaluating_a_subset_of_programmes():
    out, result = run({"area": TUNXI, "hukou": "urban", "members": [{"id": "a", "age": 30}]},
                      programmes=["dibao"])
    assert out["dibao.amount"] == Y("760")
    assert "edge.eligible" not in result.households.columns


def test_a_parameter_change_applies_from_its_date_only():
    params = shipped().with_rows([make_parameter(
        "dibao.standard.urban", "341002", "2023-07-01", 800, "yuan_month", reference="测试")])
    household = {"area": TUNXI, "hukou": "urban", "members": [{"id": "a", "age": 30}]}
    assert run(household, params, dt.date(2023, 6, 30))[0]["dibao.amount"] == Y("760")
    assert run(household, params, dt.date(2023, 7, 1))[0]["dibao.amount"] == Y("800")


def test_list_parameters_that_differ_by_area_do_not_leak_between_areas():
    """广州 lists students for 分类施保 and 屯溪 lists nobody; a 屯溪 student gets no add-on
    whether or not a 广州 household is evaluated alongside."""
    tunxi = {"id": "t", "area": TUNXI, "hukou": "urban", "members": [
        {"id": "a", "age": 40}, {"id": "b", "age": 15, "student": True}]}
    guangzhou = {**tunxi, "id": "g", "area": GUANGZHOU}
    alone = outputs(evaluate(*from_records([tunxi]), shipped(), DAY), "t")
    together = evaluate(*from_records([guangzhou, tunxi]), shipped(), DAY)
    assert alone["dibao.addon"] == 0
    assert outputs(together, "t") == alone
    assert outputs(together, "g")["dibao.addon"] == Y("248")  # 20% × 1238 = 247.60


def test_table_parameters_with_different_entries_do_not_leak_between_areas():
    params = shipped().with_rows([make_parameter(
        "tekun.no_capacity.disability", "4401", "2023-01-01",
        {"any": 1, "intellectual": 3, "mental": 3}, "table", reference="测试")])
    tunxi = {"id": "t", "area": TUNXI, "hukou": "urban", "members": [
        {"id": "a", "age": 40, "disability_grade": 2, "disability_type": "hearing",
         "has_supporter": False}]}
    other = {"id": "o", "area": GUANGZHOU, "hukou": "urban", "members": [{"id": "a", "age": 40}]}
    alone = outputs(evaluate(*from_records([tunxi]), params, DAY), "t")
    together = outputs(evaluate(*from_records([tunxi, other]), params, DAY), "t")
    assert alone["tekun.a.eligible"] is False
    assert together == alone

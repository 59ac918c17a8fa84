"""A programme whose parameter is missing for the area on the day is 不可计算 on its own (and so is
every programme that reads its results), while the others compute; `strict` still raises."""

import datetime as dt

import pytest

from doudi.rules.engine import evaluate, missing_column, unavailable
from doudi.rules.explain import explain, render_text
from doudi.rules.frames import from_records
from doudi.rules.parameters import ParameterMissing, ParameterSet
from doudi.rules.scenarios import outputs
from doudi.rules.shipped import shipped

DAY = dt.date(2023, 6, 1)
GUANGZHOU = "440106"
TUNXI = "341002102000"


def without(*keys: str, area: str | None = None) -> ParameterSet:
    """The shipped set without the rows of `keys` (only those of `area` and its ancestors)."""
    return ParameterSet([p for p in shipped()
                         if not (p.key in keys and (area is None or area.startswith(p.area)))])


def run(params, area=GUANGZHOU, day=DAY, **household):
    record = {"id": "x", "area": area, "hukou": "urban",
              "members": [{"id": "a", "age": 75, "has_supporter": False,
                           "disability_grade": 1, "disability_type": "physical"},
                          {"id": "b", "age": 10, "orphan": True, "has_supporter": False}],
              **household}
    result = evaluate(*from_records([record]), params, day)
    return outputs(result, "x"), result


def test_one_missing_key_leaves_the_other_programmes_computed():
    out, result = run(without("hardship.income_reference"), annual_rigid_expenditure=20000,
                      linshi={"type": "emergency", "need": 500})
    reason = f"不可计算：缺少参数 hardship.income_reference（区划 {GUANGZHOU}，日期 2023-06-01）"
    assert (out["hardship.status"], out["hardship.reason"]) == ("不可计算", reason)
    assert out["hardship.eligible"] is None and out["hardship.annual_income"] is None
    # 临时救助 reads 支出型's income test: not computed either, naming the root key
    assert (out["linshi.status"], out["linshi.reason"]) == ("不可计算", reason)
    assert out["linshi.amount"] is None
    # the rest is computed as usual: 低保 two persons, no income → 1238 × 2
    assert out["dibao.status"] == "符合" and out["dibao.reason"] is None
    assert str(out["dibao.amount"]) == "2476.00"
    assert out["tekun.a.status"] == "符合" and str(out["tekun.a.amount"]) == "2027.00"
    assert out["child.b.status"] == "符合" and str(out["child.b.amount"]) == "2875.00"
    assert unavailable(result.households) == [
        ("hardship", "440106", "hardship.income_reference"),
        ("linshi", "440106", "hardship.income_reference")]


def test_a_programme_read_by_the_disability_subsidy_blocks_it_where_its_group_is_listed():
    # 广东 lists 低保、边缘、单人保 among the living-subsidy groups, not 特困
    out, _ = run(without("tekun.care.base"))
    assert out["tekun.a.status"] == "不可计算"
    assert out["disability.a.status"] == "符合"  # 特困 is not a group in 广东
    assert str(out["disability.a.care_subsidy"]) == "261.00"
    # where 特困 is listed, the subsidy reads it: not computed, naming 特困's missing key
    params = without("tekun.care.base").with_overrides(
        {"disability.living_subsidy.groups": ["dibao", "tekun"]}, GUANGZHOU, DAY)
    out, _ = run(params)
    assert out["disability.a.status"] == "不可计算"
    assert "tekun.care.base" in out["disability.a.reason"]
    assert out["disability.a.care_subsidy"] is None and out["disability.a.living_subsidy"] is None


def test_without_a_standard_only_what_does_not_read_dibao_is_computed():
    out, result = run(shipped(), area="110101001001")
    blocked = {k.split(".")[0] for k, v in out.items() if k.endswith("status") and v == "不可计算"}
    assert blocked == {"dibao", "edge", "single_person", "hardship", "taper", "linshi", "tekun",
                       "disability"}
    assert out["child.b.status"] == "符合"
    # every result column of a blocked programme is blank, nothing computed from a stand-in
    row = result.households.to_dicts()[0]
    assert all(row[c] is None for c in row if c.startswith("dibao.")
               and c not in {"dibao.missing"} and c not in result.constants
               and not c.startswith("dibao.standard"))
    assert row[missing_column("dibao")] == "dibao.standard.urban"


def test_areas_of_one_batch_are_blocked_on_their_own():
    params = without("hardship.income_reference", area="341002")  # national row stays
    params = ParameterSet([p for p in params if not (p.key == "hardship.income_reference"
                                                      and p.area in {"", "34", "3410"})])
    records = [{"id": "gz", "area": GUANGZHOU, "hukou": "urban", "members": [{"age": 30}]},
               {"id": "tx", "area": TUNXI, "hukou": "urban", "members": [{"age": 30}]}]
    result = evaluate(*from_records(records), params, DAY)
    gz, tx = outputs(result, "gz"), outputs(result, "tx")
    assert gz["hardship.status"] == "不符合" and tx["hardship.status"] == "不可计算"
    assert gz["dibao.status"] == tx["dibao.status"] == "符合"


def test_strict_raises_as_before():
    h, m = from_records([{"id": "x", "area": GUANGZHOU, "hukou": "urban",
                          "members": [{"age": 30}]}])
    with pytest.raises(ParameterMissing, match="缺少参数 上年居民人均可支配收入"):
        evaluate(h, m, without("hardship.income_reference"), DAY, strict=True)
    evaluate(h, m, shipped(), DAY, strict=True)  # nothing missing: no error


def test_explanation_says_it_once_per_programme():
    _, result = run(without("tekun.care.base"))
    found = [e for e in explain(result, "x") if e.name == "tekun"]
    assert len(found) == 1 and found[0].subject is None and found[0].missing == "tekun.care.base"
    text = render_text(explain(result, "x"))
    assert ("【特困人员救助供养】不可计算：缺少参数 tekun.care.base"
            "（区划 440106，日期 2023-06-01）") in text
    assert "【最低生活保障】符合" in text

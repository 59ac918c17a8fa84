"""Names a person types are checked: unknown household, member and case keys, outputs and
parameter keys are refused with the nearest known name; a member's sex is read or derived from
the resident ID; the optional parameters fall back as documented."""

import datetime as dt
import textwrap

import pytest

from doudi.core import idnumber
from doudi.rules import scenarios
from doudi.rules.engine import evaluate
from doudi.rules.frames import InputError, from_records, sex_of
from doudi.rules.parameters import ParameterError
from doudi.rules.scenarios import outputs
from doudi.rules.shipped import load_file, shipped

DAY = dt.date(2023, 6, 1)
GUANGZHOU = "440106"


def frames(**household):
    return from_records([{"id": "x", "area": GUANGZHOU, "hukou": "urban", **household}])


@pytest.mark.parametrize(
    ("household", "message"),
    [
        ({"members": [{"age": 40, "incom": 5000}]}, "未知的成员输入 incom（是否应为 income？）"),
        ({"finacial_assets": 1, "members": []},
         "未知的家庭输入 finacial_assets（是否应为 financial_assets？）"),
        ({"linshi": {"type": "emergency", "nede": 5}},
         "未知的临时救助输入 nede（是否应为 need？）"),
        ({"members": [{"age": 40, "sex": "x"}]}, "sex 应为 male、female、男 或 女"),
        ({"members": [{"age": 40, "id_number": "440106196703010103"}]}, "校验码错误"),
        ({"members": ["a"]}, "第 1 名成员应为键值对"),
    ],
)
def test_unknown_and_bad_inputs_are_refused(household, message):
    with pytest.raises(InputError, match=message.replace("（", r"\（").replace("？）", r"？\）")):
        frames(**household)


def test_a_misspelt_income_is_no_longer_ignored():
    with pytest.raises(InputError, match="incom"):
        frames(members=[{"age": 40, "incom": 5000}])


@pytest.mark.parametrize(
    ("sex", "id_number", "expected"),
    [("male", None, "male"), ("女", None, "female"), ("男", None, "male"), ("F", None, "female"),
     (None, idnumber.make("440106", dt.date(1967, 3, 1), 5, "F"), "female"),
     (None, idnumber.make("440106", dt.date(1967, 3, 1), 5, "M"), "male"),
     # what is given wins over the ID
     ("male", idnumber.make("440106", dt.date(1967, 3, 1), 5, "F"), "male"),
     (None, None, None), ("", "", None)],
)
def test_sex_is_given_or_read_from_the_id(sex, id_number, expected):
    assert sex_of(sex, id_number) == expected


def addon(**member):
    h, m = frames(members=[{"id": "a", "age": 56, "childless": True, **member}])
    return str(outputs(evaluate(h, m, shipped(), DAY), "x")["dibao.addon"])


def test_female_elderly_age_falls_back_to_the_general_age():
    # 广州: women from 55 (1238 × 20% = 247.6 → 248), men and unknown from 60
    assert addon(sex="female") == "248.00"
    assert addon(sex="male") == "0.00" and addon() == "0.00"
    params = shipped().with_overrides({"dibao.addon.elderly_age": 50}, GUANGZHOU, DAY)
    h, m = frames(members=[{"id": "a", "age": 52, "sex": "male", "childless": True}])
    assert str(outputs(evaluate(h, m, params, DAY), "x")["dibao.addon"]) == "248.00"


def test_optional_keys_can_be_overridden_without_a_shipped_row():
    params = shipped().with_overrides({"tekun.basic.urban": "2100.5"}, GUANGZHOU, DAY)
    row = params.resolve("tekun.basic.urban", GUANGZHOU, DAY)
    assert row.unit == "yuan_month"
    with pytest.raises(ParameterError,
                       match=r"未知的参数 tekun\.basic\.urbn（是否应为 tekun\.basic\.urban"):
        shipped().with_overrides({"tekun.basic.urbn": 1}, GUANGZHOU, DAY)


def test_a_parameter_file_with_an_unknown_key_is_refused(tmp_path):
    path = tmp_path / "local.yaml"
    path.write_text(textwrap.dedent("""\
        area: "4401"
        parameters:
          - {key: dibao.standard.urbn, unit: yuan_month, value: 1300, effective: 2024-01-01,
             reference: x}
        """), encoding="utf-8")
    with pytest.raises(ParameterError, match="local.yaml: 未知的参数 dibao.standard.urbn"
                                             r"（是否应为 dibao.standard.urban？）"):
        load_file(path)
    assert load_file(path, known={"dibao.standard.urbn"})  # a caller may name its own keys


def write(tmp_path, text):
    path = tmp_path / "case.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_unknown_case_key_is_a_scenario_error(tmp_path):
    path = write(tmp_path, """\
        - name: x
          area: "440106"
          date: 2023-06-01
          household: {hukou: urban}
          expects: {dibao.eligible: true}
        """)
    with pytest.raises(scenarios.ScenarioError, match="未知的案例键 expects（是否应为 expect？）"):
        scenarios.load_cases(path)


def test_unknown_output_and_member_input_fail_the_case(tmp_path):
    path = write(tmp_path, """\
        - name: 输出名写错
          area: "440106"
          date: 2023-06-01
          household: {hukou: urban, members: [{id: a, age: 40}]}
          expect: {dibao.amout: 1238, tekun.b.amount: 0}
        - name: 成员输入写错
          area: "440106"
          date: 2023-06-01
          household: {hukou: urban, members: [{id: a, age: 40, incom: 5000}]}
          expect: {dibao.eligible: false}
        """)
    first, second = (scenarios.check(c, shipped()) for c in scenarios.load_cases(path))
    assert "未知的输出 dibao.amout（是否应为 dibao.amount？）" in first.error
    assert "未知的输出 tekun.b.amount（是否应为 tekun.a.amount？）" in first.error
    assert "未知的成员输入 incom（是否应为 income？）" in second.error

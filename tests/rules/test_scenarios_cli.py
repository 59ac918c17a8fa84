"""Scenario files: loading, checking with mismatch reports, and the `rules` management command
(`test` and `explain`). Every file here is written to tmp_path; no database is used."""

import io
import textwrap
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.rules import scenarios
from doudi.rules.explain import explain, render_text
from doudi.rules.shipped import shipped

PASSING = """\
- name: 广州 三口之家 有工资收入 分类施保两人
  area: "440103001001"
  date: 2023-06-01
  household:
    hukou: urban
    financial_assets: 1000
    members:
      - {id: a, age: 45, income: 800, earned_income: 800}
      - {id: b, age: 15, student: true}
      - {id: c, age: 70, childless: true, disability_grade: 1, disability_type: physical}
  expect:
    dibao.eligible: true
    dibao.family_income: 57.20
    dibao.amount: 4152
    dibao.addon: "495.00"
    dibao.members: 3
    edge.eligible: false
    single_person.members: []
    taper.amounts: []
    disability.c.living_subsidy: 202
    disability.c.care_subsidy: 261
- name: 屯溪 独居老人 特困 半失能
  area: "341002102000"
  date: 2023-06-01
  household:
    hukou: rural
    members:
      - {id: a, age: 75, has_supporter: false, adl_failed: 2}
  expect:
    tekun.a.eligible: true
    tekun.a.care_level: partial
    tekun.a.amount: 1362
"""

FAILING = """\
- name: 屯溪 独居老人 期望值故意写错
  area: "341002102000"
  date: 2023-06-01
  household:
    hukou: urban
    members: [{id: a, age: 75, has_supporter: false}]
  expect:
    tekun.a.amount: 999.99
    dibao.eligible: false
- name: 正确的案例
  area: "341002102000"
  date: 2023-06-01
  household: {hukou: urban, members: [{id: a, age: 30}]}
  expect: {dibao.amount: 760}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rules(*args):
    out = io.StringIO()
    call_command("rules", *map(str, args), stdout=out)
    return out.getvalue()


# ---------------------------------------------------------------- loading


def test_load_cases(tmp_path):
    cases = scenarios.load_cases(write(tmp_path, "ok.yaml", PASSING))
    assert [c.name for c in cases] == ["广州 三口之家 有工资收入 分类施保两人",
                                       "屯溪 独居老人 特困 半失能"]
    first = cases[0]
    assert (first.area, first.day.isoformat(), first.origin) == (
        "440103001001", "2023-06-01", "ok.yaml#1")
    assert first.household["hukou"] == "urban" and first.parameters == {}
    assert first.expect["dibao.amount"] == 4152


def test_a_single_mapping_is_one_case(tmp_path):
    path = write(tmp_path, "one.yaml", """\
        name: 单个案例
        area: 440103
        date: "2023-06-01"
        household: {hukou: urban}
        """)
    (case,) = scenarios.load_cases(path)
    assert case.area == "440103" and case.expect == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: x, date: 2023-06-01, household: {hukou: urban}}", "第 1 个案例: 缺少 area"),
        ("- {name: x}", "缺少 area, date, household"),
        ("- {name: ok, area: '44', date: 2023-06-01, household: {}}\n- {area: '44'}",
         "第 2 个案例: 缺少 name, date, household"),
        ("- {name: x, area: '44', date: '2023-13-01', household: {}}", "date 应为 YYYY-MM-DD"),
        ("- {name: x, area: '44', date: 'tomorrow', household: {}}", "date 应为 YYYY-MM-DD"),
        ("- {name: x, area: '44', date: 2023-06-01, household: {hukou: [urban}",
         "YAML 格式错误"),
        ("name: [unclosed\n", "YAML 格式错误"),
        ("just text", "应为案例列表"),
        ("", "应为案例列表"),
        ("- just text", "第 1 个案例: 应为键值对"),
    ],
)
def test_load_errors(tmp_path, text, message):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(scenarios.ScenarioError, match=message):
        scenarios.load_cases(path)


def test_unquoted_impossible_date_is_a_scenario_error(tmp_path):
    path = write(tmp_path, "bad.yaml",
                 "- {name: x, area: '44', date: 2023-13-01, household: {hukou: urban}}")
    with pytest.raises(scenarios.ScenarioError):
        scenarios.load_cases(path)


def test_household_not_a_mapping_is_a_scenario_error(tmp_path):
    path = write(tmp_path, "bad.yaml", "- {name: x, area: '44', date: 2023-06-01, household: a}")
    with pytest.raises(scenarios.ScenarioError):
        scenarios.load_cases(path)


def test_find_files(tmp_path):
    write(tmp_path, "b.yaml", PASSING)
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "a.yml", PASSING)
    write(tmp_path, "notes.txt", "not a case")
    names = [p.name for p in scenarios.find_files([tmp_path])]
    assert sorted(names) == ["a.yml", "b.yaml"]
    with pytest.raises(scenarios.ScenarioError, match="文件不存在"):
        scenarios.find_files([tmp_path / "missing.yaml"])


# ---------------------------------------------------------------- checking


def test_check_passes(tmp_path):
    for case in scenarios.load_cases(write(tmp_path, "ok.yaml", PASSING)):
        outcome = scenarios.check(case, shipped())
        assert outcome.passed, (outcome.error, outcome.mismatches)


def test_check_reports_expected_and_actual(tmp_path):
    wrong, right = scenarios.load_cases(write(tmp_path, "bad.yaml", FAILING))
    outcome = scenarios.check(wrong, shipped())
    assert not outcome.passed and outcome.error is None
    found = {m.output: (m.expected, m.actual) for m in outcome.mismatches}
    assert found == {
        "tekun.a.amount": (999.99, Decimal("1045")),  # 988 + 3% × 1870 = 56.10 → 57
        "dibao.eligible": (False, True),
    }
    assert scenarios.check(right, shipped()).passed


def test_check_reports_input_errors(tmp_path):
    path = write(tmp_path, "bad.yaml", """\
        - name: 户籍类型写错
          area: "341002102000"
          date: 2023-06-01
          household: {hukou: town, members: [{id: a, age: 30}]}
          expect: {dibao.eligible: false}
        - name: 覆盖了不存在的参数
          area: "341002102000"
          date: 2023-06-01
          parameters: {dibao.nope: 1}
          household: {hukou: urban, members: [{id: a, age: 30}]}
        - name: 没有参数的地区
          area: "110101001001"
          date: 2023-06-01
          household: {hukou: urban, members: [{id: a, age: 30}]}
        """)
    cases = scenarios.load_cases(path)
    errors = [scenarios.check(c, shipped()).error for c in cases]
    assert "hukou" in errors[0]
    assert "dibao.nope" in errors[1]
    # an area without parameters is no error: every programme is 不可计算, naming the key
    assert errors[2] is None
    actual = scenarios.outputs(scenarios.run_case(cases[2], shipped()), "case")
    assert actual["dibao.status"] == "不可计算" and actual["dibao.eligible"] is None
    assert actual["dibao.reason"].startswith("不可计算：缺少参数 dibao.")


def test_case_parameter_overrides(tmp_path):
    path = write(tmp_path, "override.yaml", """\
        - name: 标准调到 800
          area: "341002"
          date: 2023-06-01
          parameters: {dibao.standard.urban: 800}
          household: {hukou: urban, members: [{id: a, age: 30, income: 100}]}
          expect: {dibao.amount: 700, dibao.per_capita_income: 100}
        """)
    (case,) = scenarios.load_cases(path)
    assert case.parameters == {"dibao.standard.urban": 800}
    assert scenarios.check(case, shipped()).passed


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), (False, "false"), (Decimal("1.50"), "1.50"),
     ([Decimal("1.00"), 2], "[1.00, 2]"), ("（无此输出）", "（无此输出）"), (None, "None")],
)
def test_show(value, shown):
    assert scenarios.show(value) == shown


# ---------------------------------------------------------------- the management command


def test_command_test_passing_file_prints_the_count(tmp_path):
    path = write(tmp_path, "ok.yaml", PASSING)
    out = rules("test", path)
    assert "2 个通过，0 个不一致，共 2 个案例（1 个文件）" in out
    assert "✗" not in out


def test_command_test_directory(tmp_path):
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yaml", PASSING)
    assert "4 个通过，0 个不一致，共 4 个案例（2 个文件）" in rules("test", tmp_path)


def test_command_test_failing_file_raises_command_error(tmp_path):
    path = write(tmp_path, "bad.yaml", FAILING)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 个案例不一致") as info:
        call_command("rules", "test", str(path), stdout=out)
    assert info.value.returncode != 0
    text = out.getvalue()
    assert "✗ bad.yaml#1 屯溪 独居老人 期望值故意写错" in text
    assert "tekun.a.amount: 期望 999.99，实际 1045.00" in text
    assert "dibao.eligible: 期望 false，实际 true" in text
    assert "1 个通过，1 个不一致，共 2 个案例（1 个文件）" in text


def test_command_test_reports_case_errors(tmp_path):
    path = write(tmp_path, "err.yaml", """\
        - {name: 坏户籍, area: "341002", date: 2023-06-01, household: {hukou: x}}
        """)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("rules", "test", str(path), stdout=out)
    assert "错误：" in out.getvalue() and "hukou" in out.getvalue()


@pytest.mark.parametrize(
    ("files", "message"),
    [({"bad.yaml": "- {name: x}"}, "缺少 area"), ({}, "没有找到任何案例"),
     ({"bad.yaml": "a: [b"}, "YAML 格式错误")],
)
def test_command_test_load_problems(tmp_path, files, message):
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(CommandError, match=message):
        rules("test", tmp_path)


def test_command_test_missing_path(tmp_path):
    with pytest.raises(CommandError, match="文件不存在"):
        rules("test", tmp_path / "nope.yaml")


def test_command_explain_prints_criteria_and_references(tmp_path):
    out = rules("explain", write(tmp_path, "ok.yaml", PASSING))
    assert "== 广州 三口之家 有工资收入 分类施保两人（区划 440103001001，2023-06-01）" in out
    assert "【最低生活保障】符合，月金额 4,152.00 元" in out
    assert "  ✓ 家庭月人均收入低于低保标准：" in out
    assert "  ✗ 不符合低保条件：低保认定结果：是" in out  # 边缘: the family is 低保
    assert "  · 差额低保金：" in out
    assert "依据 城镇低保标准 = 1,238.00 元/人·月〔4401，2023-05-31 起〕" in out
    assert "依据 低保边缘家庭收入标准（低保标准的倍数） = 1.5 倍〔全国，2020-07-01 起〕" in out
    assert "（未核实）" in out
    assert "【特困人员救助供养（成员 a）】符合，月金额 1,362.00 元" in out
    assert "半失能" in out
    lines = out.splitlines()
    assert any(line.startswith("      依据 ") for line in lines)
    assert sum(line.startswith("  ✓") for line in lines) > sum(
        line.startswith("  ✗") for line in lines) > 0


def test_command_explain_all_lists_every_programme(tmp_path):
    path = write(tmp_path, "one.yaml", """\
        - {name: 单人, area: "341002102000", date: 2023-06-01,
           household: {hukou: urban, members: [{id: a, age: 30}]}}
        """)
    short, everything = rules("explain", path), rules("explain", path, "--all")
    assert "【低保渐退】" not in short and "【低保渐退】" in everything
    assert "【临时救助】" in everything
    assert "【孤儿、事实无人抚养儿童基本生活保障（成员 a）】" in everything


def test_command_explain_errors(tmp_path):
    with pytest.raises(CommandError, match="hukou"):
        rules("explain", write(tmp_path, "bad.yaml",
                               "- {name: x, area: '44', date: 2023-06-01, household: {}}"))
    with pytest.raises(CommandError, match="缺少 area"):
        rules("explain", write(tmp_path, "bad2.yaml", "- {name: x}"))


def test_render_text_directly(tmp_path):
    (case, _) = scenarios.load_cases(write(tmp_path, "ok.yaml", PASSING))
    result = scenarios.run_case(case, shipped())
    explanations = explain(result, "case")
    assert {e.name for e in explanations} >= {"dibao", "edge", "disability"}
    dibao = next(e for e in explanations if e.name == "dibao")
    assert dibao.eligible and dibao.amount == Decimal("4152.00")
    assert all(line.outcome for line in dibao.lines if line.outcome is not None)
    text = render_text(explanations, "标题")
    assert text.startswith("标题\n【最低生活保障】符合")
    named = render_text(explanations, "标题", area_names={"4401": "广州市"})
    assert "依据 城镇低保标准 = 1,238.00 元/人·月〔广州市，2023-05-31 起〕" in named
    with pytest.raises(KeyError):
        explain(result, "nope")


def test_scenarios_run_without_a_database():
    """`doudi rules test` / `explain` read the shipped parameters only; `simulate` reads the
    registry, so it needs the database."""
    from doudi.ops.readiness import needs_database

    assert not needs_database(["rules", "test"])
    assert not needs_database(["rules", "explain", "a.yaml"])
    assert needs_database(["rules", "simulate", "--area", "341002"])
    assert needs_database(["policy", "coverage"])


def test_every_city_case_says_its_source_in_a_comment():
    """A city's case is a published figure worked by hand: the comment above it names the
    notice (文号 or title) and the arithmetic, so a bureau can check it against the original."""
    from pathlib import Path

    import doudi.rules

    cities = Path(doudi.rules.__file__).parent / "scenarios" / "cities"
    bare = []
    for path in sorted(cities.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").split("\n")
        bare += [f"{path.name}:{n + 1}" for n, line in enumerate(lines)
                 if line.startswith("- name:") and not (n and lines[n - 1].startswith("#"))]
    assert len(list(cities.glob("*.yaml"))) >= 23 and not bare, bare

"""Parameter coverage of an area (`doudi.rules.coverage`, `doudi policy coverage`): the rows an
area reads over time, their level and verification, and the gaps since a start date."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.rules.coverage import coverage, key_coverage, level_of
from doudi.rules.parameters import ParameterSet, make_parameter
from doudi.rules.shipped import shipped

D = dt.date


def test_spans_levels_verification_and_gaps():
    params = ParameterSet([
        make_parameter("dibao.rounding", "", "2021-01-01", "0.01", "yuan"),
        make_parameter("dibao.rounding", "4401", "2023-01-01", 1, "yuan", verified=True),
        make_parameter("dibao.rounding", "4403", "2022-01-01", 1, "yuan"),  # another city
    ])
    c = key_coverage(params, "dibao.rounding", "440106", since=D(2020, 1, 1))
    assert [(s.start, s.end, s.row and s.row.area) for s in c.spans] == [
        (D(2020, 1, 1), D(2020, 12, 31), None),
        (D(2021, 1, 1), D(2022, 12, 31), ""),
        (D(2023, 1, 1), None, "4401"),
    ]
    assert c.levels == ["全国", "市"] and [g.start for g in c.gaps] == [D(2020, 1, 1)]
    assert c.unverified and not c.never_verified  # 广州's row is verified
    later = key_coverage(params, "dibao.rounding", "440106", since=D(2021, 6, 1))
    assert not later.gaps and later.spans[0].start == D(2021, 6, 1)
    assert level_of("") == "全国" and level_of("44") == "省" and level_of("440106") == "县"


def test_optional_keys_have_no_gaps_and_every_named_key_is_listed():
    found = {c.key: c for c in coverage(shipped(), "440106")}
    female = found["dibao.addon.elderly_age.female"]
    assert female.optional and not female.gaps and female.levels == ["市"]
    assert not found["tekun.basic.urban"].defined and not found["tekun.basic.urban"].gaps
    assert not found["dibao.standard.urban"].gaps  # 广州's standards are filed from 2020
    reference = found["hardship.income_reference"]
    assert reference.gaps[0].start == D(2020, 1, 1) and reference.gaps[0].end == D(2021, 6, 30)
    assert reference.never_verified


@pytest.mark.django_db
def test_policy_coverage_command(shipped_parameters):
    out = io.StringIO()
    call_command("policy", "coverage", "--area", "440106", "--since", "2023-01-01", stdout=out)
    text = out.getvalue()
    assert "城镇低保标准（dibao.standard.urban）  设定级别：市" in text
    assert "2023-01-01 – 2023-05-30  市 4401  1,196.00 元/人·月  未核实" in text
    assert "2023-05-31 – 2024-07-21  市 4401  1,238.00 元/人·月  已核实" in text
    assert "! 从未核实" in text
    assert "城镇特困人员基本生活标准（tekun.basic.urban）  可选，未设定" in text
    assert "有缺口 0 个" in text  # every key is set from 2023 on in 广州
    out = io.StringIO()
    call_command("policy", "coverage", "--area", "440106", "--problems", stdout=out)
    text = out.getvalue()
    assert "2020-01-01 – 2021-06-30  无取值  ← 缺口：不可计算" in text
    assert "有缺口" in text and "hardship.income_reference" in text
    assert "已核实（2019-09-01 起）" not in text  # 广东's verified asset limit has no problem
    with pytest.raises(CommandError, match="区划代码"):
        call_command("policy", "coverage", "--area", "广州", stdout=io.StringIO())


def test_verified_share_counts_a_group_row_once():
    from doudi.rules.coverage import verified_share
    from doudi.rules.shipped import parse_document

    rows = parse_document({
        "title": "某省", "area": "99", "groups": {"一类": ["9901", "9902"]},
        "parameters": [
            {"key": "dibao.standard.urban", "unit": "yuan_month", "reference": "甲",
             "verified": True, "values": [{"area": "一类", "effective": "2023-01-01",
                                           "value": 900}]},
            {"key": "dibao.rounding", "unit": "yuan", "reference": "乙", "value": 1,
             "effective": "2023-01-01"},
        ]})
    share = verified_share("某省", rows)
    assert (share.rows, share.verified, share.percent) == (2, 1, 50)


@pytest.mark.django_db
def test_policy_coverage_shares_lists_every_shipped_file():
    out = io.StringIO()
    call_command("policy", "coverage", "--shares", stdout=out)
    text = out.getvalue()
    assert "| 参数文件 | 取值条数 | 已核实 | 已核实比例 |" in text
    assert "深圳市（21-shenzhen.yaml）" in text and "全国默认（00-national.yaml）" in text


def test_year_table_says_where_each_years_value_comes_from():
    """One truth per figure: each cell is the value the engine reads on 1 July, marked as the
    area's own (verified or not), a province's minimum, a city's value read by a county, or
    nothing (不可计算)."""
    from doudi.rules.coverage import year_table
    from doudi.rules.parameters import ParameterSet
    from doudi.rules.shipped import parse_document

    key = "dibao.standard.urban"
    rows = parse_document({"area": "99", "parameters": [
        {"key": key, "unit": "yuan_month", "floor": True, "reference": "省",
         "values": [{"effective": "2021-01-01", "value": 900}]},
        {"key": key, "unit": "yuan_month", "reference": "市", "values": [
            {"area": "9901", "effective": "2022-01-01", "value": 1000.5, "verified": True},
            {"area": "9901", "effective": "2023-01-01", "value": 880}]},
    ]})
    lines = year_table(ParameterSet(rows), [("甲市", "9901"), ("甲市 乙县", "990102")],
                       range(2020, 2024))
    assert "| 甲市 | — | 900 省定? | 1,000.50 | 900 省定? |" in lines
    assert "| 甲市 乙县 | — | 900 省定? | 1,000.50 市 | 900 省定? |" in lines


def test_citation_names_issuer_document_and_a_different_issue_date():
    from doudi.rules.coverage import citation, source_line
    from doudi.rules.parameters import make_parameter

    back_paid = make_parameter("dibao.standard.urban", "4403", "2023-01-01", 1413, "yuan_month",
                               reference="2023年通知", document="深民〔2023〕62号",
                               issuer="深圳市民政局", issued="2023-09-04")
    assert citation(back_paid) == "深圳市民政局 深民〔2023〕62号（2023-09-04 印发）"
    same_day = make_parameter("dibao.standard.urban", "4403", "2023-01-01", 1413, "yuan_month",
                              reference="2023年通知", issuer="深圳市民政局", issued="2023-01-01")
    assert source_line(same_day) == "深圳市民政局"
    bare = make_parameter("dibao.standard.urban", "4403", "2023-01-01", 1413, "yuan_month",
                          reference="2023年通知")
    assert (source_line(bare), citation(bare)) == ("", "2023年通知")

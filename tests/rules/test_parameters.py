"""Policy parameters: resolution by area prefix and date, value checking and scaling, overrides,
the YAML document format and the shipped parameter set."""

import datetime as dt
from decimal import Decimal

import pytest

from doudi.rules import shipped as shipped_module
from doudi.rules.parameters import (
    BASIS,
    UNITS,
    ParameterError,
    ParameterMissing,
    ParameterSet,
    display_value,
    engine_value,
    make_parameter,
    normalise_value,
)
from doudi.rules.programmes import PROGRAMMES
from doudi.rules.shipped import load_file, parse_document, shipped

D = dt.date


def p(key, area, effective, value, unit="yuan_month", **meta):
    return make_parameter(key, area, effective, value, unit, reference=meta.pop("reference", "r"),
                          **meta)


# ---------------------------------------------------------------- resolution


@pytest.fixture
def standards():
    return ParameterSet([
        p("std", "", "2020-01-01", 500),
        p("std", "", "2022-01-01", 600),
        p("std", "44", "2021-01-01", 800),
        p("std", "44", "2024-01-01", 900),  # a later-dated shorter prefix …
        p("std", "4401", "2021-06-01", 1000),  # … loses to this longer one
        p("std", "440103", "2025-01-01", 1500),  # future-dated
        p("other", "", "2020-01-01", 1),
    ])


@pytest.mark.parametrize(
    ("area", "day", "expected", "source"),
    [
        # longest prefix wins over a later-dated row of a shorter prefix
        ("440103001001", D(2024, 6, 1), 1000, "4401"),
        ("4401", D(2024, 6, 1), 1000, "4401"),
        # the 440103 row is ignored before its date …
        ("440103001001", D(2024, 12, 31), 1000, "4401"),
        # … and used from its date on
        ("440103001001", D(2025, 1, 1), 1500, "440103"),
        ("440103", D(2030, 1, 1), 1500, "440103"),
        # a sibling county never sees 440103's row
        ("440104001001", D(2025, 6, 1), 1000, "4401"),
        # latest date among rows of the same prefix
        ("440300000000", D(2023, 12, 31), 800, "44"),
        ("440300000000", D(2024, 1, 1), 900, "44"),
        # before the 4401 row takes effect Guangzhou follows the province
        ("440103001001", D(2021, 5, 31), 800, "44"),
        # before 44's first row: the national default
        ("440103001001", D(2020, 12, 31), 500, ""),
        # national default "" and its latest date
        ("341002102000", D(2021, 12, 31), 500, ""),
        ("341002102000", D(2022, 1, 1), 600, ""),
        ("11", D(2023, 1, 1), 600, ""),
    ],
)
def test_resolution(standards, area, day, expected, source):
    found = standards.resolve("std", area, day)
    assert found.value == Decimal(expected)
    assert found.area == source
    assert standards.find("std", area, day) == found


def test_a_row_of_the_day_itself_is_in_force(standards):
    assert standards.resolve("std", "44", D(2021, 1, 1)).value == 800
    assert standards.resolve("std", "44", D(2020, 12, 31)).value == 500


def test_missing_key_raises_parameter_missing_in_chinese(standards):
    with pytest.raises(ParameterMissing, match="缺少参数 nope") as info:
        standards.resolve("nope", "440103001001", D(2023, 1, 1))
    assert isinstance(info.value, ParameterError)
    assert "440103001001" in str(info.value)
    assert standards.find("nope", "440103001001", D(2023, 1, 1)) is None


def test_no_row_in_force_yet_is_missing(standards):
    with pytest.raises(ParameterMissing, match="没有生效的取值"):
        standards.resolve("std", "440103001001", D(2019, 12, 31))


def test_area_without_national_default_is_missing():
    params = ParameterSet([p("std", "44", "2020-01-01", 1)])
    assert params.resolve("std", "4401", D(2021, 1, 1)).value == 1
    with pytest.raises(ParameterMissing):
        params.resolve("std", "3410", D(2021, 1, 1))


def test_signature_lists_defining_prefixes_longest_first(standards):
    assert standards.signature("440103001001") == ("440103", "4401", "44", "")
    assert standards.signature("341002") == ("",)


def test_resolved_and_history(standards):
    got = standards.resolved("4401", D(2023, 1, 1), ["std", "other"])
    assert {k: v.value for k, v in got.items()} == {"std": 1000, "other": 1}
    history = standards.history("std")
    assert [r.effective for r in history] == sorted((r.effective for r in history), reverse=True)
    assert len(standards) == 7
    assert standards.keys == ["other", "std"]
    assert standards.history("nope") == []


def test_duplicates_are_rejected():
    with pytest.raises(ParameterError, match="重复定义"):
        ParameterSet([p("std", "44", "2020-01-01", 1), p("std", "44", "2020-01-01", 2)])
    # same key and date in another area, or another date in the same area, are fine
    ParameterSet([p("std", "44", "2020-01-01", 1), p("std", "4401", "2020-01-01", 2),
                  p("std", "44", "2020-01-02", 3)])


def test_with_rows_replaces_same_key_area_and_date(standards):
    changed = standards.with_rows([p("std", "44", "2021-01-01", 850)])
    assert changed.resolve("std", "4403", D(2022, 1, 1)).value == 850
    assert standards.resolve("std", "4403", D(2022, 1, 1)).value == 800  # original unchanged
    assert len(changed) == len(standards)


# ---------------------------------------------------------------- values and units


@pytest.mark.parametrize(
    ("unit", "raw", "expected"),
    [
        ("yuan_month", 1165, Decimal("1165")),
        ("yuan_month", "1,238.50", Decimal("1238.50")),
        ("yuan_household_year", " 50000 ", Decimal("50000")),
        ("yuan", 0.01, Decimal("0.01")),
        ("yuan", "0", Decimal("0")),
        ("rate", 0.6, Decimal("0.6")),
        ("rate", "0.1234", Decimal("0.1234")),
        ("multiple", 1.5, Decimal("1.5")),
        ("multiple", "2", Decimal("2")),
        ("months", 24, Decimal(24)),
        ("years", "60", Decimal(60)),
        ("count", 0, Decimal(0)),
        ("bool", True, True),
        ("bool", "是", True),
        ("bool", "否", False),
        ("bool", "false", False),
        ("bool", 1, True),
        ("text", "half_up", "half_up"),
        ("list", ["student", "elderly"], ("student", "elderly")),
        ("list", "student，elderly, serious_illness", ("student", "elderly", "serious_illness")),
        ("list", [], ()),
        ("rates", [1, 0.8, "0.6"], (Decimal(1), Decimal("0.8"), Decimal("0.6"))),
        ("rates", "1，0.8,0.6", (Decimal(1), Decimal("0.8"), Decimal("0.6"))),
        ("table", {"any": 2, "intellectual": 4}, {"any": Decimal(2), "intellectual": Decimal(4)}),
    ],
)
def test_normalise_value_accepts(unit, raw, expected):
    assert normalise_value("k", unit, raw) == expected


@pytest.mark.parametrize(
    ("unit", "raw", "message"),
    [
        ("yuan_month", "12.345", "最多两位小数"),  # more than two decimals
        ("yuan_month", -1, "不能为负数"),
        ("yuan_month", "abc", "应为数值"),
        ("yuan_month", True, "应为数值"),
        ("yuan_month", "Infinity", "有限数值"),
        ("yuan_month", "NaN", "有限数值"),
        ("rate", "0.12345", "最多四位小数"),
        ("rate", -0.1, "非负比例"),
        ("multiple", "x", "应为数值"),
        ("months", 1.5, "非负整数"),
        ("years", -60, "非负整数"),
        ("bool", "maybe", "是/否"),
        ("bool", 2, "是/否"),
        ("list", 5, "应为列表"),
        ("rates", {"a": 1}, "应为比例序列"),
        ("rates", [1, 0.00001], "最多四位小数"),
        ("table", [1, 2], "对照表"),
        ("table", {"any": "x"}, "应为数值"),
        ("furlongs", 1, "单位"),
    ],
)
def test_normalise_value_rejects(unit, raw, message):
    with pytest.raises(ParameterError, match=message) as info:
        normalise_value("dibao.some_key", unit, raw)
    assert "dibao.some_key" in str(info.value)


def test_every_unit_has_a_kind_the_engine_scales():
    assert {kind for _, kind in UNITS.values()} == {
        "money", "ratio", "integer", "bool", "text", "list", "ratio_list", "table"}


@pytest.mark.parametrize(
    ("unit", "raw", "engine"),
    [
        ("yuan_month", "1238", 123_800),  # yuan → fen
        ("yuan_month", "1238.05", 123_805),
        ("yuan", "0.01", 1),
        ("yuan_household_year", 50000, 5_000_000),
        ("rate", 0.6, 6_000),  # rate → basis points
        ("rate", "0.0001", 1),
        ("rate", 1, BASIS),
        ("multiple", 1.3, 13_000),
        ("months", 24, 24),
        ("bool", "是", True),
        ("text", "urban", "urban"),
        ("list", ("a", "b"), ["a", "b"]),
        ("rates", [1, 0.8, 0.6], [10_000, 8_000, 6_000]),
        ("table", {"any": 2, "mental": "4"}, {"any": 2, "mental": 4}),
    ],
)
def test_engine_value_scaling(unit, raw, engine):
    value = engine_value(make_parameter("k", "", "2020-01-01", raw, unit))
    assert value == engine
    assert type(value) is type(engine)


@pytest.mark.parametrize(
    ("unit", "raw", "shown"),
    [
        ("yuan_month", 1238, "1,238.00 元/人·月"),
        ("rate", 0.2, "20%"),
        ("multiple", 1.5, "1.5 倍"),
        ("months", 24, "24 个月"),
        ("bool", False, "否"),
        ("list", [], "（空）"),
        ("list", ["a", "b"], "a、b"),
        ("rates", [1, 0.8], "100%、80%"),
        ("table", {"any": 2}, "any: 2"),
    ],
)
def test_display_value(unit, raw, shown):
    assert display_value(make_parameter("k", "", "2020-01-01", raw, unit)) == shown


@pytest.mark.parametrize(
    ("area", "effective", "message"),
    [("44a", "2020-01-01", "区划代码"), ("4401030010011", "2020-01-01", "区划代码"),
     ("44", "2020-13-01", "YYYY-MM-DD"), ("44", "1/1/2020", "YYYY-MM-DD")],
)
def test_make_parameter_rejects_bad_area_or_date(area, effective, message):
    with pytest.raises(ParameterError, match=message):
        make_parameter("k", area, effective, 1, "yuan")


def test_make_parameter_normalises_area_and_keeps_meta():
    row = make_parameter("k", None, D(2020, 1, 1), "1", "yuan", reference="文件", url="u",
                         verified=True, note="n")
    assert row.area == ""
    assert (row.reference, row.url, row.verified, row.note) == ("文件", "u", True, "n")
    assert row.unit_label == "元" and row.kind == "money"


# ---------------------------------------------------------------- overrides


def test_with_overrides_applies_to_the_area_from_the_day(standards):
    day = D(2023, 3, 1)
    changed = standards.with_overrides({"std": "1300.5"}, "440103", day, note="测算")
    row = changed.resolve("std", "440103001001", day)
    assert row.value == Decimal("1300.5")
    assert engine_value(row) == 130_050
    assert (row.area, row.effective, row.unit, row.verified) == ("440103", day, "yuan_month", False)
    assert row.reference == "测算"
    # not before the day, not in a sibling area, and the original set is untouched
    assert changed.resolve("std", "440103001001", D(2023, 2, 28)).value == 1000
    assert changed.resolve("std", "440104001001", day).value == 1000
    assert standards.resolve("std", "440103001001", day).value == 1000
    # the longer prefix still wins after the override's date
    assert changed.resolve("std", "440103001001", D(2025, 1, 1)).value == 1500


def test_with_overrides_default_reference_and_unit_check(standards):
    row = standards.with_overrides({"std": 1}, "44", D(2023, 1, 1)).resolve(
        "std", "44", D(2023, 1, 1))
    assert row.reference == "测算覆盖值"
    with pytest.raises(ParameterError, match="最多两位小数"):
        standards.with_overrides({"std": "1.001"}, "44", D(2023, 1, 1))


def test_with_overrides_unknown_key(standards):
    with pytest.raises(ParameterError, match="未知的参数 nope"):
        standards.with_overrides({"nope": 1}, "44", D(2023, 1, 1))


def test_with_overrides_replaces_a_row_of_the_same_area_and_date(standards):
    changed = standards.with_overrides({"std": 777}, "4401", D(2021, 6, 1))
    assert changed.resolve("std", "4401", D(2022, 1, 1)).value == 777
    assert len(changed) == len(standards)


# ---------------------------------------------------------------- YAML documents


def test_parse_document_single_value_and_values_list():
    rows = parse_document({
        "area": "44",
        "parameters": [
            {"key": "a", "unit": "yuan_month", "value": 10, "effective": D(2020, 1, 1),
             "reference": "文件甲", "verified": True},
            {"key": "b", "unit": "rate", "reference": "文件乙", "url": "http://x",
             "values": [
                 {"effective": "2021-01-01", "value": 0.5},
                 {"effective": "2022-01-01", "value": 0.6, "area": "4401", "note": "广州",
                  "url": "http://y", "verified": True},
             ]},
        ],
    })
    by = {(r.key, r.area, r.effective): r for r in rows}
    a = by[("a", "44", D(2020, 1, 1))]
    assert (a.value, a.reference, a.verified) == (Decimal(10), "文件甲", True)
    b1, b2 = by[("b", "44", D(2021, 1, 1))], by[("b", "4401", D(2022, 1, 1))]
    assert (b1.url, b1.verified, b1.note) == ("http://x", False, "")
    assert (b2.value, b2.url, b2.verified, b2.note, b2.reference) == (
        Decimal("0.6"), "http://y", True, "广州", "文件乙")


def test_parse_document_expands_groups_to_every_code():
    rows = parse_document({
        "area": "44",
        "groups": {"一类": ["4401", "4403"], "四类": ["4405", "440781"]},
        "parameters": [{"key": "std", "unit": "yuan_month", "reference": "r", "values": [
            {"area": "一类", "effective": "2023-01-01", "value": 1165},
            {"area": "四类", "effective": "2023-01-01", "value": 857},
            {"effective": "2023-01-01", "value": 800},
        ]}],
    })
    assert sorted((r.area, r.value) for r in rows) == [
        ("44", 800), ("4401", 1165), ("4403", 1165), ("4405", 857), ("440781", 857)]
    params = ParameterSet(rows)
    assert params.resolve("std", "440781100200", D(2023, 6, 1)).value == 857
    assert params.resolve("std", "440402001001", D(2023, 6, 1)).value == 800


def test_parse_document_default_area_may_be_a_group():
    rows = parse_document({"area": "g", "groups": {"g": ["11", "12"]}, "parameters": [
        {"key": "k", "unit": "count", "value": 1, "effective": "2020-01-01"}]})
    assert sorted(r.area for r in rows) == ["11", "12"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "parameters 列表"),
        ({"area": "44"}, "parameters 列表"),
        ({"parameters": {"key": "k"}}, "parameters 列表"),
        ({"parameters": [{"unit": "yuan"}]}, "第 1 项缺少 key 或 unit"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1, "effective": "2020-01-01"},
                         {"key": "k2", "value": 1}]}, "第 2 项缺少 key 或 unit"),
        ({"parameters": ["k"]}, "第 1 项缺少 key 或 unit"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1}]}, "k 缺少 effective 或 value"),
        ({"parameters": [{"key": "k", "unit": "yuan", "values": [{"value": 1}]}]},
         "缺少 effective 或 value"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": "1.001",
                          "effective": "2020-01-01"}]}, "最多两位小数"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1, "effective": "2020-02-30"}]},
         "YYYY-MM-DD"),
        ({"parameters": [{"key": "k", "unit": "acres", "value": 1, "effective": "2020-01-01"}]},
         "单位"),
        ({"area": "广东", "parameters": [{"key": "k", "unit": "yuan", "value": 1,
                                          "effective": "2020-01-01"}]}, "区划代码"),
        # a misspelt field is refused with the nearest one, never read as absent
        ({"parameters": [{"key": "k", "unit": "yuan", "values": [
            {"effective": "2020-01-01", "value": 1, "verfied": True}]}]},
         "未知的字段 verfied（是否应为 verified？）"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1, "effective": "2020-01-01",
                          "refrence": "x"}]}, "未知的字段 refrence（是否应为 reference？）"),
        ({"titel": "x", "parameters": []}, "未知的字段 titel（是否应为 title？）"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1, "effective": "2020-01-01",
                          "issued": "2020-13-01"}]}, "印发日期"),
        ({"parameters": [{"key": "k", "unit": "yuan", "value": 1, "effective": "2020-01-01",
                          "document": 62}]}, "document 应为文字"),
    ],
)
def test_parse_document_errors(doc, message):
    with pytest.raises(ParameterError, match=message) as info:
        parse_document(doc, "x.yaml")
    assert str(info.value).startswith("x.yaml: ")


def test_parse_document_reads_the_source_fields():
    rows = parse_document({"parameters": [{
        "key": "k", "unit": "yuan", "issuer": "深圳市民政局 深圳市财政局", "values": [
            {"effective": dt.date(2023, 1, 1), "value": 2540, "document": "深民〔2023〕62号",
             "issued": dt.date(2023, 9, 4), "verified": True},
            {"effective": "2024-01-01", "value": 2600}]}]})
    first, second = sorted(rows, key=lambda r: r.effective)
    assert (first.document, first.issuer, first.issued) == (
        "深民〔2023〕62号", "深圳市民政局 深圳市财政局", dt.date(2023, 9, 4))
    assert (second.document, second.issuer, second.issued) == (
        "", "深圳市民政局 深圳市财政局", None)


def test_parse_document_group_given_as_a_single_code():
    doc = {"area": "44", "groups": {"一类": "4401"}, "parameters": [
        {"key": "k", "unit": "yuan", "values": [
            {"area": "一类", "effective": "2023-01-01", "value": 1}]}]}
    try:
        rows = parse_document(doc)
    except ParameterError:
        return  # rejecting the malformed group is as good as reading it as one code
    assert [r.area for r in rows] == ["4401"]


@pytest.mark.parametrize(
    "doc",
    [
        {"parameters": [{"key": "k", "unit": "yuan", "values": [5]}]},
        {"groups": ["4401"], "parameters": []},
    ],
    ids=["values-row-not-a-mapping", "groups-not-a-mapping"],
)
def test_parse_document_malformed_structure_is_a_parameter_error(doc):
    with pytest.raises(ParameterError):
        parse_document(doc, "x.yaml")


def test_load_file_yaml_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("parameters:\n  - key: k\n    unit: [yuan\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"bad\.yaml: YAML 格式错误"):
        load_file(path)


def test_load_file_reads_dates_and_chinese(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "area: '3410'\nparameters:\n"
        "  - {key: dibao.standard.urban, unit: yuan_month, value: 760, effective: 2023-01-01,"
        " reference: 黄山市文件}\n",
        encoding="utf-8",
    )
    (row,) = load_file(path)
    assert (row.area, row.effective, row.value, row.reference) == (
        "3410", D(2023, 1, 1), Decimal(760), "黄山市文件")


# ---------------------------------------------------------------- the shipped set

SAMPLE_AREAS = ("440103001001", "440781100200", "341002102000")
SAMPLE_DAY = D(2023, 6, 1)


def test_shipped_files_exist_and_load():
    files = shipped_module.shipped_files()
    assert files, "no shipped parameter files"
    assert [f.name for f in files] == sorted(f.name for f in files)
    params = shipped()
    assert len(params) > 0
    assert shipped() is params  # cached


@pytest.mark.parametrize("area", SAMPLE_AREAS)
def test_shipped_set_resolves_every_programme_parameter(area):
    params = shipped()
    keys = sorted({k for prog in PROGRAMMES.values() for k in prog.parameters})
    missing = [k for k in keys if params.find(k, area, SAMPLE_DAY) is None]
    assert not missing, f"{area}: {missing}"
    for k in keys:  # and every value scales for the engine
        engine_value(params.resolve(k, area, SAMPLE_DAY))


def test_shipped_member_parameters_are_declared_parameters():
    for prog in PROGRAMMES.values():
        declared = {k for q in PROGRAMMES.values()
                    for k in (*q.parameters, *q.optional_parameters)}
        assert set(prog.member_parameters) <= declared, prog.name


def test_every_shipped_row_has_a_reference():
    empty = [(r.key, r.area, r.effective) for r in shipped() if not str(r.reference).strip()]
    assert not empty


@pytest.mark.parametrize(
    ("key", "area", "fen"),
    [
        # 广州's own 2023 standard replaces the 一类 floor filed under the same date
        ("dibao.standard.urban", "440103001001", 123_800),
        ("dibao.standard.urban", "440300000000", 141_300),  # 深圳's own 2023 standard
        ("dibao.standard.urban", "440781100200", 85_700),  # 台山, 四类
        ("dibao.standard.rural", "440781100200", 60_000),
        ("dibao.standard.urban", "341002102000", 76_000),
        ("tekun.multiple", "440103001001", 16_000),  # 广东 1.6 ×
        ("tekun.multiple", "341002102000", 13_000),  # national 1.3 ×
    ],
)
def test_shipped_values(key, area, fen):
    assert engine_value(shipped().resolve(key, area, SAMPLE_DAY)) == fen


def test_shipped_later_dates_take_effect_on_their_day():
    params = shipped()
    before = params.resolve("disability.care_subsidy", "440103001001", D(2023, 12, 31))
    after = params.resolve("disability.care_subsidy", "440103001001", D(2024, 1, 1))
    assert (before.value, after.value) == (261, 270)
    with pytest.raises(ParameterMissing):
        params.resolve("dibao.standard.urban", "440103001001", D(2019, 12, 31))


def test_a_higher_levels_minimum_applies_only_below_it():
    """广东's 最低标准 (floor rows) against a city's own standard of an earlier year."""
    params = ParameterSet([
        make_parameter("dibao.standard.urban", "4401", "2022-06-09", 1196, "yuan_month"),
        make_parameter("dibao.standard.urban", "4401", "2023-01-01", 1165, "yuan_month",
                       floor=True),
        make_parameter("dibao.standard.urban", "4420", "2021-01-01", 1000, "yuan_month"),
        make_parameter("dibao.standard.urban", "4420", "2023-01-01", 1037, "yuan_month",
                       floor=True),
        make_parameter("dibao.standard.urban", "4452", "2023-01-01", 857, "yuan_month",
                       floor=True),
    ])
    day = D(2023, 3, 1)
    # the city's own standard above the later minimum stays; one below it gives way
    assert params.resolve("dibao.standard.urban", "440106", day).value == 1196
    assert params.resolve("dibao.standard.urban", "442000", day).value == 1037
    assert params.resolve("dibao.standard.urban", "442000", day).floor
    assert params.resolve("dibao.standard.urban", "445202", day).value == 857  # no own value
    assert params.resolve("dibao.standard.urban", "442000", D(2022, 1, 1)).value == 1000
    # an override is the value asked for: no minimum lifts it
    asked = params.with_overrides({"dibao.standard.urban": 900}, "442000", day)
    assert asked.resolve("dibao.standard.urban", "442000", day).value == 900


def test_shipped_references_and_notes_name_keys_in_chinese():
    """The policy pages show every row's reference and note to staff of any area; a key written
    into them (`tekun.rounding`) is a code on the page, so the files name it by its label."""
    import re

    from doudi.rules.shipped import known_keys

    pattern = re.compile(r"(?<![\w.])(" + "|".join(
        re.escape(k) for k in sorted(known_keys(), key=len, reverse=True)) + r")(?![\w])")
    found = [(p.key, p.area, str(p.effective), m.group(1))
             for p in shipped() for text in (p.reference, p.note)
             for m in [pattern.search(text or "")] if m]
    assert not found, found[:10]

"""Words instead of codes (参数名称与取值的中文): every shipped key has its name, every value code
its word, and a value is shown with them."""

from __future__ import annotations

import datetime as dt

from doudi.policy.values import as_text, from_text
from doudi.rules import labels
from doudi.rules.parameters import LABELS, OPTIONAL_UNITS, TEXT_CHOICES, UNITS, make_parameter
from doudi.rules.shipped import shipped
from tests.raw_codes import find_raw_codes

DAY = dt.date(2026, 1, 1)
CJK = range(0x4E00, 0xA000)


def _chinese(text: str) -> bool:
    return any(ord(ch) in CJK for ch in text)


def test_every_shipped_key_has_a_chinese_name() -> None:
    keys = {p.key for p in shipped()}
    assert len(keys) >= 80
    missing = sorted(keys - set(LABELS))
    assert not missing, f"参数缺少中文名称：{missing}"
    assert all(_chinese(LABELS[k]) for k in keys)
    assert len({LABELS[k] for k in keys}) == len(keys), "two keys share a name"
    # an optional key (a fallback where no row is set) may have no shipped row yet
    assert not set(LABELS) - keys - set(OPTIONAL_UNITS), "a name for a key nobody ships"


def test_every_value_code_of_a_shipped_value_has_its_word() -> None:
    """List entries, table rows and text choices of every shipped row."""
    for p in shipped():
        codes = (list(p.value) if p.kind in {"list", "table"} else
                 [p.value] if p.kind == "text" else [])
        for code in codes:
            word = labels.value_label(p.key, code)
            assert word != code and _chinese(word), (p.key, code)


def test_every_group_and_unit_is_named() -> None:
    groups = {labels.group_of(p.key) for p in shipped()}
    assert labels.OTHER_GROUP not in groups
    assert all(_chinese(label) for label, _kind in UNITS.values())


def test_working_day_limits_say_working_days() -> None:
    deadlines = [p for p in shipped() if ".deadline." in p.key]
    assert deadlines and {p.unit for p in deadlines} == {"workdays"}
    decision = next(p for p in deadlines if p.key == "casework.deadline.decision")
    assert labels.value_text(decision) == "10 工作日"
    publicity = next(p for p in shipped() if p.key == "casework.publicity_days")
    assert labels.value_text(publicity) == "7 天"  # 公示 runs calendar days


def test_values_are_shown_in_words_and_typed_back_from_them() -> None:
    mode = make_parameter("dibao.rounding.mode", "", DAY, "half_up", "text")
    assert labels.value_text(mode) == "四舍五入"
    basis = make_parameter("edge.asset_basis", "", DAY, "hukou", "text")
    assert labels.value_text(basis) == "按户籍类型对应的低保标准"
    groups = make_parameter("single_person.groups", "", DAY,
                            ["severe_disability", "serious_illness"], "list")
    assert labels.value_text(groups) == "一二级重度残疾人、重病患者"
    table = make_parameter("tekun.no_capacity.disability", "", DAY,
                           {"any": 2, "mental": 3}, "table")
    assert labels.value_text(table) == "各类残疾: 2；精神残疾: 3"
    # the form shows the words and takes them back as the codes
    for p in (mode, basis, groups, table):
        assert not find_raw_codes(as_text(p))
        typed = from_text(p.unit, as_text(p), p.key)
        assert make_parameter(p.key, "", DAY, typed, p.unit).value == p.value
    # a choice typed by its word is stored as its code; an unknown one names the words
    assert make_parameter("dibao.rounding.mode", "", DAY, "向下取整", "text").value == "down"
    try:
        make_parameter("dibao.rounding.mode", "", DAY, "随便", "text")
    except ValueError as exc:
        assert "四舍五入、向上取整、向下取整" in str(exc) and "取整方式" in str(exc)
    else:
        raise AssertionError("an unknown choice was taken")
    assert set(TEXT_CHOICES) <= set(LABELS)


def test_the_scanner_finds_codes_in_text_and_not_in_links() -> None:
    page = ('<a href="/policy/dibao.standard.urban/" class="half_up">城镇低保标准</a>'
            '<p>依据 dibao.standard.urban = 760</p><p>取整 half_up，户籍 hukou</p>'
            '<td title="tekun.no_capacity.disability.any">x</td>'
            '<p>处置单位 341002102</p><p>家庭 34100210200200001</p>'
            '<script>var a = "dibao.standard.rural";</script>'
            '<select><optgroup label="advance_payment"><option value="dibao.rounding">取整单位'
            '</option></optgroup></select><p>https://www.gov.cn/full_text/a.html</p>'
            '<p>账号 <span translate="no">village_<b>assistant</b> x</span> 已登录</p>')
    found = {(f.kind, f.code) for f in find_raw_codes(page)}
    assert found == {("参数键", "dibao.standard.urban"), ("取值代码", "half_up"),
                     ("取值代码", "hukou"), ("参数键", "tekun.no_capacity.disability.any"),
                     ("区划代码", "341002102"), ("取值代码", "advance_payment")}

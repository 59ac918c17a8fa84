"""Units in a department's headers (表头单位): "注册资本(万元)", "建筑面积(公顷)", "缴费年限(年)".

A field holds its values in one unit: money in 元 (stored as fen), `area` in ㎡ (stored as
hundredths), a `number` in the unit it declares (`unit: 月`) or none. A header naming another
unit of the same kind scales the column's values into the field's unit, exactly; a unit that
is unknown, of another kind, or not an exact multiple (亩 → ㎡) refuses the column, so that
5 万元 is never stored as 5 元.
"""

from __future__ import annotations

from dataclasses import dataclass

# Powers of ten of the base unit.
MONEY_UNITS = {"分": -2, "元": 0, "圆": 0, "人民币元": 0, "千元": 3, "万元": 4, "十万元": 5,
               "百万元": 6, "千万元": 7, "亿元": 8}
AREA_UNITS = {"㎡": 0, "m2": 0, "m²": 0, "平方米": 0, "平米": 0, "公顷": 4, "万平方米": 4}
# Numbers counted in these need no scaling whatever the field (人、户 …).
COUNT_UNITS = ("人", "户", "个", "次", "岁", "辆", "套", "间", "处", "项", "口", "件", "张", "名")
# (header unit, field unit) → factor, for `number` fields that declare a unit of time.
TIME_FACTORS = {("年", "月"): 12, ("月", "月"): 1, ("年", "年"): 1, ("天", "天"): 1,
                ("日", "天"): 1, ("天", "日"): 1, ("日", "日"): 1}
PERIODS = ("月", "年", "季", "日", "天", "次", "人")
UNIT_KINDS = ("money", "area", "number", "decimal1")
DEFAULT_UNITS = {"money": "元", "area": "㎡", "decimal1": "", "number": ""}
UNIT_LABELS = {"money": "元、千元、万元、亿元", "area": "㎡（平方米）、公顷", "decimal1": "",
               "number": ""}


@dataclass(frozen=True)
class Scale:
    exponent: int = 0  # money, area: power of ten into the field's unit
    factor: int = 1  # number: multiplier into the field's unit


def split_period(unit: str) -> tuple[str, str]:
    """"元/月" → ("元", "月"); "元" → ("元", "")."""
    base, _, per = unit.partition("/")
    return base.strip(), per.strip().removeprefix("每")


def known_unit(unit: str) -> bool:
    base, per = split_period(unit)
    return (base in MONEY_UNITS or base in AREA_UNITS or base in COUNT_UNITS
            or any(base == h for h, _ in TIME_FACTORS)) and (not per or per in PERIODS)


def scale_for(kind: str, field_unit: str, header_unit: str | None) -> Scale | str:
    """The scale from a header's unit into the field's, or a Chinese reason the column cannot
    be read. `header_unit` None: the header names no unit, the values are in the field's."""
    field_unit = field_unit or DEFAULT_UNITS.get(kind, "")
    if header_unit is None or kind not in UNIT_KINDS:
        return Scale()
    head_base, head_per = split_period(header_unit)
    field_base, field_per = split_period(field_unit)
    if head_per and head_per != field_per:
        return (f"单位“{header_unit}”与本字段的单位“{field_unit or '无'}”不符"
                if field_per else f"单位“{header_unit}”含有“/{head_per}”，本字段不按{head_per}计")
    if kind == "money":
        if head_base not in MONEY_UNITS:
            return f"单位“{header_unit}”无法识别，金额列应以 {UNIT_LABELS['money']} 为单位"
        return Scale(exponent=MONEY_UNITS[head_base] - MONEY_UNITS.get(field_base, 0))
    if kind == "area":
        if head_base == "亩":
            return "单位“亩”不能精确换算为平方米，请换算为平方米后再导入"
        if head_base not in AREA_UNITS:
            return f"单位“{header_unit}”无法识别，面积列应以 {UNIT_LABELS['area']} 为单位"
        return Scale(exponent=AREA_UNITS[head_base] - AREA_UNITS.get(field_base, 0))
    if kind == "decimal1":
        if (head_base in AREA_UNITS and AREA_UNITS[head_base] == 0) or head_base == field_base:
            return Scale()
        return f"单位“{header_unit}”无法识别"
    # number
    if field_base and (head_base, field_base) in TIME_FACTORS:
        return Scale(factor=TIME_FACTORS[(head_base, field_base)])
    if head_base == field_base or (not field_base and head_base in COUNT_UNITS):
        return Scale()
    return f"单位“{header_unit}”与本字段的单位“{field_unit or '无'}”不符"

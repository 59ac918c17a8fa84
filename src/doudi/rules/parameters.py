"""Policy parameters (政策参数) as data and their resolution for an area on a day.

A parameter is a key, an area-code prefix ("" for the national default, "44" for Guangdong,
"4401" for Guangzhou, "341002" for 屯溪区 …), an effective date, a value, a unit and the legal
reference it comes from. For (area, day): among the rows of the key in force on that day
(effective ≤ day), take the one with the longest prefix of the area code; among those, the
latest effective date. A change therefore takes effect on its date and never reaches back.

Money is written in yuan (元) as decimal text and used in fen; shares and multiples are used
in basis points (万分之一), so the engine never multiplies money by a float.
"""

from __future__ import annotations

import datetime as dt
import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from doudi.core.money import AmountError, parse_yuan

#: unit → (中文, kind). kind decides how a value is checked and scaled for the engine.
UNITS: dict[str, tuple[str, str]] = {
    "yuan_month": ("元/人·月", "money"),
    "yuan_household_month": ("元/户·月", "money"),
    "yuan_year": ("元/人·年", "money"),
    "yuan_household_year": ("元/户·年", "money"),
    "yuan": ("元", "money"),
    "rate": ("比例", "ratio"),
    "multiple": ("倍", "ratio"),
    "months": ("个月", "integer"),
    "days": ("天", "integer"),
    "workdays": ("工作日", "integer"),  # statutory time limits, counted by doudi.core.workdays
    "years": ("岁", "integer"),
    "count": ("个", "integer"),
    "bool": ("是/否", "bool"),
    "text": ("文本", "text"),
    "list": ("列表", "list"),
    "rates": ("比例序列", "ratio_list"),
    "table": ("对照表", "table"),
}
BASIS = 10_000  # ratios are carried as integer basis points
#: text parameters whose values the engine branches on: value → 中文 (what pages show)
TEXT_CHOICES: dict[str, dict[str, str]] = {
    "dibao.rounding.mode": {"half_up": "四舍五入", "up": "向上取整", "down": "向下取整"},
    "tekun.rounding.mode": {"half_up": "四舍五入", "up": "向上取整", "down": "向下取整"},
    "edge.asset_basis": {"hukou": "按户籍类型对应的低保标准", "urban": "按城镇低保标准"},
    "benefits.start_rule": {"full": "当月全额发放", "none": "自次月起发放（1日起算的除外）",
                            "daily": "当月按日折算"},
    "benefits.stop_rule": {"full": "当月照发", "none": "当月不发", "daily": "当月按日折算"},
}

#: key → 中文名称. Pages, forms, explanations and documents show these, never the key; every
#: shipped key has one (tests/rules/test_labels.py). A new key is added here with its rows.
LABELS: dict[str, str] = {
    # 最低生活保障
    "dibao.standard.urban": "城镇低保标准",
    "dibao.standard.rural": "农村低保标准",
    "dibao.asset_limit_months": "家庭存款限额（相当于低保标准的月数）",
    "dibao.asset.max_houses": "住房套数上限",
    "dibao.asset.max_vehicles": "机动车辆数上限",
    "dibao.asset.max_non_residential": "非居住类房屋数上限",
    "dibao.asset.business_allowed": "允许有商事登记",
    "dibao.employment_deduction.rate": "就业成本扣减比例",
    "dibao.employment_deduction.cap": "就业成本扣减上限",
    "dibao.employment_deduction.allow_negative": "扣减额可超过本人工资性收入",
    "dibao.refused_work.imputed_income": "拒不就业者推定收入",
    "dibao.addon.rate": "分类施保比例",
    "dibao.addon.groups": "分类施保对象",
    "dibao.addon.elderly_age": "分类施保老年人年龄",
    "dibao.addon.elderly_age.female": "分类施保老年人年龄（女性）",
    "dibao.min_amount": "最低发放额",
    "dibao.rounding": "发放金额取整单位",
    "dibao.rounding.mode": "取整方式",
    # 低保边缘、单人保、低保渐退、支出型困难
    "edge.multiple": "低保边缘家庭收入标准（低保标准的倍数）",
    "edge.asset_basis": "低保边缘家庭财产限额依据",
    "edge.addon.rate": "低保边缘家庭分类救济比例",
    "single_person.rate": "单人保发放比例",
    "single_person.groups": "可单人保的成员",
    "taper.months": "渐退期月数",
    "taper.shares": "渐退期各月发放比例",
    "taper.income_multiple": "给予渐退期的收入上限（低保标准的倍数）",
    "hardship.expenditure_ratio": "刚性支出占收入比例",
    "hardship.income_reference": "上年居民人均可支配收入",
    # 特困人员
    "tekun.multiple": "特困基本生活标准（低保标准的倍数）",
    "tekun.basic_floor": "特困基本生活标准下限",
    "tekun.basic.urban": "城镇特困人员基本生活标准",
    "tekun.basic.rural": "农村特困人员基本生活标准",
    "tekun.care.base": "照料护理标准基数",
    "tekun.care.rate.independent": "照料护理比例（全自理）",
    "tekun.care.rate.partial": "照料护理比例（半失能）",
    "tekun.care.rate.full": "照料护理比例（全失能）",
    "tekun.care.rate.institutional.independent": "照料护理比例（集中供养，全自理）",
    "tekun.care.rate.institutional.partial": "照料护理比例（集中供养，半失能）",
    "tekun.care.rate.institutional.full": "照料护理比例（集中供养，全失能）",
    "tekun.rounding": "特困供养金取整单位",
    "tekun.rounding.mode": "特困供养金取整方式",
    "tekun.elderly_age": "老年人年龄",
    "tekun.minor_age": "未成年人年龄",
    "tekun.working_minor_age": "以劳动收入为主要来源的未成年人最低年龄",
    "tekun.no_capacity.disability": "视为无劳动能力的残疾等级",
    # 临时救助
    "linshi.cap_months.emergency": "急难型救助上限（低保标准的月数）",
    "linshi.cap_months.expenditure": "支出型救助上限（低保标准的月数）",
    "linshi.cap_months.advance": "先行救助上限（低保标准的月数）",
    "linshi.family_annual_cap": "每户每年救助上限",
    # 儿童
    "child.max_age": "儿童年龄上限",
    "child.orphan.institutional": "孤儿基本生活费（机构养育）",
    "child.orphan.community": "孤儿基本生活费（社会散居）",
    "child.de_facto.institutional": "事实无人抚养儿童基本生活费（机构养育）",
    "child.de_facto.community": "事实无人抚养儿童基本生活费（社会散居）",
    "child.hardship.rate": "困境儿童基本生活补贴（散居孤儿标准的比例）",
    "child.hardship.groups": "可领基本生活补贴的困境儿童",
    # 残疾人两项补贴
    "disability.living_subsidy": "困难残疾人生活补贴标准",
    "disability.living_subsidy.groups": "生活补贴覆盖的困难家庭",
    "disability.care_subsidy": "重度残疾人护理补贴标准",
    "disability.care_subsidy.grades": "护理补贴覆盖的残疾等级",
    "disability.elderly_age": "老残一体、依老养残的老年父母年龄",
    # 审核确认
    "casework.approval_delegated": "审批权限委托乡镇（街道）",
    "casework.deliberation_required": "须经民主评议",
    "casework.publicity_days": "公示期",
    "casework.deadline.accepted": "入户调查时限",
    "casework.deadline.verification": "家庭经济状况核对时限",
    "casework.deadline.town_review": "镇街初审时限",
    "casework.deadline.deliberation": "民主评议时限",
    "casework.deadline.decision": "审批确认时限",
    "casework.deadline.notice": "书面通知时限",
    "casework.linshi.deadline.town_review": "临时救助镇街审核时限",
    "casework.linshi.deadline.decision": "临时救助审批时限",
    "casework.linshi.deadline.post_review": "急难小额事后补查时限",
    "casework.linshi.town_limit": "临时救助镇街审批限额",
    "casework.linshi.small_urgent_limit": "急难型小额救助限额",
    "casework.advance.max_per_case": "先行救助每案上限",
    "casework.filing.sample_rate": "备案审查随机抽查比例",
    "casework.filing.amount_above_median_rate": "备案审查：金额高于同类决定中位数的比例",
    "casework.filing.median_min_decisions": "备案审查：计算中位数所需的最少同类决定数",
    "casework.filing.correction_days": "备案审查纠正期限",
    # 待遇发放与复核
    "benefits.start_rule": "新纳入对象当月发放规则",
    "benefits.stop_rule": "停保当月发放规则",
    "benefits.review_months.stable": "复核周期（收入基本稳定的家庭）",
    "benefits.review_months.other": "复核周期（收入不固定、有劳动能力的家庭）",
    "benefits.review_months.tekun": "特困人员核查周期",
    # 探访与照料
    "care.visit.dispersed_tekun": "分散供养特困人员探访周期",
    "care.visit.orphan": "孤儿探访周期",
    "care.visit.de_facto_unsupported": "事实无人抚养儿童探访周期",
    "care.visit.child_in_hardship": "困境儿童探访周期",
    "care.visit.left_behind_child": "留守儿童探访周期",
    "care.visit.left_behind_woman": "留守妇女探访周期",
    "care.visit.left_behind_elderly.high": "留守老年人探访周期（高风险）",
    "care.visit.left_behind_elderly.medium": "留守老年人探访周期（中风险）",
    "care.visit.left_behind_elderly.low": "留守老年人探访周期（低风险）",
    "care.visit.advanced_age": "高龄老年人探访周期",
    "care.visit.living_alone": "独居老年人探访周期",
    "care.visit.empty_nest": "空巢老年人探访周期",
    "care.visit.disabled_elderly": "失能老年人探访周期",
    "care.visit.family_planning_special": "计生特殊家庭老年人探访周期",
    "care.elderly.age": "特殊困难老年人年龄",
    "care.elderly.advanced_age": "高龄老年人年龄",
    "care.nursing_bed_ratio_target": "护理型床位占比目标",
    # 部门数据与动态监测
    "exchange.name_variants": "视为相同的姓名写法差异",
    "exchange.require_consent": "比对须有授权",
    "exchange.unmatched_retention_days": "未匹配数据保存期限",
    "monitoring.reraise_days": "核实不符后不再重复预警的天数",
}

#: the unit of each optional key, which may have no row at all (a case or a simulation can still
#: set it; its absence is not a missing parameter but the fallback its programme declares)
OPTIONAL_UNITS: dict[str, str] = {
    "dibao.addon.elderly_age.female": "years",
    "edge.addon.rate": "rate",
    "tekun.basic.urban": "yuan_month",
    "tekun.basic.rural": "yuan_month",
    # 集中供养 care rates where they differ from 分散供养's; 特困 amounts rounded apart from 低保
    # (安徽、梅州: 基本生活标准和照料护理金向上取整到元, while 低保 is paid to the fen)
    "tekun.care.rate.institutional.independent": "rate",
    "tekun.care.rate.institutional.partial": "rate",
    "tekun.care.rate.institutional.full": "rate",
    "tekun.rounding": "yuan",
    "tekun.rounding.mode": "text",
    "child.de_facto.institutional": "yuan_month",
    "child.de_facto.community": "yuan_month",
    "child.hardship.rate": "rate",
    "child.hardship.groups": "list",
}


def nearest(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelt one (difflib), or None when nothing is close."""
    found = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(what: str, word: str, known: Iterable[str]) -> str:
    """未知的成员输入 incom（是否应为 income？）"""
    near = nearest(word, known)
    return f"未知的{what} {word}" + (f"（是否应为 {near}？）" if near else "")


#: the first part of a key that names no programme → the area of work its keys belong to
WORK_GROUPS: dict[str, str] = {
    "casework": "审核确认", "benefits": "待遇发放与复核", "care": "探访与照料",
    "exchange": "部门数据", "monitoring": "动态监测",
}


def label_of(key: str) -> str:
    """The Chinese name of a key (the key itself only for one that is not declared)."""
    return LABELS.get(key, key)


class ParameterError(ValueError):
    """A parameter row or value that cannot be used; the message is Chinese and names the key."""


class ParameterMissing(ParameterError):
    pass


@dataclass(frozen=True)
class Parameter:
    key: str
    area: str  # significant area-code prefix; "" = national default
    effective: dt.date
    value: Any
    unit: str
    reference: str = ""
    url: str = ""
    verified: bool = False
    note: str = ""
    # a higher level's minimum (省定最低标准): the area's own value applies, but never below it
    floor: bool = False
    # the source as a bureau cites it: 文号 (or the title where a notice has none), 发文机关, and
    # 印发日期 where it differs from `effective` (a standard issued mid-year and paid back)
    document: str = ""
    issuer: str = ""
    issued: dt.date | None = None

    @property
    def unit_label(self) -> str:
        return UNITS[self.unit][0]

    @property
    def kind(self) -> str:
        return UNITS[self.unit][1]


def _decimal(key: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ParameterError(f"参数 {label_of(key)} 应为数值，收到 {value!r}")
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ParameterError(f"参数 {label_of(key)} 应为数值，收到 {value!r}") from None
    if not number.is_finite():
        raise ParameterError(f"参数 {label_of(key)} 应为有限数值，收到 {value!r}")
    return number


def _money(key: str, value: Any) -> Decimal:
    """A non-negative amount in yuan through the one parser of typed amounts (no exponents,
    infinities or third decimals; at most `MAX_FEN`), kept as the Decimal it was written."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ParameterError(f"参数 {label_of(key)} 的金额应为数值，收到 {value!r}")
    # a Decimal or int is written out in full ("8E+2" is 800, not an exponent typed by hand)
    text = f"{value:f}" if isinstance(value, Decimal) and value.is_finite() else str(value)
    try:
        parse_yuan(text, field="value", label=f"参数 {label_of(key)} 的金额")
    except AmountError as exc:
        raise ParameterError(exc.message) from None
    if isinstance(value, Decimal):
        return value
    return Decimal(unicodedata.normalize("NFKC", text).replace(",", "").strip())


def normalise_value(key: str, unit: str, value: Any) -> Any:
    """Check a value against its unit and return it in canonical form (Decimal for numbers)."""
    if unit not in UNITS:
        raise ParameterError(f"参数 {label_of(key)} 的单位 {unit!r} 未知")
    kind = UNITS[unit][1]
    if kind == "money":
        return _money(key, value)
    if kind == "ratio":
        text = str(value).strip()
        # "20%" as policy staff write it
        percent = text.endswith(("%", "％"))
        number = _decimal(key, text[:-1]) / 100 if percent else _decimal(key, value)
        if number < 0 or number * BASIS != int(number * BASIS):
            raise ParameterError(
                f"参数 {label_of(key)} 应为非负比例，最多四位小数，收到 {value!r}")
        return number
    if kind == "integer":
        number = _decimal(key, value)
        if number < 0 or number != int(number):
            raise ParameterError(f"参数 {label_of(key)} 应为非负整数，收到 {value!r}")
        return Decimal(int(number))
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "是", "yes"}:
            return True
        if text in {"false", "0", "否", "no"}:
            return False
        raise ParameterError(f"参数 {label_of(key)} 应为 是/否，收到 {value!r}")
    if kind == "list":
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ParameterError(f"参数 {label_of(key)} 应为列表，收到 {value!r}")
        return tuple(str(v) for v in value)
    if kind == "ratio_list":
        if isinstance(value, str):
            value = [v for v in value.replace("，", ",").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ParameterError(f"参数 {label_of(key)} 应为比例序列，收到 {value!r}")
        return tuple(normalise_value(key, "rate", v) for v in value)
    if kind == "table":
        if not isinstance(value, Mapping):
            raise ParameterError(f"参数 {label_of(key)} 应为对照表（键: 值），收到 {value!r}")
        table = {str(k): _decimal(key, v) for k, v in value.items()}
        for k, v in table.items():
            if v < 0 or v != int(v):
                raise ParameterError(f"参数 {label_of(key)} 的 {k} 应为非负整数，收到 {v}")
        return table
    text = str(value).strip()
    choices = TEXT_CHOICES.get(key)
    if choices is not None and text not in choices:
        # the Chinese label as a person types it stands for its value
        code = next((c for c, label in choices.items() if label == text), None)
        if code is None:
            allowed = "、".join(choices.values())
            raise ParameterError(f"参数 {label_of(key)} 应为 {allowed} 之一，收到 {value!r}")
        text = code
    return text


def engine_value(param: Parameter) -> Any:
    """The value as the engine computes with it: fen, basis points, int, bool, list, dict."""
    kind = param.kind
    if kind == "money":
        return int(param.value * 100)
    if kind == "ratio":
        return int(param.value * BASIS)
    if kind == "integer":
        return int(param.value)
    if kind == "table":
        return {k: int(v) for k, v in param.value.items()}
    if kind == "ratio_list":
        return [int(v * BASIS) for v in param.value]
    if kind == "list":
        return list(param.value)
    return param.value


def display_value(param: Parameter, words: Mapping[str, str] | None = None) -> str:
    """The value as policy staff write it: 1165.00 元/人·月, 60%, 1.6 倍, 四舍五入, 学生、老年人.
    `words` names the entries of a list or table (`doudi.rules.labels` passes the ones declared
    beside the parameter); a text choice is named by `TEXT_CHOICES`."""
    kind, value = param.kind, param.value
    words = words or {}
    if kind == "money":
        return f"{value:,.2f} {param.unit_label}"
    if kind == "ratio" and param.unit == "rate":
        return f"{(value * 100).normalize():f}%"
    if kind in {"ratio", "integer"}:
        return f"{value.normalize():f} {param.unit_label}"
    if kind == "bool":
        return "是" if value else "否"
    if kind == "list":
        return "、".join(words.get(v, v) for v in value) if value else "（空）"
    if kind == "ratio_list":
        return "、".join(f"{(v * 100).normalize():f}%" for v in value)
    if kind == "table":
        return "；".join(f"{words.get(k, k)}: {v.normalize():f}" for k, v in value.items())
    return TEXT_CHOICES.get(param.key, {}).get(value, str(value))


def _below(value: Any, minimum: Any) -> bool:
    """Whether a value is under a minimum; values that are no numbers never are."""
    numbers = (int, Decimal)
    if isinstance(value, bool) or isinstance(minimum, bool):
        return False
    return isinstance(value, numbers) and isinstance(minimum, numbers) and value < minimum


def make_parameter(
    key: str, area: str, effective: dt.date | str, value: Any, unit: str, **meta: Any
) -> Parameter:
    if isinstance(effective, str):
        try:
            effective = dt.date.fromisoformat(effective)
        except ValueError:
            raise ParameterError(
                f"参数 {label_of(key)} 的生效日期 {effective!r} 不是 YYYY-MM-DD") from None
    area = str(area or "").strip()
    if area and not (area.isdigit() and len(area) <= 12):
        raise ParameterError(f"参数 {label_of(key)} 的区划代码 {area!r} 应为不超过 12 位的数字前缀")
    issued = meta.get("issued")
    if isinstance(issued, str) and issued:
        try:
            meta["issued"] = dt.date.fromisoformat(issued)
        except ValueError:
            raise ParameterError(
                f"参数 {label_of(key)} 的印发日期 {issued!r} 不是 YYYY-MM-DD") from None
    elif not isinstance(issued, dt.date | None):
        raise ParameterError(f"参数 {label_of(key)} 的印发日期 {issued!r} 不是 YYYY-MM-DD")
    return Parameter(key, area, effective, normalise_value(key, unit, value), unit, **meta)


class ParameterSet:
    """An immutable collection of parameter rows with (area, day) resolution."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        rows: dict[str, list[Parameter]] = {}
        seen: set[tuple[str, str, dt.date]] = set()
        for p in parameters:
            ident = (p.key, p.area, p.effective)
            if ident in seen:
                raise ParameterError(
                    f"参数 {label_of(p.key)} 在区划 {p.area or '全国'} 于 {p.effective} 重复定义"
                )
            seen.add(ident)
            rows.setdefault(p.key, []).append(p)
        # latest first, so the first row in force wins among rows of the same prefix
        self._rows = {
            k: sorted(v, key=lambda p: p.effective, reverse=True) for k, v in rows.items()
        }
        self._prefix_lengths = sorted({len(p.area) for v in rows.values() for p in v}, reverse=True)
        self._areas = {p.area for v in rows.values() for p in v}
        self._cached_resolve = lru_cache(maxsize=65_536)(self._resolve_uncached)

    def __iter__(self):  # noqa: ANN204 - a plain iterator over rows
        for rows in self._rows.values():
            yield from rows

    def __len__(self) -> int:
        return sum(len(v) for v in self._rows.values())

    @property
    def keys(self) -> list[str]:
        return sorted(self._rows)

    def history(self, key: str) -> list[Parameter]:
        return list(self._rows.get(key, []))

    def resolve(self, key: str, area_code: str, day: dt.date) -> Parameter:
        found = self._cached_resolve(key, self.signature(area_code), day)
        if found is None:
            raise ParameterMissing(
                f"缺少参数 {label_of(key)}：区划 {area_code} 在 {day} 没有生效的取值")
        return found

    def find(self, key: str, area_code: str, day: dt.date) -> Parameter | None:
        return self._cached_resolve(key, self.signature(area_code), day)

    def signature(self, area_code: str) -> tuple[str, ...]:
        """The defining prefixes that contain `area_code`, longest first. Areas with the same
        signature resolve every key alike, which is what makes batch resolution cheap."""
        return tuple(
            area_code[:n] for n in self._prefix_lengths
            if len(area_code) >= n and area_code[:n] in self._areas
        )

    def _resolve_uncached(
        self, key: str, signature: tuple[str, ...], day: dt.date
    ) -> Parameter | None:
        """The area's own row (longest prefix first, then the latest in force), unless a
        minimum in force for it (a `floor` row, found the same way) is higher: a province's
        最低标准 rises while a city's own standard of an earlier year is still on file."""
        rows = self._rows.get(key, ())
        own = floor = None
        for prefix in signature:  # longest prefix first
            for p in rows:  # latest effective first
                if p.area == prefix and p.effective <= day:
                    if p.floor and floor is None:
                        floor = p
                    elif not p.floor and own is None:
                        own = p
            if own is not None and floor is not None:
                break
        if own is None or floor is None:
            return own or floor
        return floor if _below(own.value, floor.value) else own

    def resolved(self, area_code: str, day: dt.date, keys: Iterable[str]) -> dict[str, Parameter]:
        return {k: self.resolve(k, area_code, day) for k in keys}

    def with_rows(self, extra: Iterable[Parameter]) -> ParameterSet:
        """A new set with `extra` rows added; a row with the same key, area and date replaces."""
        extra = list(extra)
        replaced = {(p.key, p.area, p.effective) for p in extra}
        kept = [p for p in self if (p.key, p.area, p.effective) not in replaced]
        return ParameterSet([*kept, *extra])

    def with_overrides(
        self, overrides: Mapping[str, Any], area_code: str, day: dt.date, note: str = ""
    ) -> ParameterSet:
        """Values set for one area from `day` on (scenario files, what-if simulation). The unit of
        each key is taken from the rows already defined for it. An override is the value asked
        for: the minimums (`floor` rows) of its key no longer apply in the set returned."""
        extra = []
        for key, value in overrides.items():
            known = self._rows.get(key)
            if known:
                template = known[0]
            elif key in OPTIONAL_UNITS:  # declared, with no row yet: its declared unit
                template = Parameter(key, area_code, day, None, OPTIONAL_UNITS[key])
            else:
                raise ParameterError(
                    unknown_name("参数", key, [*self._rows, *LABELS]) + "，无法覆盖")
            extra.append(
                replace(template, area=area_code, effective=day,
                        value=normalise_value(key, template.unit, value),
                        reference=note or "测算覆盖值", url="", verified=False, note=note,
                        floor=False)
            )
        unfloored = ParameterSet(p for p in self if not (p.floor and p.key in overrides))
        return unfloored.with_rows(extra)

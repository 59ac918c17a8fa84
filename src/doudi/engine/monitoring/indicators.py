"""Warning indicators (预警指标) as data. Each is a mapping (YAML/JSON); `parse_indicator` checks
it and gives an `Indicator`. Two sorts:

A **risk** indicator reads one department feed:

    key: medical_bill
    name: 大额医疗费用
    kind: risk
    source: medical_settlement          # a feed type key
    per: household                      # one warning per person (default) or per household
    level: 2                            # 1 红 … 5 绿
    verify_days: 5                      # 核实时限, working days
    handled_by: town                    # village | town | district
    params:                             # the values a district tunes
      days: {value: 365, unit: days, label: 统计期间}
      excess: {value: 300000, unit: money, label: 超出已申报医疗支出}
    window: {date: settled_on, days: $days}       # rows dated within the last N days
    where: [[visit_type, in, [住院, 门诊慢特病, 门诊]]]   # conditions on the feed's rows
    member: [[age, "<", 60]]                      # conditions on the matched registry member
    aggregate: {sum: out_of_pocket, minus: annual_medical_expense, at_least: $excess}
    supersedes: [death]                 # the same person's warnings of these keys are dropped

An **eligibility** indicator compares the rules with the enrollments: `kind` is
`uncovered_eligible` (应保未保), `covered_ineligible` (不应保而保) or `taper_due` (渐退), and it
has no source, window or conditions.

Values written `$name` are looked up in `params`. Operators: == != > >= < <= in not_in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from doudi.core.errors import ServiceError

KINDS = {"risk": "风险事件", "uncovered_eligible": "应保未保", "covered_ineligible": "不应保而保",
         "taper_due": "渐退到期", "review_due": "复核逾期", "discovery": "主动发现",
         "hotline": "12345热线", "upstream": "上级下发"}
ELIGIBILITY_KINDS = ("uncovered_eligible", "covered_ineligible", "taper_due")
# warnings people report (a village assistant's 主动发现, a 12345 ticket): no run raises them,
# the indicator only gives their level, time limit and handler
REPORT_KINDS = ("discovery", "hotline")
LEVELS = {1: "红", 2: "橙", 3: "黄", 4: "蓝", 5: "绿"}
HANDLERS = {"village": "村（社区）", "town": "乡镇（街道）", "district": "县（区）"}
OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
UNITS = {"days": "天", "money": "元", "integer": "", "grade": "级", "age": "岁", "text": ""}
PER = ("person", "household")
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class IndicatorError(ServiceError, ValueError):
    """An indicator that cannot be used; the message is Chinese and names the indicator."""


@dataclass(frozen=True)
class Param:
    value: Any
    unit: str = "integer"
    label: str = ""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # a literal, or "$name" for a parameter


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    kind: str
    level: int
    verify_days: int
    handled_by: str
    source: str | None = None
    per: str = "person"
    params: dict[str, Param] = field(default_factory=dict)
    window_date: str | None = None
    window_days: Any = None
    where: tuple[Condition, ...] = ()
    member: tuple[Condition, ...] = ()
    aggregate: dict[str, Any] | None = None
    supersedes: tuple[str, ...] = ()
    description: str = ""
    feedback: bool = False  # the source department may read the outcome (e.g. 乡村振兴)

    def value(self, raw: Any) -> Any:
        """A literal, or the parameter `$name` stands for."""
        if isinstance(raw, str) and raw.startswith("$"):
            return self.params[raw[1:]].value
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        return raw

    def feed_reads(self) -> dict[str, str | None]:
        """The fields of its source feed this indicator reads (field key → type, None: any):
        a feed type of that key must declare them (checked when feed types load)."""
        reads: dict[str, str | None] = {}
        for c in self.where:
            reads[c.field] = None
        if self.window_date:
            reads[self.window_date] = "date"
        if self.aggregate:
            reads[str(self.aggregate["sum"])] = "money"
        return reads

    def with_params(self, values: Mapping[str, Any]) -> Indicator:
        """The same indicator with a district's tuned parameter values."""
        params = dict(self.params)
        for name, value in values.items():
            if name not in params:
                raise IndicatorError(f"{self.key}：没有参数“{name}”")
            params[name] = Param(_checked_value(self.key, name, params[name].unit, value),
                                 params[name].unit, params[name].label)
        return Indicator(**{**self.__dict__, "params": params})


def _checked_value(key: str, name: str, unit: str, value: Any) -> Any:
    if unit == "text":
        if not isinstance(value, (str, list)):
            raise IndicatorError(f"{key}.{name}：应为文本")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IndicatorError(f"{key}.{name}：应为非负整数，收到 {value!r}")
    return value


def _conditions(key: str, raw: Any, where: str, params: Mapping[str, Param]) -> tuple[
        Condition, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise IndicatorError(f"{key}：{where} 应为条件列表")
    out = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
            raise IndicatorError(f"{key}：{where} 的条件应写成 [字段, 运算符, 值]，收到 {item!r}")
        name, op, value = item
        if op not in OPERATORS:
            raise IndicatorError(f"{key}：未知运算符“{op}”，可用：{' '.join(OPERATORS)}")
        _check_refs(key, value, params)
        if op in ("in", "not_in") and not isinstance(value, list) and not (
                isinstance(value, str) and value.startswith("$")):
            raise IndicatorError(f"{key}：{op} 的值应为列表")
        out.append(Condition(name, op, value))
    return tuple(out)


def _check_refs(key: str, value: Any, params: Mapping[str, Param]) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, str) and v.startswith("$") and v[1:] not in params:
            raise IndicatorError(f"{key}：引用了未定义的参数“{v}”")


def parse_indicator(doc: Mapping[str, Any]) -> Indicator:
    if not isinstance(doc, Mapping):
        raise IndicatorError("预警指标应为键值结构")
    key = str(doc.get("key", ""))
    if not _KEY.match(key):
        raise IndicatorError(f"指标代码“{key}”应为小写字母、数字和下划线")
    kind = doc.get("kind", "risk")
    if kind not in KINDS:
        raise IndicatorError(f"{key}：类型应为 {'、'.join(KINDS)} 之一")
    level = doc.get("level")
    if level not in LEVELS:
        raise IndicatorError(f"{key}：预警等级应为 1（红）至 5（绿）")
    verify_days = doc.get("verify_days")
    if isinstance(verify_days, bool) or not isinstance(verify_days, int) or not (
            1 <= verify_days <= 60):
        raise IndicatorError(f"{key}：核实时限应为 1 至 60 个工作日")
    handled_by = doc.get("handled_by", "town")
    if handled_by not in HANDLERS:
        raise IndicatorError(f"{key}：处置层级应为 village、town 或 district")
    params: dict[str, Param] = {}
    for name, spec in (doc.get("params") or {}).items():
        if not isinstance(spec, Mapping) or "value" not in spec:
            raise IndicatorError(f"{key}：参数“{name}”应写成 {{value: …, unit: …, label: …}}")
        unit = spec.get("unit", "integer")
        if unit not in UNITS:
            raise IndicatorError(f"{key}：参数“{name}”的单位应为 {'、'.join(UNITS)} 之一")
        params[name] = Param(_checked_value(key, name, unit, spec["value"]), unit,
                             str(spec.get("label", name)))
    source = doc.get("source")
    per = doc.get("per", "person")
    if per not in PER:
        raise IndicatorError(f"{key}：per 应为 person 或 household")
    window = doc.get("window")
    window_date = window_days = None
    aggregate = doc.get("aggregate")
    if kind == "risk":
        if not isinstance(source, str) or not source:
            raise IndicatorError(f"{key}：风险指标须指明数据来源（数据接口类型）")
        if window is not None:
            if not isinstance(window, Mapping) or not {"date", "days"} <= set(window):
                raise IndicatorError(f"{key}：window 应写成 {{date: 日期字段, days: 天数}}")
            window_date, window_days = str(window["date"]), window["days"]
            _check_refs(key, window_days, params)
        if aggregate is not None:
            if not isinstance(aggregate, Mapping) or not {"sum", "at_least"} <= set(aggregate):
                raise IndicatorError(f"{key}：aggregate 应写成 {{sum: 金额字段, at_least: 下限}}")
            _check_refs(key, aggregate["at_least"], params)
            aggregate = dict(aggregate)
    elif source or window or doc.get("where") or doc.get("member") or aggregate:
        raise IndicatorError(f"{key}：{KINDS[kind]}指标不设数据来源和条件")
    supersedes = doc.get("supersedes") or []
    if not isinstance(supersedes, list) or not all(isinstance(s, str) for s in supersedes):
        raise IndicatorError(f"{key}：supersedes 应为指标代码列表")
    return Indicator(
        key=key, name=str(doc.get("name") or key), kind=kind, level=int(level),
        verify_days=verify_days, handled_by=handled_by, source=source, per=per,
        params=params, window_date=window_date, window_days=window_days,
        where=_conditions(key, doc.get("where"), "where", params),
        member=_conditions(key, doc.get("member"), "member", params),
        aggregate=aggregate, supersedes=tuple(supersedes),
        description=str(doc.get("description", "")), feedback=bool(doc.get("feedback", False)))


def parse_all(docs: list[Mapping[str, Any]]) -> list[Indicator]:
    out = [parse_indicator(d) for d in docs]
    keys = [i.key for i in out]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise IndicatorError(f"指标代码重复：{'、'.join(duplicated)}")
    for i in out:
        unknown = set(i.supersedes) - set(keys)
        if unknown:
            missing = "、".join(sorted(unknown))
            raise IndicatorError(f"{i.key}：supersedes 中的指标不存在：{missing}")
    return out


SHIPPED_FILE = Path(__file__).with_name("shipped_indicators.yaml")


def shipped_documents() -> list[dict[str, Any]]:
    import yaml

    return list(yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))["indicators"])


@lru_cache(maxsize=1)
def _shipped() -> tuple[Indicator, ...]:
    return tuple(parse_all(shipped_documents()))


def shipped() -> list[Indicator]:
    """The shipped set, read and checked once per process (every page and run asks for it)."""
    return list(_shipped())

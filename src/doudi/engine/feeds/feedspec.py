"""Feed types as data (数据接口类型): what a department's dataset holds and how its rows map to
persons. A spec is a plain mapping (YAML/JSON); `parse_spec` checks it and gives a `FeedSpec`.

    key: vehicle                      # identifier, [a-z0-9_]
    department: 车管                  # the sending department
    name: 机动车登记信息
    sheet: 机动车                      # the Excel sheet it usually comes in (optional)
    mode: snapshot                    # snapshot (each batch is the whole register) | events
    record_key: [plate]               # fields that identify one record across batches (optional)
    outcomes: false                   # may the department read its persons' assistance outcomes
    person: {id_number: id_number, name: owner}   # fields that identify the person
    verification: vehicle             # section of the 核对报告 it feeds (optional)
    registry_fact:                    # optional, snapshot feeds only: who is on the list carries
      category: relapse_watch         #   this registry category (防返贫监测对象, 脱贫户 …)
      since: entered_on               #   a date field: the category's start ("" → the import day)
      ended_by: risk_removed          #   a text field whose `ended_values` mean "no longer"
      ended_values: [是, 已消除]
    fields:
      - {key: plate, label: 号牌号码, type: text, aliases: [车牌号]}
      - {key: id_number, label: 身份证明号码, type: id_number}
      - {key: registered_on, label: 初次登记日期, type: date, required: false}

Field types: `text`, `id_number` (GB 11643, check digit verified), `date` (ISO, 2026/3/5,
20260305, 2026年3月5日, 2026.3.5 or an Excel serial), `money` (yuan in the file, integer fen
stored; "1,234.50", "1234.5元", "￥1,234.50", "1.2万元"), `number` (an integer) and `decimal1`
(one decimal place in the file, integer tenths stored) and `area` (square metres with up to two
decimals, as 不动产登记 records them; integer hundredths stored). A money, area or number field
may declare `unit` (元/月, 月 …): a header naming another unit of the same kind is scaled into
it, an unknown unit refuses the column (`units`). A feed type claiming a 核对 section must hold
the fields the section reads (`VERIFICATION_FIELDS`), with their types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from doudi.core.errors import ServiceError
from doudi.engine.feeds.units import UNIT_KINDS, known_unit

FIELD_TYPES = ("text", "id_number", "date", "money", "number", "decimal1", "area")
FIELD_TYPE_LABELS = {"text": "文本", "id_number": "身份证号", "date": "日期", "money": "金额(元)",
                     "number": "整数", "decimal1": "数值(一位小数)",
                     "area": "面积(平方米，两位小数)"}
MODES = ("snapshot", "events")
VERIFICATION_SECTIONS = {
    "wage": "工资性收入（社保缴费基数）",
    "pension": "养老金",
    "unemployment": "失业保险金",
    "property": "不动产",
    "vehicle": "机动车",
    "business": "市场主体登记",
    "housing_fund": "住房公积金",
    "medical": "医疗费用",
    "disability": "残疾人证",
    "death": "死亡信息",
    "hukou_move": "户籍迁移",
    "school": "学籍",
    "disaster": "受灾情况",
    "relapse_watch": "防返贫监测",
}
# The fields each 核对 section reads (field key → type). A feed type that claims a section must
# declare every one of them, with that type: a section reading a field the feed does not have
# would report "0.00 元, 无差异" instead of the department's figure.
VERIFICATION_FIELDS: dict[str, dict[str, str]] = {
    "wage": {"base": "money", "month": "text"},
    "pension": {"amount": "money", "month": "text"},
    "unemployment": {"monthly_benefit": "money", "registered_on": "date"},
    "property": {"location": "text", "use": "text", "area": "area"},
    "vehicle": {"plate": "text", "vehicle_type": "text", "brand": "text", "status": "text"},
    "business": {"entity_name": "text", "entity_type": "text", "established_on": "date",
                 "status": "text"},
    "housing_fund": {"balance": "money", "monthly_deposit": "money", "status": "text"},
    "medical": {"settled_on": "date", "out_of_pocket": "money"},
    "disability": {"category": "text", "grade": "text", "status": "text"},
    "death": {"died_on": "date"},
    "hukou_move": {"direction": "text", "moved_on": "date", "to_address": "text"},
    "school": {"school": "text", "stage": "text", "status": "text"},
    "disaster": {"disaster": "text", "occurred_on": "date", "house_damage": "text",
                 "loss": "money"},
    "relapse_watch": {"watch_type": "text", "risk": "text", "entered_on": "date",
                      "risk_removed": "text"},
}
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# Columns every stored batch carries beside the fields.
RESERVED_KEYS = ("row", "person_id", "match")


class FeedSpecError(ServiceError, ValueError):
    """A spec that cannot be used; the message is Chinese and names the place."""


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # the header the department is expected to use
    type: str = "text"
    required: bool = True
    aliases: tuple[str, ...] = ()  # other headers seen for this field
    unit: str = ""  # the unit values are held in (元/月, 月 …); "" → the type's (元, ㎡)

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True)
class RegistryFact:
    """A snapshot feed whose list is a registry fact (防返贫监测对象, 脱贫户): each person matched
    by ID — or their household, for a household category — carries `category` from `since`
    while on the list; leaving the list, or a row whose `ended_by` reads one of `ended_values`,
    ends it. Which categories exist is the registry's to check (`exchange.feed_types`)."""

    category: str
    since: str = ""  # a date field ("" → the day the batch is imported)
    ended_by: str = ""  # a text field
    ended_values: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"category": self.category}
        if self.since:
            out["since"] = self.since
        if self.ended_by:
            out["ended_by"] = self.ended_by
            out["ended_values"] = list(self.ended_values)
        return out


@dataclass(frozen=True)
class FeedSpec:
    key: str
    department: str
    name: str
    fields: tuple[FieldSpec, ...]
    sheet: str = ""
    mode: str = "events"
    record_key: tuple[str, ...] = ()
    id_field: str = ""  # the field holding the resident ID ("" when the feed has none)
    name_field: str = ""
    birth_field: str = ""  # an explicit birth date, for feeds without IDs
    verification: str = ""
    outcomes: bool = False  # the sending department may read its persons' assistance outcomes
    extra: Mapping[str, Any] = field(default_factory=dict)
    registry_fact: RegistryFact | None = None

    @property
    def title(self) -> str:
        return f"{self.department}·{self.name}"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def field(self, key: str) -> FieldSpec:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def with_aliases(self, extra: Mapping[str, str]) -> FeedSpec:
        """The spec with one more header per field (a mapping the district confirmed)."""
        fields = tuple(
            FieldSpec(f.key, f.label, f.type, f.required,
                      f.aliases + ((extra[f.key],) if extra.get(f.key) and extra[f.key]
                                   not in f.headers else ()), f.unit)
            for f in self.fields)
        return FeedSpec(self.key, self.department, self.name, fields, self.sheet, self.mode,
                        self.record_key, self.id_field, self.name_field, self.birth_field,
                        self.verification, self.outcomes, self.extra, self.registry_fact)

    def as_dict(self) -> dict[str, Any]:
        person = {k: v for k, v in (("id_number", self.id_field), ("name", self.name_field),
                                    ("birth_date", self.birth_field)) if v}
        out: dict[str, Any] = {"key": self.key, "department": self.department, "name": self.name}
        if self.sheet:
            out["sheet"] = self.sheet
        out["mode"] = self.mode
        if self.record_key:
            out["record_key"] = list(self.record_key)
        out["person"] = person
        if self.verification:
            out["verification"] = self.verification
        if self.outcomes:
            out["outcomes"] = True
        if self.registry_fact is not None:
            out["registry_fact"] = self.registry_fact.as_dict()
        out.update(self.extra)
        out["fields"] = [
            {"key": f.key, "label": f.label, "type": f.type,
             **({} if f.required else {"required": False}),
             **({"aliases": list(f.aliases)} if f.aliases else {}),
             **({"unit": f.unit} if f.unit else {})}
            for f in self.fields]
        return out


def check_reads(fields: Mapping[str, FieldSpec], reads: Mapping[str, str | None],
                who: str) -> None:
    """Refuse a feed type lacking a field that `who` (a 核对 section, an indicator, a rule)
    reads, or holding it with another type; `reads` maps field key → type (None: any)."""
    missing = [k for k in reads if k not in fields]
    if missing:
        raise FeedSpecError(f"{who}读取字段 {'、'.join(missing)}，本数据接口类型没有该字段"
                            "（请将对应列的 key 设为该名称）")
    for k, kind in reads.items():
        if kind is not None and fields[k].type != kind:
            raise FeedSpecError(f"{who}读取的字段 {k} 应为{FIELD_TYPE_LABELS[kind]}类型，"
                                f"本数据接口类型中为{FIELD_TYPE_LABELS[fields[k].type]}")


def _text(doc: Mapping[str, Any], name: str, where: str, required: bool = True) -> str:
    value = doc.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FeedSpecError(f"{where}{name} 应为文本")
    value = value.strip()
    if required and not value:
        raise FeedSpecError(f"{where}缺少 {name}")
    return value


def _field(raw: Any, n: int, where: str) -> FieldSpec:
    at = f"{where}第 {n} 个字段："
    if not isinstance(raw, Mapping):
        raise FeedSpecError(f"{at}应为键值对（key、label、type）")
    key = _text(raw, "key", at)
    if not _KEY.match(key):
        raise FeedSpecError(f"{at}key“{key}”只能由小写字母、数字和下划线组成，以字母开头")
    if key in RESERVED_KEYS:
        raise FeedSpecError(f"{at}key“{key}”为系统保留字段名")
    kind = _text(raw, "type", at, required=False) or "text"
    if kind not in FIELD_TYPES:
        raise FeedSpecError(f"{at}类型“{kind}”无效，可选：{'、'.join(FIELD_TYPES)}")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise FeedSpecError(f"{at}required 应为 true 或 false")
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip()
                                                for a in aliases):
        raise FeedSpecError(f"{at}aliases 应为表头文本的列表")
    unit = _text(raw, "unit", at, required=False)
    if unit and (kind not in UNIT_KINDS or not known_unit(unit)):
        raise FeedSpecError(f"{at}单位“{unit}”无效（只有金额、面积、数值字段可声明单位，"
                            "如 元/月、月）")
    return FieldSpec(key, _text(raw, "label", at), kind, required,
                     tuple(a.strip() for a in aliases), unit)


def parse_spec(doc: Any, origin: str = "") -> FeedSpec:
    where = f"{origin}：" if origin else ""
    if not isinstance(doc, Mapping):
        raise FeedSpecError(f"{where}数据接口类型应为键值对")
    key = _text(doc, "key", where)
    if not _KEY.match(key):
        raise FeedSpecError(f"{where}key“{key}”只能由小写字母、数字和下划线组成，以字母开头")
    where = f"{origin or key}："
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FeedSpecError(f"{where}fields 应为非空列表")
    fields = tuple(_field(f, n, where) for n, f in enumerate(raw_fields, start=1))
    keys = [f.key for f in fields]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise FeedSpecError(f"{where}字段 key 重复：{'、'.join(dup)}")
    headers = [h for f in fields for h in f.headers]
    dup = sorted({h for h in headers if headers.count(h) > 1})
    if dup:
        raise FeedSpecError(f"{where}表头重复：{'、'.join(dup)}")
    mode = _text(doc, "mode", where, required=False) or "events"
    if mode not in MODES:
        raise FeedSpecError(f"{where}mode 应为 snapshot（全量）或 events（增量明细）")
    record_key = doc.get("record_key") or []
    if not isinstance(record_key, list) or any(k not in keys for k in record_key):
        raise FeedSpecError(f"{where}record_key 应为字段 key 的列表")
    person = doc.get("person") or {}
    if not isinstance(person, Mapping) or set(person) - {"id_number", "name", "birth_date"}:
        raise FeedSpecError(f"{where}person 只能包含 id_number、name、birth_date")
    by_key = {f.key: f for f in fields}
    wanted = {"id_number": "id_number", "name": "text", "birth_date": "date"}
    for role, field_key in person.items():
        if field_key not in by_key:
            raise FeedSpecError(f"{where}person.{role} 指向不存在的字段“{field_key}”")
        if by_key[field_key].type != wanted[role]:
            raise FeedSpecError(f"{where}person.{role} 的字段类型应为 "
                                f"{FIELD_TYPE_LABELS[wanted[role]]}")
    if not person.get("id_number") and not (person.get("name") and person.get("birth_date")):
        raise FeedSpecError(f"{where}person 需要 id_number，或 name 与 birth_date，才能对应到人")
    verification = _text(doc, "verification", where, required=False)
    if verification and verification not in VERIFICATION_SECTIONS:
        raise FeedSpecError(f"{where}verification“{verification}”无效，可选："
                            f"{'、'.join(VERIFICATION_SECTIONS)}")
    if verification:
        check_reads(by_key, VERIFICATION_FIELDS[verification],
                    f"{where}核对报告“{VERIFICATION_SECTIONS[verification]}”部分")
    outcomes = doc.get("outcomes", False)
    if not isinstance(outcomes, bool):
        raise FeedSpecError(f"{where}outcomes 应为 true 或 false")
    fact = _registry_fact(doc.get("registry_fact"), by_key, mode, person, where)
    known = {"key", "department", "name", "sheet", "mode", "record_key", "person",
             "verification", "outcomes", "fields", "registry_fact"}
    return FeedSpec(
        key=key, department=_text(doc, "department", where), name=_text(doc, "name", where),
        fields=fields, sheet=_text(doc, "sheet", where, required=False), mode=mode,
        record_key=tuple(record_key), id_field=str(person.get("id_number", "")),
        name_field=str(person.get("name", "")), birth_field=str(person.get("birth_date", "")),
        verification=verification, outcomes=outcomes,
        extra={k: v for k, v in doc.items() if k not in known}, registry_fact=fact)


def _registry_fact(raw: Any, by_key: Mapping[str, FieldSpec], mode: str,
                   person: Mapping[str, Any], where: str) -> RegistryFact | None:
    if raw is None:
        return None
    at = f"{where}registry_fact："
    if not isinstance(raw, Mapping) or set(raw) - {"category", "since", "ended_by",
                                                   "ended_values"}:
        raise FeedSpecError(f"{at}只能包含 category、since、ended_by、ended_values")
    if mode != "snapshot":
        raise FeedSpecError(f"{at}只有全量（snapshot）数据可以登记为人员类别：名单之外即不再属于")
    if not person.get("id_number"):
        raise FeedSpecError(f"{at}须按身份证号对应到人（person.id_number）")
    category = _text(raw, "category", at)
    since = _text(raw, "since", at, required=False)
    if since and (since not in by_key or by_key[since].type != "date"):
        raise FeedSpecError(f"{at}since 应为日期类型的字段 key")
    ended_by = _text(raw, "ended_by", at, required=False)
    values = raw.get("ended_values") or []
    if ended_by and (ended_by not in by_key or by_key[ended_by].type != "text"):
        raise FeedSpecError(f"{at}ended_by 应为文本类型的字段 key")
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values) \
            or bool(ended_by) != bool(values):
        raise FeedSpecError(f"{at}ended_by 与 ended_values（文本列表）须同时填写")
    return RegistryFact(category, since, ended_by, tuple(v.strip() for v in values))

"""推送名单类型 (outbound list types) as data: which persons a department receives, with which
fields, masked or not, in which layout. Declared in `shipped_outbound_lists.yaml` and checked
when read, with a Chinese message naming the faulty place (as feed types are).

    key: medical_insurance_subsidy     # [a-z][a-z0-9_]; deliveries are filed under it
    department: 医保                   # = User.department of the account that pulls it
    name: 资助参保人员名单
    purpose: …                         # what the department does with it (shown on the page)
    selection:
      programmes: [dibao, tekun, edge] # enrollments in force covering the person (在保)
      categories: [relapse_watch]      # registry categories in force (person's or household's)
      members: {filter: all, age: {min: 0, max: 200}}
    fields:
      - {key: id_number, label: 公民身份号码, masked: false}
    layout: {sheet: 资助参保名单, columns: [change, id_number, …]}

A 低保 or 特困 category is never selected on its own: it follows the enrollment (who holds the
status is who is enrolled, `benefits.coverage`), so a list names the programme instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from doudi.core.errors import ServiceError
from doudi.programmes import catalogue
from doudi.registry.categories import CATEGORIES

SHIPPED_FILE = Path(__file__).parent / "shipped_outbound_lists.yaml"

# field key → (default label, maskable): what a list may carry about a selected person
FIELDS: dict[str, tuple[str, bool]] = {
    "id_number": ("身份证号", True),
    "name": ("姓名", True),
    "sex": ("性别", False),
    "birth_date": ("出生日期", True),
    "phone": ("联系电话", True),
    "address": ("住址", True),
    "relation": ("与户主关系", False),
    "student_status": ("在校情况", False),
    "labour_capacity": ("劳动能力", False),
    "household_number": ("家庭编号", False),
    "household_size": ("家庭人口", False),
    "area_code": ("区划代码", False),
    "area_name": ("所在村（社区）", False),
    "category": ("救助类别", False),
    "since": ("认定日期", False),
    "until": ("终止日期", False),
}
# fields that say who the person is: a 退出 row carries them (and `until`), nothing else
IDENTITY = ("id_number", "name", "sex", "birth_date", "household_number", "area_code",
            "area_name")
CHANGE = "change"
CHANGE_LABEL = "变动类型"
ADDED, CHANGED, REMOVED = "新增", "变更", "退出"
MEMBER_FILTERS = {"all": "全部成员", "in_school": "在校学生",
                  "able_to_work": "有劳动能力（含部分）且不在校", "head": "户主"}
_KEY = re.compile(r"[a-z][a-z0-9_]{1,39}")


class OutboundSpecError(ServiceError, ValueError):
    """A list type that cannot be used; the message is Chinese and names the place."""


@dataclass(frozen=True)
class OutField:
    key: str
    label: str
    masked: bool


@dataclass(frozen=True)
class Selection:
    programmes: tuple[str, ...]  # as declared
    categories: tuple[str, ...]
    member_filter: str
    min_age: int | None
    max_age: int | None

    @property
    def enrolled(self) -> tuple[str, ...]:
        """The programmes whose enrollments count (单人保 counts as 低保)."""
        out: list[str] = []
        for code in self.programmes:
            out += [c for c in catalogue.counted_as(code) if c not in out]
        return tuple(out)

    def describe(self) -> str:
        parts = []
        if self.programmes:
            parts.append("在保：" + "、".join(catalogue.get(c).short_label  # type: ignore[union-attr]
                                             for c in self.programmes))
        if self.categories:
            parts.append("类别：" + "、".join(CATEGORIES[c].label for c in self.categories))
        who = MEMBER_FILTERS[self.member_filter]
        if self.min_age is not None or self.max_age is not None:
            who += f"，{self.min_age if self.min_age is not None else 0}–" \
                   f"{self.max_age if self.max_age is not None else ''}周岁"
        return "；".join([*parts, who])


@dataclass(frozen=True)
class OutboundListType:
    key: str
    department: str
    name: str
    purpose: str
    selection: Selection
    fields: tuple[OutField, ...]
    sheet: str
    columns: tuple[str, ...]  # field keys and `change`, in the layout's order

    def __str__(self) -> str:
        return f"{self.department}·{self.name}"

    def field(self, key: str) -> OutField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    @property
    def full_fields(self) -> tuple[str, ...]:
        """Personal fields sent unmasked (each delivery's audit row names them)."""
        return tuple(f.key for f in self.fields if FIELDS[f.key][1] and not f.masked)

    def headers(self, with_change: bool) -> list[str]:
        return [CHANGE_LABEL if c == CHANGE else self.field(c).label
                for c in self.columns if with_change or c != CHANGE]


def _list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OutboundSpecError(f"{where}应为代码列表")
    return tuple(value)


def _age(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 150:
        raise OutboundSpecError(f"{where}应为 0–150 的整数（周岁）")
    return value


def parse(doc: Any, origin: str = "") -> OutboundListType:
    """Check one list type; every refusal names the place in Chinese."""
    where = f"{origin}：" if origin else ""
    if not isinstance(doc, Mapping):
        raise OutboundSpecError(f"{where}推送名单类型应为键值映射")
    key = doc.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise OutboundSpecError(f"{where}key 应为小写字母开头的字母、数字、下划线（2–40 个）")
    where = f"{origin or '推送名单'}“{key}”："
    known = {"key", "department", "name", "purpose", "selection", "fields", "layout"}
    if set(doc) - known:
        raise OutboundSpecError(f"{where}未知的项 {'、'.join(sorted(set(doc) - known))}")
    for item in ("department", "name"):
        if not isinstance(doc.get(item), str) or not doc[item].strip():
            what = "部门" if item == "department" else "名称"
            raise OutboundSpecError(f"{where}缺少 {item}（{what}）")
    selection = _selection(doc.get("selection"), where)
    fields = _fields(doc.get("fields"), where)
    layout = doc.get("layout") or {}
    if not isinstance(layout, Mapping) or set(layout) - {"sheet", "columns"}:
        raise OutboundSpecError(f"{where}layout 只能有 sheet 与 columns")
    sheet = layout.get("sheet") or doc["name"]
    if not isinstance(sheet, str) or len(sheet) > 31 or set(sheet) & set("[]:*?/\\"):
        raise OutboundSpecError(f"{where}layout.sheet 应为不超过 31 个字符、"
                                "不含 []:*?/\\ 的工作表名")
    keys = [f.key for f in fields]
    columns = _list(layout.get("columns"), f"{where}layout.columns ") or (CHANGE, *keys)
    if CHANGE not in columns:
        columns = (CHANGE, *columns)
    unknown = [c for c in columns if c != CHANGE and c not in keys]
    if unknown:
        raise OutboundSpecError(f"{where}layout.columns 中的 {'、'.join(unknown)} 不是本名单的字段")
    missing = [k for k in keys if k not in columns]
    if missing:
        raise OutboundSpecError(f"{where}layout.columns 缺少字段 {'、'.join(missing)}")
    if len(set(columns)) != len(columns):
        raise OutboundSpecError(f"{where}layout.columns 有重复的列")
    return OutboundListType(key=key, department=doc["department"].strip(),
                            name=doc["name"].strip(), purpose=str(doc.get("purpose") or ""),
                            selection=selection, fields=fields, sheet=sheet, columns=columns)


def _selection(value: Any, where: str) -> Selection:
    if not isinstance(value, Mapping):
        raise OutboundSpecError(f"{where}缺少 selection（选取条件）")
    if set(value) - {"programmes", "categories", "members"}:
        raise OutboundSpecError(f"{where}selection 只能有 programmes、categories、members")
    programmes = _list(value.get("programmes"), f"{where}selection.programmes ")
    for code in programmes:
        entry = catalogue.get(code)
        if entry is None or entry.one_off or not entry.monitored:
            raise OutboundSpecError(f"{where}selection.programmes 中的“{code}”"
                                    "不是按月在保的救助项目")
    categories = _list(value.get("categories"), f"{where}selection.categories ")
    from doudi.benefits.coverage import paid_statuses

    paid = {p.category: p for p in paid_statuses()}
    for code in categories:
        if code not in CATEGORIES:
            raise OutboundSpecError(f"{where}selection.categories 中的“{code}”不是人员/家庭类别")
        if code in paid:
            raise OutboundSpecError(
                f"{where}类别“{CATEGORIES[code].label}”随在保认定，不能单独选取，"
                f"请在 programmes 中写 {paid[code].code}")
    if not programmes and not categories:
        raise OutboundSpecError(f"{where}selection 至少要有 programmes 或 categories 之一")
    members = value.get("members") or {}
    if not isinstance(members, Mapping) or set(members) - {"filter", "age"}:
        raise OutboundSpecError(f"{where}selection.members 只能有 filter 与 age")
    member_filter = members.get("filter", "all")
    if member_filter not in MEMBER_FILTERS:
        raise OutboundSpecError(f"{where}selection.members.filter 应为 "
                                f"{'、'.join(MEMBER_FILTERS)} 之一")
    age = members.get("age") or {}
    if not isinstance(age, Mapping) or set(age) - {"min", "max"}:
        raise OutboundSpecError(f"{where}selection.members.age 只能有 min 与 max")
    low = _age(age.get("min"), f"{where}年龄下限 ")
    high = _age(age.get("max"), f"{where}年龄上限 ")
    if low is not None and high is not None and low > high:
        raise OutboundSpecError(f"{where}年龄下限大于上限")
    return Selection(programmes, categories, member_filter, low, high)


def _fields(value: Any, where: str) -> tuple[OutField, ...]:
    if not isinstance(value, list) or not value:
        raise OutboundSpecError(f"{where}缺少 fields（字段）")
    out: list[OutField] = []
    for n, f in enumerate(value, start=1):
        here = f"{where}第 {n} 个字段"
        if not isinstance(f, Mapping) or set(f) - {"key", "label", "masked"}:
            raise OutboundSpecError(f"{here}只能有 key、label、masked")
        key = f.get("key")
        if key not in FIELDS:
            raise OutboundSpecError(f"{here}：未知字段“{key}”（可用：{'、'.join(FIELDS)}）")
        if any(o.key == key for o in out):
            raise OutboundSpecError(f"{here}：字段 {key} 重复")
        label = f.get("label") or FIELDS[key][0]
        if not isinstance(label, str):
            raise OutboundSpecError(f"{here}：label 应为文字")
        if any(o.label == label for o in out) or label == CHANGE_LABEL:
            raise OutboundSpecError(f"{here}：表头“{label}”重复")
        maskable = FIELDS[key][1]
        masked = f.get("masked", maskable)
        if not isinstance(masked, bool):
            raise OutboundSpecError(f"{here}：masked 应为 true 或 false")
        if masked and not maskable:
            raise OutboundSpecError(f"{here}：字段 {key}（{label}）不含个人敏感信息，无需脱敏")
        out.append(OutField(key, label, masked))
    return tuple(out)


def read_documents(text: str, origin: str = "") -> list[OutboundListType]:
    """A YAML document of {outbound_lists: [...]}, a list, or one list type."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OutboundSpecError(f"{origin}：不是有效的 YAML：{exc}") from exc
    if isinstance(doc, Mapping) and "outbound_lists" in doc:
        doc = doc["outbound_lists"]
    docs = doc if isinstance(doc, list) else [doc]
    out = [parse(d, f"{origin} 第 {n} 项" if len(docs) > 1 else origin)
           for n, d in enumerate(docs, start=1)]
    keys = [t.key for t in out]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise OutboundSpecError(f"{origin}：推送名单 {'、'.join(dup)} 重复")
    return out


@lru_cache(maxsize=1)
def shipped() -> tuple[OutboundListType, ...]:
    return tuple(read_documents(SHIPPED_FILE.read_text(encoding="utf-8"), SHIPPED_FILE.name))


def get(key: str) -> OutboundListType | None:
    return next((t for t in shipped() if t.key == key), None)


def departments() -> set[str]:
    return {t.department for t in shipped()}

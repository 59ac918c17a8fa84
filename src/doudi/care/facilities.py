"""设施类型: the kinds of facility the 设施 register keeps, declared once as data — the Chinese
label, the group it is counted under, which of the optional facts a facility of the kind
carries, the services it usually offers, whether the people who use it are recorded, and the
figures the reports need. Pages, forms, the Excel export and the figures read this table;
adding a kind is one row here.

敬老院 / 特困供养服务机构 and the other elderly institutions are not here: they are the
institution register (`care.models.Institution`, beds and nursing-type beds), which the 设施
pages show alongside with their 改造提升 projects and the towns' nursing-bed targets.

Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

# optional facts a facility may carry → Chinese label (the model has a column for each)
FACT_LABELS: dict[str, str] = {
    "operator": "性质",
    "capacity": "床位/名额",
    "staff": "工作人员",
    "floor_area": "建筑面积（㎡）",
}

# figure → Chinese label: what a kind's row on the register and its export count
FIGURE_LABELS: dict[str, str] = {
    "facilities": "设施数",
    "operating": "运营中",
    "capacity": "床位/名额",
    "staff": "工作人员",
    "floor_area": "建筑面积（㎡）",
    "services": "在提供服务项",
    "users": "在册服务对象",
    "covered_villages": "已覆盖村（社区）",
    "villages": "村（社区）总数",
    "coverage_bp": "覆盖率",
}


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    group: str
    facts: tuple[str, ...]
    figures: tuple[str, ...]
    services: tuple[str, ...] = ()
    capacity_label: str = "床位（张）"
    users: bool = False  # the people who use it are recorded (服务对象, by registry person)
    users_label: str = "服务对象"


_BASE = ("facilities", "operating")

KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("day_care", "社区日间照料中心", "养老服务",
         facts=("operator", "capacity", "staff"),
         figures=(*_BASE, "capacity", "staff", "services"),
         services=("助餐", "日间托养", "助浴", "健康管理", "康复护理", "文体娱乐", "精神慰藉")),
    Kind("happiness_home", "农村幸福院", "养老服务",
         facts=("operator", "capacity", "staff"),
         figures=(*_BASE, "capacity", "staff", "services"),
         services=("助餐", "休息午托", "文体娱乐", "互助帮扶", "探访关爱")),
    Kind("mutual_aid", "互助养老点", "养老服务",
         facts=("capacity", "staff"),
         figures=(*_BASE, "capacity", "staff", "services"),
         services=("助餐", "邻里互助", "探访关爱", "文体娱乐"),
         capacity_label="服务名额"),
    Kind("mental_rehab", "精神障碍社区康复服务站（精康融合）", "精神障碍社区康复",
         facts=("operator", "capacity", "staff"),
         figures=(*_BASE, "capacity", "staff", "services", "users"),
         services=("生活技能训练", "社交技能训练", "职业康复", "心理疏导", "家属支持",
                   "转介服务"),
         capacity_label="康复服务名额", users=True, users_label="康复服务对象"),
    Kind("child_welfare", "儿童福利机构", "儿童福利与未成年人保护",
         facts=("operator", "capacity", "staff"),
         figures=(*_BASE, "capacity", "staff", "services", "users"),
         services=("养育照料", "医疗康复", "特殊教育", "社会工作", "家庭寄养指导"),
         users=True, users_label="在院儿童"),
    Kind("minor_protection", "未成年人保护工作站", "儿童福利与未成年人保护",
         facts=("staff",),
         figures=(*_BASE, "staff", "services"),
         services=("监护评估", "关爱帮扶", "心理辅导", "法治宣传", "转介服务")),
    Kind("village_service", "村级综合服务设施", "村级综合服务",
         facts=("floor_area", "staff"),
         figures=(*_BASE, "floor_area", "staff", "services", "covered_villages", "villages",
                  "coverage_bp"),
         services=("便民服务", "养老服务", "儿童之家", "社会工作服务", "志愿服务",
                   "议事协商")),
)}

KIND_CHOICES = [(k.code, k.label) for k in KINDS.values()]

# 改造提升 projects: state → label, and the workflow as a table (state, action) → next state
PROJECT_STATES: dict[str, str] = {"planned": "计划", "construction": "施工", "accepted": "验收通过"}
PROJECT_STEPS: dict[tuple[str, str], str] = {
    ("planned", "start"): "construction",
    ("construction", "accept"): "accepted",
}
PROJECT_ACTIONS: dict[str, str] = {"start": "开工", "accept": "验收通过"}

# why an institution's nursing-type beds changed; the annual target counts only new beds
BED_CHANGE_REASONS: dict[str, str] = {
    "registered": "存量登记",
    "opened": "新建机构投入使用",
    "added": "新增或改造护理型床位",
    "project": "改造提升项目验收",
    "correction": "数据更正",
}
COUNTED_BED_CHANGES = frozenset({"opened", "added", "project"})


def figure_columns(kind: Kind) -> list[tuple[str, str]]:
    """(figure, label) of the kind, capacity named as the kind names it."""
    return [(f, kind.capacity_label if f == "capacity" else FIGURE_LABELS[f])
            for f in kind.figures]

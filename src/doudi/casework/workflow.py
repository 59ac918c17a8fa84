"""The application workflow as an explicit table of allowed transitions (pure, no Django).

A state is the step an application waits for; an action moves it on. Each transition names the
roles that may take it and whether the actor's area must be the village, town or district that
owns the application — so the same table drives the services' checks, the buttons a page shows
and the tests. Approval (审批/确认) is taken by the town approver where the district delegated
it (`casework.<programme>.delegated`, a policy parameter), by the district approver otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from doudi.core.errors import ServiceError

STATES = {
    "accepted": "受理（待入户调查）",
    "verification": "家庭经济状况核对",
    "town_review": "镇街初审",
    "deliberation": "民主评议",
    "publicity": "公示",
    "decision": "审批/确认",
    "notice": "书面通知",
    "approved": "已批准（纳入保障）",
    "refused": "不予批准",
    "withdrawn": "已撤回",
}
TERMINAL = frozenset({"approved", "refused", "withdrawn"})

PROGRAMMES = {
    "dibao": "最低生活保障（低保）",
    "single_person": "单人保",
    "edge": "低保边缘家庭认定",
    "hardship": "支出型困难家庭认定",
    "tekun": "特困人员救助供养",
    "linshi": "临时救助",
    "disability": "困难残疾人生活补贴和重度残疾人护理补贴（两项补贴）",
    "child": "孤儿、事实无人抚养儿童基本生活保障",
}
# Programmes whose recognition is published (谁救助谁公示): 公示 before the decision.
PUBLISHED = frozenset({"dibao", "single_person", "tekun"})

VILLAGE_ROLES = frozenset({"village_assistant"})
TOWN_ROLES = frozenset({"town_officer", "town_approver"})
TOWN_APPROVER = frozenset({"town_approver"})
DISTRICT_APPROVER = frozenset({"district_approver"})
INTAKE_ROLES = VILLAGE_ROLES | TOWN_ROLES | frozenset({"district_officer", "district_approver"})


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    source: frozenset[str]
    target: str  # "" = decided by the service (e.g. approve → notice with the outcome)
    roles: frozenset[str]
    opinion_required: bool = False


def _t(action: str, label: str, source: set[str] | str, target: str, roles: frozenset[str],
       opinion: bool = False) -> Transition:
    src = frozenset({source} if isinstance(source, str) else source)
    return Transition(action, label, src, target, roles, opinion)


OPEN = frozenset(STATES) - TERMINAL
TRANSITIONS: tuple[Transition, ...] = (
    _t("record_visit", "登记入户调查", "accepted", "verification", VILLAGE_ROLES | TOWN_ROLES),
    _t("complete_verification", "完成经济状况核对", "verification", "town_review", TOWN_ROLES),
    _t("town_opinion", "提出初审意见", "town_review", "", TOWN_ROLES, opinion=True),
    _t("record_deliberation", "登记民主评议", "deliberation", "publicity",
       VILLAGE_ROLES | TOWN_ROLES, opinion=True),
    _t("record_objection", "登记公示异议（退回初审）", "publicity", "town_review", TOWN_ROLES,
       opinion=True),
    _t("close_publicity", "公示期满无异议", "publicity", "decision", TOWN_ROLES),
    _t("approve", "批准", "decision", "notice", TOWN_APPROVER | DISTRICT_APPROVER,
       opinion=True),
    _t("refuse", "不予批准", "decision", "notice", TOWN_APPROVER | DISTRICT_APPROVER,
       opinion=True),
    _t("issue_notice", "送达书面通知", "notice", "", TOWN_ROLES),
    _t("return_for_correction", "退回补正", {"verification", "town_review", "decision"},
       "accepted", TOWN_ROLES | DISTRICT_APPROVER, opinion=True),
    _t("withdraw", "申请人撤回", OPEN, "withdrawn", VILLAGE_ROLES | TOWN_ROLES, opinion=True),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}


class TransitionError(ServiceError):
    """An action the table does not allow here; the message is Chinese."""


def next_after_opinion(programme: str, deliberation_required: bool) -> str:
    """Where the town's first-instance opinion sends an application."""
    if deliberation_required:
        return "deliberation"
    return "publicity" if programme in PUBLISHED else "decision"


def approver_roles(delegated: bool) -> frozenset[str]:
    return TOWN_APPROVER if delegated else DISTRICT_APPROVER


def allowed(action: str, state: str, roles: set[str] | frozenset[str], *,
            delegated: bool) -> Transition:
    """The transition, or TransitionError saying why not."""
    t = BY_ACTION.get(action)
    if t is None:
        raise TransitionError(f"未知操作：{action}")
    if state not in t.source:
        raise TransitionError(f"当前环节为“{STATES.get(state, state)}”，不能执行“{t.label}”")
    who = t.roles
    if action in ("approve", "refuse"):
        who = approver_roles(delegated)
    if not (set(roles) & who):
        raise TransitionError(f"您的角色不能执行“{t.label}”")
    return t


def actions_for(state: str, roles: set[str] | frozenset[str], *,
                delegated: bool) -> list[Transition]:
    out = []
    for t in TRANSITIONS:
        try:
            allowed(t.action, state, roles, delegated=delegated)
        except TransitionError:
            continue
        out.append(t)
    return out

"""The application workflow as an explicit table of allowed transitions (pure, no Django).

A state is the step an application waits for; an action moves it on. Each transition names the
capability (`accounts.roles`) an actor needs to take it — so the same table drives the
services' checks, the buttons a page shows and the tests; the services check the actor's area.
Approval (审批/确认) needs `casework.approve_delegated` (the town approver) where the district
delegated it (`casework.<programme>.delegated`, a policy parameter), `casework.approve` (the
district approver) otherwise.

A transition may also require a named condition of the application (`requires`), which the
services work out from the application and the parameters: the 急难小额 short path
(`SMALL_URGENT`) is open only to a one-off urgent case whose stated need is within
`casework.<programme>.small_urgent_limit`. It approves first (审批 before 入户调查); after the
notice the case waits in `post_review` (事后补查) for the visit and the town's review, within
`casework.<programme>.deadline.post_review` working days, overdue like any other step.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from doudi.accounts import roles
from doudi.core.errors import ServiceError
from doudi.programmes import catalogue

STATES = {
    "accepted": "受理（待入户调查）",
    "verification": "家庭经济状况核对",
    "town_review": "镇街初审",
    "deliberation": "民主评议",
    "publicity": "公示",
    "decision": "审批/确认",
    "notice": "书面通知",
    "post_review": "事后补查（急难小额）",
    "approved": "已批准（纳入保障）",
    "refused": "不予批准",
    "withdrawn": "已撤回",
}
TERMINAL = frozenset({"approved", "refused", "withdrawn"})
SMALL_URGENT = "small_urgent"  # the condition of the 急难小额 short path
CONDITIONS = {SMALL_URGENT: "急难型小额临时救助"}


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    source: frozenset[str]
    target: str  # "" = decided by the service (e.g. approve → notice with the outcome)
    capability: str  # what the actor needs to take it
    opinion_required: bool = False
    # what the actor needs instead where the district delegated the step to the town
    delegated_capability: str = ""
    requires: str = ""  # a condition (CONDITIONS) the application must meet


def _t(action: str, label: str, source: set[str] | str, target: str, capability: str,
       opinion: bool = False, delegated: str = "", requires: str = "") -> Transition:
    src = frozenset({source} if isinstance(source, str) else source)
    return Transition(action, label, src, target, capability, opinion, delegated, requires)


OPEN = frozenset(STATES) - TERMINAL
TRANSITIONS: tuple[Transition, ...] = (
    _t("record_visit", "登记入户调查", "accepted", "verification", roles.RECORD_HOME_VISIT),
    _t("complete_verification", "完成经济状况核对", "verification", "town_review",
       roles.TOWN_REVIEW),
    _t("town_opinion", "提出初审意见", "town_review", "", roles.TOWN_REVIEW, opinion=True),
    _t("record_deliberation", "登记民主评议", "deliberation", "publicity",
       roles.RECORD_DELIBERATION, opinion=True),
    _t("record_objection", "登记公示异议（退回初审）", "publicity", "town_review",
       roles.TOWN_REVIEW, opinion=True),
    _t("close_publicity", "公示期满无异议", "publicity", "decision", roles.TOWN_REVIEW),
    _t("approve", "批准", "decision", "notice", roles.APPROVE, opinion=True,
       delegated=roles.APPROVE_DELEGATED),
    _t("refuse", "不予批准", "decision", "notice", roles.APPROVE, opinion=True,
       delegated=roles.APPROVE_DELEGATED),
    _t("approve_urgent", "急难小额先行审批（事后补查）",
       {"accepted", "verification", "town_review"}, "notice", roles.APPROVE, opinion=True,
       delegated=roles.APPROVE_DELEGATED, requires=SMALL_URGENT),
    _t("issue_notice", "送达书面通知", "notice", "", roles.TOWN_REVIEW),
    _t("complete_post_review", "事后补查（补录入户调查、审核）", "post_review", "approved",
       roles.TOWN_REVIEW, opinion=True),
    _t("return_for_correction", "退回补正", {"verification", "town_review", "decision"},
       "accepted", roles.RETURN_FOR_CORRECTION, opinion=True),
    _t("withdraw", "申请人撤回", OPEN, "withdrawn", roles.RECORD_WITHDRAWAL, opinion=True),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}


class TransitionError(ServiceError):
    """An action the table does not allow here; the message is Chinese."""


def next_after_opinion(programme: str, deliberation_required: bool) -> str:
    """Where the town's first-instance opinion sends an application."""
    if deliberation_required:
        return "deliberation"
    return "publicity" if programme in catalogue.published() else "decision"


def needed(t: Transition, *, delegated: bool) -> str:
    """The capability taking `t` needs on an application: 审批/确认 is the town approver's
    where the district delegated it, the district approver's otherwise."""
    return t.delegated_capability if delegated and t.delegated_capability else t.capability


def allowed(action: str, state: str, capabilities: Set[str], *,
            delegated: bool, conditions: Set[str] = frozenset()) -> Transition:
    """The transition, or TransitionError saying why not. `capabilities`: the actor's
    (`user.capabilities`); `conditions`: those the application meets (CONDITIONS)."""
    t = BY_ACTION.get(action)
    if t is None:
        raise TransitionError(f"未知操作：{action}")
    if state not in t.source:
        raise TransitionError(f"当前环节为“{STATES.get(state, state)}”，不能执行“{t.label}”")
    if t.requires and t.requires not in conditions:
        raise TransitionError(f"“{t.label}”只适用于{CONDITIONS[t.requires]}")
    if needed(t, delegated=delegated) not in capabilities:
        raise TransitionError(f"您的角色不能执行“{t.label}”")
    return t


def actions_for(state: str, capabilities: Set[str], *,
                delegated: bool, conditions: Set[str] = frozenset()) -> list[Transition]:
    out = []
    for t in TRANSITIONS:
        try:
            allowed(t.action, state, capabilities, delegated=delegated, conditions=conditions)
        except TransitionError:
            continue
        out.append(t)
    return out

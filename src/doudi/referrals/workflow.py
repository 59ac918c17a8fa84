"""The life of a referral (转介) as a table (pure, no Django).

A referral is sent (待答复) to the department its kind names, due in the kind's working days.
The department answers: 受理 (accepted; a new time limit for the result), 给予 (granted, with
an amount or a measure) or 不予救助 (refused, with a reason). An unanswered referral past its
due date escalates (逾期督办): its level goes up by one and it gets a new due date.
"""

from __future__ import annotations

from dataclasses import dataclass

from doudi.accounts import roles

SENT, ACCEPTED, GRANTED, REFUSED = "sent", "accepted", "granted", "refused"
STATES = {SENT: "待答复", ACCEPTED: "已受理", GRANTED: "已给予", REFUSED: "不予救助"}
OPEN = frozenset({SENT, ACCEPTED})  # waiting for the department: these escalate when overdue
OUTCOMES = {ACCEPTED: "受理", GRANTED: "给予救助", REFUSED: "不予救助"}
SOURCES = {"warning": "监测预警", "application": "救助申请", "household": "家庭档案"}
# escalated_level → what it means (the first overdue day flags it to the district, the second
# to the city); a referral escalates at most this far
ESCALATION_LABELS = {1: "逾期，报县（区）督办", 2: "再次逾期，报市级督办"}
MAX_ESCALATION = max(ESCALATION_LABELS)


@dataclass(frozen=True)
class Transition:
    state: str
    action: str
    to: str
    capability: str | None  # None: the system's (escalation)
    label: str
    restarts_clock: bool  # a new due date (in the kind's working days) from the day of the act


TRANSITIONS: tuple[Transition, ...] = (
    Transition(SENT, ACCEPTED, ACCEPTED, roles.ANSWER_REFERRALS, "受理", True),
    Transition(SENT, GRANTED, GRANTED, roles.ANSWER_REFERRALS, "给予救助", False),
    Transition(SENT, REFUSED, REFUSED, roles.ANSWER_REFERRALS, "不予救助", False),
    Transition(ACCEPTED, GRANTED, GRANTED, roles.ANSWER_REFERRALS, "给予救助", False),
    Transition(ACCEPTED, REFUSED, REFUSED, roles.ANSWER_REFERRALS, "不予救助", False),
    Transition(SENT, "escalate", SENT, None, "逾期升级", True),
    Transition(ACCEPTED, "escalate", ACCEPTED, None, "逾期升级", True),
)


def transition(state: str, action: str) -> Transition | None:
    return next((t for t in TRANSITIONS if t.state == state and t.action == action), None)


def actions(state: str) -> list[Transition]:
    """What a department may do to a referral in `state` (the answer form's choices)."""
    return [t for t in TRANSITIONS if t.state == state and t.capability is not None]


def answer_problems(outcome: str, amount_fen: int | None, measure: str,
                    reason: str) -> list[tuple[str, str]]:
    """(field, Chinese reason) for an answer that cannot be recorded as given."""
    problems = []
    if outcome == GRANTED and amount_fen is None and not measure.strip():
        problems.append(("amount", "给予救助须填写金额或救助措施"))
    if outcome == GRANTED and amount_fen is not None and amount_fen <= 0:
        problems.append(("amount", "给予金额应大于 0"))
    if outcome == REFUSED and not reason.strip():
        problems.append(("reason", "不予救助须说明理由"))
    return problems

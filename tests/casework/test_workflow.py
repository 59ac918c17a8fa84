"""The transition table: who may take which step where (roles through their capabilities)."""

from __future__ import annotations

import pytest

from doudi.accounts.roles import capabilities_of
from doudi.casework import workflow
from doudi.casework.workflow import TransitionError, actions_for, allowed


def caps(role: str) -> frozenset[str]:
    return capabilities_of({role})


def test_village_assistant_records_the_visit_but_cannot_review_or_approve() -> None:
    va = caps("village_assistant")
    assert allowed("record_visit", "accepted", va, delegated=True).target == "verification"
    for action, state in (("town_opinion", "town_review"), ("approve", "decision"),
                          ("close_publicity", "publicity")):
        with pytest.raises(TransitionError):
            allowed(action, state, va, delegated=True)


def test_approval_follows_delegation() -> None:
    assert allowed("approve", "decision", caps("town_approver"), delegated=True)
    with pytest.raises(TransitionError, match="角色"):
        allowed("approve", "decision", caps("town_approver"), delegated=False)
    assert allowed("approve", "decision", caps("district_approver"), delegated=False)
    with pytest.raises(TransitionError):
        allowed("approve", "decision", caps("district_approver"), delegated=True)
    with pytest.raises(TransitionError):
        allowed("approve", "decision", caps("town_officer"), delegated=True)


def test_actions_only_from_their_states() -> None:
    with pytest.raises(TransitionError, match="当前环节"):
        allowed("approve", "publicity", caps("town_approver"), delegated=True)
    assert not actions_for("approved", caps("town_approver"), delegated=True)
    assert "withdraw" in {t.action for t in actions_for("publicity", caps("town_officer"),
                                                         delegated=True)}


def test_published_programmes_go_to_publicity_others_to_decision() -> None:
    assert workflow.next_after_opinion("dibao", False) == "publicity"
    assert workflow.next_after_opinion("linshi", False) == "decision"
    assert workflow.next_after_opinion("dibao", True) == "deliberation"


def test_every_target_and_source_is_a_state() -> None:
    for t in workflow.TRANSITIONS:
        assert t.source <= set(workflow.STATES)
        assert t.target == "" or t.target in workflow.STATES

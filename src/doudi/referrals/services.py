"""Referral services (转介): send one (from a warning, a case or a household), the receiving
department's answer, and the escalation of overdue ones. Each is one transaction: the change,
its `ReferralEvent` and its audit row (the save of an audited model) together.

Who sees what: staff see the referrals of their area (`Referral.objects.visible_to(user)`); a
department account sees only those addressed to its own department within its area
(`addressed_to`), and of the person only the masked name and ID (`minimal`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.core import clock
from doudi.core.errors import FieldError, ServiceError
from doudi.core.masking import mask_id_number, mask_name
from doudi.core.workdays import add_workdays
from doudi.referrals import kinds, workflow
from doudi.referrals.models import Referral, ReferralEvent

if TYPE_CHECKING:
    from doudi.casework.models import Application
    from doudi.monitoring.models import Warning
    from doudi.registry.models import Household, Person

ASKED_MAX = 1000


class ReferralError(ServiceError):
    """A refused referral act; the message is Chinese."""


def _deadline(start: dt.date, days: int) -> tuple[dt.date, bool]:
    from doudi.casework.services import calendar

    found = add_workdays(start, days, calendar())
    return found.day, found.provisional


def _event(referral: Referral, by, action: str, label: str, before: str,  # noqa: ANN001
           note: str = "") -> None:
    ReferralEvent.objects.create(referral=referral, action=action, label=label[:100],
                                 note=note, from_status=before, to_status=referral.status,
                                 by=by)


def refer(*, by, household: Household, kind: str, asked: str,  # noqa: ANN001
          warning: Warning | None = None, application: Application | None = None,
          person: Person | None = None, day: dt.date | None = None) -> Referral:
    """转介: ask the department of `kind` for its 专项救助 for a household (from a warning or
    a case when given), due in the kind's working days."""
    if not in_scope(by, household.area_code, roles.SEND_REFERRALS):
        raise PermissionDenied("无权转介该家庭")
    found = kinds.get(kind)
    problems = []
    if found is None:
        problems.append(FieldError("kind", "请选择转介类别"))
    if not asked.strip():
        problems.append(FieldError("asked", "请填写转介事项（请求对方部门做什么）"))
    elif len(asked.strip()) > ASKED_MAX:
        problems.append(FieldError("asked", f"转介事项过长（至多{ASKED_MAX}字）"))
    if person is not None and not household.memberships.filter(person=person).exists():
        problems.append(FieldError("person", "转介对象须为该家庭成员"))
    if warning is not None and warning.household_id != household.pk:
        problems.append(FieldError(None, "预警与家庭不一致"))
    if application is not None and application.household_id != household.pk:
        problems.append(FieldError(None, "救助申请与家庭不一致"))
    if problems:
        raise ReferralError(problems)
    assert found is not None
    sent_on = day or clock.today()
    due_on, provisional = _deadline(sent_on, found.answer_days)
    source = "warning" if warning is not None else \
        "application" if application is not None else "household"
    with transaction.atomic():
        referral = Referral.objects.create(
            household=household, person=person, kind=found.code, department=found.department,
            source=source, warning=warning, application=application, asked=asked.strip(),
            status=workflow.SENT, sent_on=sent_on, due_on=due_on, due_provisional=provisional,
            sent_by=by, area_code=household.area_code)
        _event(referral, by, "send", f"转介{found.label}（{found.department}）", "",
               asked.strip())
    return referral


def addressed_to(user):  # noqa: ANN001, ANN201
    """The referrals a department account answers: its department's, within its area."""
    if user is None or not user.is_authenticated or not user.can(roles.ANSWER_REFERRALS) \
            or not user.department or user.scope_prefix is None:
        return Referral.objects.none()
    return Referral.objects.filter(department=user.department,
                                   area_code__startswith=user.scope_prefix)


def answer(*, by, referral: Referral, outcome: str, amount_fen: int | None = None,  # noqa: ANN001
           measure: str = "", reason: str = "", day: dt.date | None = None) -> Referral:
    """The department's answer: 受理, 给予 (an amount in fen or a measure) or 不予救助 (a
    reason). Only the department the referral is addressed to, within its area."""
    if not addressed_to(by).filter(pk=referral.pk).exists():
        raise PermissionDenied("该转介未发送给本部门")
    problems = [FieldError(f, m) for f, m in
                workflow.answer_problems(outcome, amount_fen, measure, reason)]
    if outcome not in workflow.OUTCOMES:
        problems.insert(0, FieldError("outcome", "请选择答复结果（受理、给予救助、不予救助）"))
    if problems:
        raise ReferralError(problems)
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        step = workflow.transition(locked.status, outcome)
        if step is None or step.capability is None or not by.can(step.capability):
            raise ReferralError(f"该转介{workflow.STATES[locked.status]}，不能再“"
                                f"{workflow.OUTCOMES[outcome]}”")
        before = locked.status
        locked.status = step.to
        if step.restarts_clock:
            kind = kinds.get(locked.kind)
            locked.due_on, locked.due_provisional = _deadline(
                day or clock.today(), kind.answer_days if kind else 10)
        if outcome == workflow.GRANTED:
            locked.amount_fen, locked.measure = amount_fen, measure.strip()[:300]
        if outcome == workflow.REFUSED:
            locked.reason = reason.strip()[:300]
        locked.answered_by, locked.answered_at = by, timezone.now()
        locked.save()
        note = locked.outcome_text if outcome != workflow.ACCEPTED else measure.strip()
        _event(locked, by, outcome, step.label, before, note)
    return locked


def escalate_overdue(today: dt.date | None = None, area_code: str = "") -> int:
    """Unanswered referrals past their due date escalate (逾期督办): one level up (县 → 市),
    with a new due date in the kind's working days. Returns how many moved."""
    today = today or clock.today()
    moved = 0
    overdue = Referral.objects.filter(area_code__startswith=area_code,
                                      status__in=workflow.OPEN, due_on__lt=today,
                                      escalated_level__lt=workflow.MAX_ESCALATION)
    for referral in overdue.order_by("id").iterator(chunk_size=2000):
        kind = kinds.get(referral.kind)
        step = workflow.transition(referral.status, "escalate")
        if step is None:
            continue
        before_due = referral.due_on
        with transaction.atomic():
            referral.escalated_level += 1
            referral.due_on, referral.due_provisional = _deadline(
                today, kind.answer_days if kind else 10)
            referral.save()
            label = workflow.ESCALATION_LABELS[referral.escalated_level]
            _event(referral, None, "escalate", label, referral.status,
                   f"{referral.department}未在 {before_due:%Y-%m-%d} 前答复，"
                   f"新期限 {referral.due_on:%Y-%m-%d}")
        moved += 1
    return moved


def is_overdue(referral: Referral, today: dt.date | None = None) -> bool:
    return referral.is_open and referral.due_on < (today or clock.today())


def minimal(referral: Referral) -> dict:
    """What the receiving department sees (最小必要): the kind, what is asked, the village,
    the person's masked name and ID (the head of household's when no member is named), the
    dates and the answer — nothing else of the household."""
    from doudi.areas.models import area_names

    person = referral.person
    if person is None:
        head = referral.household.memberships.filter(
            relation="head", end_date__isnull=True).select_related("person").first()
        person = head.person if head else None
    village = area_names([referral.area_code]).get(referral.area_code, "")
    return {
        "id": referral.pk, "kind": referral.kind, "kind_label": referral.kind_label,
        "department": referral.department, "status": referral.status,
        "status_label": workflow.STATES[referral.status], "asked": referral.asked,
        "area_code": referral.area_code, "village": village,
        "name": mask_name(person.name) if person else "",
        "id_number": mask_id_number(person.id_number) if person else "",
        "sent_on": referral.sent_on, "due_on": referral.due_on,
        "overdue": is_overdue(referral), "escalated_level": referral.escalated_level,
        "amount_fen": referral.amount_fen, "measure": referral.measure,
        "reason": referral.reason, "updated_at": referral.updated_at,
    }

"""探访人员 who are not officers (儿童主任、驻村干部、网格员、志愿者) and the persons given them.

A town or district officer gives a person of their area to a visitor's account in it, naming
the visitor's part (儿童主任 …), from a day and until a day or until ended. While the
assignment runs, `areas.scoping` admits the person, their visit tasks and visits to the visitor
(masked pages), and `care.services.record_visit` lets the visitor record visits to them — to
them only, and without the follow-ups that act on the household (a warning, an application):
the visitor writes what they saw and what is needed, the village and town follow it up.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from doudi.accounts import roles
from doudi.areas.scoping import in_scope, register_assignments
from doudi.care.models import VISITOR_KINDS, VisitorAssignment
from doudi.care.services import CareError
from doudi.core import clock
from doudi.registry.models import Membership, Person


def _running(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def active_for(user, day: dt.date | None = None) -> QuerySet[VisitorAssignment]:  # noqa: ANN001
    """The visitor's assignments running on `day` (today)."""
    if not (user.is_active and user.can(roles.VIEW_ASSIGNED) and user.can(roles.RECORD_VISIT)):
        return VisitorAssignment.objects.none()
    return VisitorAssignment.objects.filter(_running(day or clock.today()), visitor=user)


def _persons(user, day: dt.date) -> QuerySet | None:  # noqa: ANN001
    if not (user.can(roles.VIEW_ASSIGNED) and user.can(roles.RECORD_VISIT)):
        return None
    return active_for(user, day).values("person_id")


def register() -> None:
    """The scoping door's source for the key `person` (CareConfig.ready)."""
    register_assignments("person", _persons)


def is_visitor(user) -> bool:  # noqa: ANN001
    """An account that visits only the persons assigned to it (it reads nothing by area)."""
    return (user.can(roles.VIEW_ASSIGNED) and user.can(roles.RECORD_VISIT)
            and not user.can(roles.VIEW_REGISTRY))


def _area_of(person: Person) -> str:
    membership = Membership.objects.filter(person=person, end_date__isnull=True).first()
    return membership.area_code if membership else person.area_code


@transaction.atomic
def assign(*, by, visitor, person: Person, visitor_kind: str, valid_from: dt.date,  # noqa: ANN001
           valid_to: dt.date | None = None) -> VisitorAssignment:
    """Give a person of the officer's area to a visitor's account of it."""
    area = _area_of(person)
    if not by.can(roles.ASSIGN_VISITORS) or not in_scope(by, area, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权为该人员分配探访人员")
    if visitor is None or not is_visitor(visitor) or not visitor.is_active:
        raise CareError("请选择探访人员的账号", field="visitor")
    if not (visitor.area_id or "").startswith(by.scope_prefix or "\0"):
        raise CareError("该探访人员不在您的管辖范围内", field="visitor")
    if visitor_kind not in dict(VISITOR_KINDS):
        raise CareError("请选择探访人员身份（儿童主任、驻村干部、网格员、志愿者）",
                        field="visitor_kind")
    if valid_to is not None and valid_to < valid_from:
        raise CareError("结束日期不能早于开始日期", field="valid_to")
    if active_for(visitor, valid_from).filter(person=person).exists():
        raise CareError("该人员已分配给这位探访人员")
    return VisitorAssignment.objects.create(
        visitor=visitor, visitor_kind=visitor_kind, person=person, valid_from=valid_from,
        valid_to=valid_to, created_by=by, area_code=area)


@transaction.atomic
def end(*, by, assignment: VisitorAssignment) -> VisitorAssignment:  # noqa: ANN001
    """End an assignment today: from tomorrow the visitor sees nothing of the person."""
    if not by.can(roles.ASSIGN_VISITORS) or not in_scope(by, assignment.area_code,
                                                          roles.EDIT_REGISTRY):
        raise PermissionDenied("无权结束该分配")
    yesterday = clock.today() - dt.timedelta(days=1)
    assignment.valid_to = max(min(assignment.valid_to or yesterday, yesterday),
                              assignment.valid_from - dt.timedelta(days=1))
    assignment.save()
    return assignment

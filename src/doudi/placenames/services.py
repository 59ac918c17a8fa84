"""区划地名 services: the register, the naming review (town then district), sign checks and
boundary inspections."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from pypinyin import Style, lazy_pinyin

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.placenames.models import (
    PLACE_KINDS,
    STEPS,
    BoundaryInspection,
    BoundaryIssue,
    NamingApplication,
    NamingStep,
    PlaceName,
    Sign,
)


class PlaceNameError(ServiceError):
    """A refused action; the message is Chinese."""


def pinyin(name: str) -> str:
    return " ".join(lazy_pinyin(name, style=Style.TONE)).strip()


def apply(*, by, area_code: str, kind: str, proposed_name: str, place_kind: str,  # noqa: ANN001
          reason: str, applicant: str, place: PlaceName | None = None) -> NamingApplication:
    if not in_scope(by, area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权在该区划申报地名")
    if kind not in ("name", "rename") or (kind == "rename") != (place is not None):
        raise PlaceNameError("更名须指明原地名，命名不能指明原地名")
    if place_kind not in dict(PLACE_KINDS):
        raise PlaceNameError("请选择地名类别")
    name = proposed_name.strip()
    if not 2 <= len(name) <= 50 or not reason.strip() or not applicant.strip():
        raise PlaceNameError("请填写拟用名称（2 字以上）、理由和申报单位")
    if PlaceName.objects.filter(name=name, area_code__startswith=area_code[:6]).exclude(
            pk=getattr(place, "pk", None)).exists():
        raise PlaceNameError(f"本县（区）已有地名“{name}”，不能重名")
    return NamingApplication.objects.create(
        kind=kind, place=place, proposed_name=name, place_kind=place_kind,
        reason=reason.strip()[:300], applicant=applicant.strip()[:100], submitted_by=by,
        area_code=area_code)


def decide(*, by, application: NamingApplication, approve: bool,  # noqa: ANN001
           opinion: str) -> NamingApplication:
    """One review step: the town reviews, the district approves; either may refuse."""
    step = STEPS.get(application.state)
    if step is None:
        raise PlaceNameError("该申请已办结")
    _, level, following = step
    allowed = roles.REVIEW_NAMING if level == "town" else roles.APPROVE_NAMING
    if not by.can(allowed) or not in_scope(by, application.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("该环节由" + ("乡镇（街道）审核" if level == "town"
                                             else "县（区）民政部门审批"))
    if not opinion.strip():
        raise PlaceNameError("请填写意见")
    target = following if approve else "refused"
    with transaction.atomic():
        NamingStep.objects.create(application=application, from_state=application.state,
                                  to_state=target, opinion=opinion.strip()[:300], by=by)
        application.state = target
        application.save()
        if target == "approved":
            _apply_name(application, by)
    return application


def _apply_name(application: NamingApplication, by) -> PlaceName:  # noqa: ANN001
    today = clock.today()
    place = application.place or PlaceName(area_code=application.area_code,
                                           kind=application.place_kind)
    if application.kind == "rename":
        former = [n for n in place.former_names.split("、") if n] + [place.name]
        place.former_names = "、".join(former)[:200]
    place.name, place.pinyin = application.proposed_name, pinyin(application.proposed_name)
    place.approved_on = today
    place.save()
    if application.place_id is None:
        application.place = place
        application.save(update_fields=["place"])
    return place


def check_sign(*, by, sign: Sign, condition: str, checked_on: dt.date) -> Sign:  # noqa: ANN001
    if not in_scope(by, sign.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权检查该地名标志")
    if condition not in dict(Sign.CONDITIONS):
        raise PlaceNameError("请选择状况")
    sign.condition, sign.checked_on = condition, checked_on
    sign.save()
    return sign


def inspect_boundary(*, by, boundary: str, inspected_on: dt.date, team: str,  # noqa: ANN001
                     markers_checked: int, issues: list[str]) -> BoundaryInspection:
    area = by.scope_prefix
    if not by.can(roles.MANAGE_BOUNDARIES) or len(area) != 6:
        raise PermissionDenied("界线联合检查由县（区）民政部门登记")
    if not boundary.strip() or not team.strip():
        raise PlaceNameError("请填写界线和联检人员")
    with transaction.atomic():
        inspection = BoundaryInspection.objects.create(
            boundary=boundary.strip()[:100], inspected_on=inspected_on, team=team.strip()[:300],
            markers_checked=markers_checked, area_code=area)
        for text in issues:
            if text.strip():
                BoundaryIssue.objects.create(inspection=inspection,
                                             description=text.strip()[:300], area_code=area)
    return inspection


def resolve_issue(*, by, issue: BoundaryIssue, resolution: str,  # noqa: ANN001
                  resolved_on: dt.date) -> BoundaryIssue:
    if not by.can(roles.MANAGE_BOUNDARIES) or not in_scope(by, issue.area_code,
                                                          roles.EDIT_REGISTRY):
        raise PermissionDenied("无权处理界线问题")
    if not resolution.strip():
        raise PlaceNameError("请填写处理情况")
    issue.resolution, issue.resolved_on = resolution.strip()[:300], resolved_on
    issue.save()
    return issue


def add_sign(*, by, place: PlaceName, location: str, material: str = "",  # noqa: ANN001
             installed_on: dt.date | None = None) -> Sign:
    if not in_scope(by, place.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记该地名标志")
    if not location.strip():
        raise PlaceNameError("请填写设置位置")
    return Sign.objects.create(place=place, location=location.strip()[:200],
                               material=material.strip()[:50], installed_on=installed_on,
                               area_code=place.area_code)

"""/api/outbound — a department pulls the 推送名单 addressed to it.

A department's machine account (role 部门数据接口, `User.department` e.g. 医保, token from
`doudi feeds token USERNAME`) reads only the lists whose `department` is its own, over its own
area (`scope_prefix`): the whole list (`GET /api/outbound/{key}`) or what changed since a
delivery it holds (`GET /api/outbound/{key}/changes?since=<delivery>`; without `since`, since its
last pull). Each answer is a recorded delivery (its id is the next `since`) and an audit row of
what left, to whom, how many persons. Fields are masked as the list declares. Calls pass the
department API's gate: audited and rate-limited per account.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from ninja import Router, Schema
from ninja.errors import HttpError

from doudi.accounts import roles
from doudi.accounts.models import User
from doudi.api.schemas import refusals
from doudi.exchange import outbound, outbound_types
from doudi.exchange.department_api import gate
from doudi.exchange.models import OutboundDelivery
from doudi.exchange.outbound_types import OutboundListType

router = Router(tags=["推送名单"])


class ColumnOut(Schema):
    key: str
    label: str
    masked: bool


class OutboundOut(Schema):
    delivery: int
    list: str
    name: str
    department: str
    area_code: str
    day: dt.date
    kind: str
    since: int | None
    total: int
    added: int
    changed: int
    removed: int
    columns: list[ColumnOut]
    rows: list[dict]


def _addressed(user: User, list_key: str) -> OutboundListType:
    """The list, if it is addressed to the account's department (one answer, 404, for a list
    that does not exist and one of another department)."""
    if not user.can(roles.PULL_OUTBOUND) or not user.department:
        raise PermissionDenied("仅部门接口账号可拉取推送给本部门的名单")
    if user.scope_prefix is None:
        raise PermissionDenied("账号未设置所属区划")
    list_type = outbound_types.get(list_key)
    if list_type is None or list_type.department != user.department:
        raise HttpError(404, f"没有推送给{user.department}的名单“{list_key}”")
    return list_type


def _answer(list_type: OutboundListType, done: outbound.Delivered | None) -> dict:
    assert done is not None
    d = done.delivery
    columns = [{"key": f.key, "label": f.label, "masked": f.masked} for f in list_type.fields]
    if d.kind == OutboundDelivery.CHANGES:
        columns.insert(0, {"key": outbound_types.CHANGE, "label": outbound_types.CHANGE_LABEL,
                           "masked": False})
    return {"delivery": d.pk, "list": list_type.key, "name": list_type.name,
            "department": list_type.department, "area_code": d.area_code, "day": d.day,
            "kind": d.kind, "since": d.since_id, "total": d.total, "added": d.added,
            "changed": d.changed, "removed": d.removed, "columns": columns, "rows": done.rows}


@router.get("/{list_key}", response={200: OutboundOut, **refusals(400, 401, 403, 404, 422, 429)},
            summary="拉取推送名单（全量）")
def pull_outbound(request, list_key: str):  # noqa: ANN001, ANN201
    """Everyone on the list today in the account's area."""
    user = gate(request, f"拉取推送名单 {list_key}")
    list_type = _addressed(user, list_key)
    return _answer(list_type, outbound.deliver(
        list_type, user.scope_prefix, channel=OutboundDelivery.API,
        kind=OutboundDelivery.FULL, by=user))


@router.get("/{list_key}/changes",
            response={200: OutboundOut, **refusals(400, 401, 403, 404, 422, 429)},
            summary="拉取推送名单的变动（新增、变更、退出）")
def pull_outbound_changes(request, list_key: str, since: int | None = None):  # noqa: ANN001, ANN201
    """What changed since the delivery `since` (one of this account's pulls of the list; by
    default its last one; none yet: everyone, as 新增)."""
    user = gate(request, f"拉取推送名单变动 {list_key}")
    list_type = _addressed(user, list_key)
    base = None
    if since is not None:
        base = outbound.stream(list_type, user.scope_prefix, OutboundDelivery.API).filter(
            pk=since).first()
        if base is None:
            raise HttpError(404, f"没有本部门拉取该名单的记录 {since}")
    return _answer(list_type, outbound.deliver(
        list_type, user.scope_prefix, channel=OutboundDelivery.API,
        kind=OutboundDelivery.CHANGES, by=user, since=base))

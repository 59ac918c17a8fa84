"""/api/hotline — the 12345 hotline centre's system pushes tickets (24 hours a day) and reads
what became of them. A ticket becomes a 12345 warning routed to the town that owns the caller's
village, with the same working-day limit as one taken by phone (`monitoring.services.report`).
The account holds the role 12345热线接口 and a token from `doudi feeds token USERNAME`."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from doudi.accounts import roles
from doudi.api.schemas import refusals
from doudi.areas.models import Area
from doudi.exchange.department_api import gate
from doudi.monitoring import services, workflow
from doudi.monitoring.models import Warning
from doudi.registry.models import Membership

router = Router(tags=["12345热线"])


def _stored(field: str) -> int:
    """The length the warning keeps of a ticket's field: declared once, on the model."""
    return Warning._meta.get_field(field).max_length


class TicketIn(Schema):
    ticket_no: str = Field(min_length=1, max_length=_stored("ticket_no"), description="工单号")
    area_code: str = Field(min_length=12, max_length=12, description="求助人所在村（社区）代码")
    name: str = Field(min_length=1, max_length=_stored("reported_name"), description="求助人姓名")
    phone: str = Field("", max_length=_stored("reported_phone"))
    address: str = Field("", max_length=_stored("reported_address"))
    id_number: str = Field("", max_length=18, description="身份证号（如有），用于关联档案")
    summary: str = Field(min_length=1, max_length=1000, description="诉求内容")


class TicketOut(Schema):
    ticket_no: str
    warning_id: int
    status: str
    status_label: str
    handler: str
    due_on: dt.date
    disposition: str = ""
    disposition_label: str = ""
    closed_on: dt.date | None = None


def _out(w: Warning) -> dict:
    return {"ticket_no": w.ticket_no, "warning_id": w.pk, "status": w.status,
            "status_label": workflow.STATES[w.status],
            "handler": workflow.LEVEL_LABELS[w.handler_level], "due_on": w.due_on,
            "disposition": w.disposition, "disposition_label": w.get_disposition_display(),
            "closed_on": timezone.localdate(w.closed_at) if w.closed_at else None}


def _hotline_user(request, what: str):  # noqa: ANN001, ANN202
    """The hotline account, rate-limited and audited; any other caller is refused (audited
    without the ticket it named)."""
    if not request.auth.can(roles.HOTLINE):
        gate(request, "12345工单接口（无权限）")
        raise PermissionDenied("仅 12345 热线接口账号可以使用工单接口")
    return gate(request, what)


@router.post("/tickets", response={201: TicketOut, **refusals(400, 401, 403, 422, 429)},
             summary="推送 12345 工单")
def push_ticket(request, payload: TicketIn):  # noqa: ANN001, ANN201
    user = _hotline_user(request, f"推送12345工单 {payload.ticket_no}")
    if not Area.objects.filter(code=payload.area_code, level=5).exists():
        raise HttpError(422, "area_code 不是有效的村（社区）代码")
    existing = Warning.objects.filter(channel="hotline", ticket_no=payload.ticket_no).first()
    if existing is not None:  # the hotline system may retry: the same ticket is one warning
        return Status(201, _out(existing))
    household = person = None
    if payload.id_number:
        member = (Membership.objects.select_related("person", "household")
                  .filter(person__id_number=payload.id_number.upper(), end_date__isnull=True,
                          household__area_code=payload.area_code).first())
        if member is not None:
            household, person = member.household, member.person
    w = services.report(by=user, channel="hotline", summary=payload.summary,
                        household=household, person=person, area_code=payload.area_code,
                        ticket_no=payload.ticket_no, name=payload.name,
                        phone=payload.phone, address=payload.address)
    return Status(201, _out(w))


@router.get("/tickets/{ticket_no}",
            response={200: TicketOut, **refusals(400, 401, 403, 404, 422, 429)},
            summary="查询工单办理结果")
def ticket_status(request, ticket_no: str):  # noqa: ANN001, ANN201
    user = _hotline_user(request, f"查询12345工单 {ticket_no}")
    w = Warning.objects.filter(channel="hotline", ticket_no=ticket_no,
                               area_code__startswith=user.scope_prefix).first()
    if w is None:
        raise HttpError(404, "工单不存在")
    return _out(w)

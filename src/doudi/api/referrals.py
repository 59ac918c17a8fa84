"""/api/referrals — a department's system reads the referrals (转介) addressed to it and
answers them. The account holds the role 部门数据接口 with `department` set (医保, 教育 …) and
a token from `doudi feeds token USERNAME`; it sees only its own department's referrals within
its area, and of the person only the masked name and ID plus what is asked (最小必要). Every
call is audited and rate-limited (`exchange.department_api.gate`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from doudi.accounts import roles
from doudi.api.schemas import refusals, watermark, yuan_amount
from doudi.exchange.department_api import gate
from doudi.referrals import services
from doudi.referrals.models import Referral

router = Router(tags=["转介"])


class ReferralOut(Schema):
    id: int
    kind: str
    kind_label: str
    department: str
    status: str
    status_label: str
    asked: str
    area_code: str
    village: str
    name: str = Field(description="姓名（脱敏）")
    id_number: str = Field(description="身份证号（脱敏）")
    sent_on: dt.date
    due_on: dt.date
    overdue: bool
    escalated_level: int
    amount_fen: int | None = Field(None, description="给予金额（分）")
    measure: str
    reason: str
    # full precision (microseconds): pass it back as `since` to read only what changed after
    updated_at: str = Field(description="最后变更时间（ISO 8601，含微秒）；下次以 since 传回")


class AnswerIn(Schema):
    outcome: Literal["accepted", "granted", "refused"] = Field(
        description="accepted 受理；granted 给予救助（须填金额或措施）；"
                    "refused 不予救助（须填理由）")
    amount: yuan_amount("给予金额") | None = None  # type: ignore[valid-type]
    measure: str = Field("", max_length=Referral._meta.get_field("measure").max_length,
                         description="救助措施")
    reason: str = Field("", max_length=Referral._meta.get_field("reason").max_length,
                        description="不予救助理由")


def _department(request, what: str):  # noqa: ANN001, ANN202
    """The department account, rate-limited and audited; any other caller is refused."""
    user = gate(request, what)
    if not user.can(roles.ANSWER_REFERRALS) or not user.department:
        raise PermissionDenied("仅部门接口账号可以读取和答复转介")
    return user


@router.get("", response={200: list[ReferralOut], **refusals(400, 401, 403, 422, 429)},
            summary="转介给本部门的事项（增量）")
def list_referrals(request, since: dt.datetime | None = None, limit: int = 500):  # noqa: ANN001, ANN201
    """Referrals addressed to this department in its area, oldest change first; `since` (the
    last `updated_at` read) gives only those sent, answered or escalated after it."""
    user = _department(request, "读取转介" + (f"（{since:%Y-%m-%d %H:%M}起）" if since else ""))
    qs = services.addressed_to(user).select_related("household", "person")
    since = watermark(since)
    if since is not None:
        qs = qs.filter(updated_at__gt=since)
    rows = qs.order_by("updated_at", "id")[:max(1, min(limit, 1000))]
    return [{**services.minimal(r), "updated_at": r.updated_at.isoformat()} for r in rows]


@router.post("/{referral_id}/answer",
             response={200: ReferralOut, **refusals(400, 401, 403, 404, 422, 429)},
             summary="答复转介")
def answer_referral(request, referral_id: int, payload: AnswerIn):  # noqa: ANN001, ANN201
    user = _department(request, f"答复转介 {referral_id}")
    referral = services.addressed_to(user).filter(pk=referral_id).first()
    if referral is None:  # one answer: another department's, another area's, or none
        raise HttpError(404, "转介不存在或未发送给本部门")
    done = services.answer(by=user, referral=referral, outcome=payload.outcome,
                           amount_fen=payload.amount, measure=payload.measure,
                           reason=payload.reason)
    return {**services.minimal(done), "updated_at": done.updated_at.isoformat()}

"""上级下发预警: warnings the city's, province's or national platform pushes down, and the
answer back (docs/platform-sync.md).

Each pushed row names the platform's warning id, a resident ID, the platform's indicator and
summary, and the day it was raised. The person is found by ID on the ciphertext (nothing in
the registry is decrypted), the warning is raised through the one door every reported warning
goes through (`monitoring.services.report`, indicator `upstream`: routed to the person's
village, timed in working days) and then verified and disposed of like any other. The same
upstream id again is the same warning. The answer back lists, for each pushed-down warning,
its status, disposition, note and closing day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from doudi.accounts import roles
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import csvfile, idnumber
from doudi.core.errors import ServiceError
from doudi.monitoring import services, workflow
from doudi.monitoring.models import Warning, WarningEvent
from doudi.platform_sync import access
from doudi.platform_sync.export import SyncError
from doudi.registry.models import Membership

PUSH_COLUMNS = ("upstream_id", "id_number", "indicator", "summary", "raised_on")
ANSWER_COLUMNS = ("upstream_id", "status", "status_label", "verified_true", "disposition",
                  "disposition_label", "note", "closed_on")
MAX_ROWS = 10_000


@dataclass
class Pushed:
    upstream_id: str
    result: str  # created, existing, unmatched, refused
    warning_id: int | None = None
    reason: str = ""


def read_push_file(data: bytes) -> list[dict]:
    """A pushed-down warnings CSV (UTF-8, header `PUSH_COLUMNS`) as rows."""
    try:
        lines = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SyncError("预警文件应为 UTF-8 编码的 CSV") from exc
    if lines and set(PUSH_COLUMNS) - set(lines[0]):
        raise SyncError(f"预警文件表头应含 {','.join(PUSH_COLUMNS)}")
    return [{c: (r.get(c) or "").strip() for c in PUSH_COLUMNS} for r in lines]


def _one(by, row: dict, scope: str) -> Pushed:  # noqa: ANN001
    ref = str(row.get("upstream_id") or "").strip()
    if not ref or len(ref) > Warning._meta.get_field("upstream_ref").max_length:
        return Pushed(ref, "refused", reason="上级预警编号为空或过长")
    existing = Warning.objects.filter(upstream_ref=ref).first()
    if existing is not None:
        if not existing.area_code.startswith(scope):  # another area's: answered as unknown
            return Pushed(ref, "unmatched", reason="本级库中没有该人员")
        return Pushed(ref, "existing", existing.pk)
    try:
        id_number = idnumber.parse(str(row.get("id_number") or "")).id_number
    except idnumber.InvalidIdNumber as exc:
        return Pushed(ref, "refused", reason=f"身份证号无效：{exc}")
    raised = str(row.get("raised_on") or "").strip()
    try:
        raised_on = dt.date.fromisoformat(raised) if raised else None
    except ValueError:
        return Pushed(ref, "refused", reason=f"下发日期“{raised[:20]}”应为 YYYY-MM-DD")
    summary = str(row.get("summary") or "").strip()
    indicator = str(row.get("indicator") or "").strip()[:60]
    if not summary and not indicator:
        return Pushed(ref, "refused", reason="请填写预警指标或摘要")
    member = (Membership.objects.select_related("person", "household")
              .filter(person__id_number=id_number, end_date__isnull=True,
                      household__area_code__startswith=scope).first())
    if member is None:
        return Pushed(ref, "unmatched", reason="本级库中没有该人员（或不在本级管辖范围内）")
    text = f"上级下发：{indicator}：{summary}" if indicator and summary else (
        f"上级下发：{indicator or summary}")
    try:
        w = services.report(
            by=by, channel="upstream", summary=text[:300], household=member.household,
            person=member.person, upstream_ref=ref, event_date=raised_on,
            evidence={"upstream": {"id": ref, "indicator": indicator,
                                   "raised_on": raised_on.isoformat() if raised_on else ""}})
    except ServiceError as exc:
        return Pushed(ref, "refused", reason=exc.message or "未能登记")
    return Pushed(ref, "created", w.pk)


def push(*, by, rows: list[dict], scope: str | None = None,  # noqa: ANN001
         channel: str = "api") -> list[Pushed]:
    """Raise the pushed-down warnings; one result per row, in order. A row that names nobody
    here, or an invalid one, is answered as such and stores nothing; the others are stored
    each in its own transaction (a retry finds them by upstream id). `by` None: a command run
    on the server, over `scope` (default: everything here)."""
    if by is not None:
        if not access.may(by, roles.SYNC_WARNINGS):
            raise PermissionDenied("仅上级平台接口账号可以下发预警")
        scope = by.scope_prefix
    if len(rows) > MAX_ROWS:
        raise SyncError(f"一次最多下发 {MAX_ROWS} 条预警")
    scope = scope or ""
    out = []
    for row in rows:
        with transaction.atomic():
            out.append(_one(by, row, scope))
    counts = {k: sum(1 for p in out if p.result == k)
              for k in ("created", "existing", "unmatched", "refused")}
    audit.record(AuditEvent.IMPORT, object_type="monitoring.warning", area_code=scope,
                 object_label=(f"接收上级下发预警 {len(rows)} 条：新增 {counts['created']}，"
                               f"已有 {counts['existing']}，未匹配 {counts['unmatched']}，"
                               f"无效 {counts['refused']}（{channel}）"),
                 changes={"counts": counts,
                          "unmatched": [p.upstream_id for p in out if p.result == "unmatched"]})
    return out


def answers(*, by, since: dt.datetime | None = None, scope: str | None = None,  # noqa: ANN001
            recipient: str = "") -> list[dict]:
    """The answer back: each pushed-down warning (of the scope) with a step since `since`
    (all when None), by upstream id. Audited: what left, to whom, how many."""
    if by is not None:
        if not access.may(by, roles.SYNC_WARNINGS):
            raise PermissionDenied("仅上级平台接口账号可以读取预警处置结果")
        scope = by.scope_prefix
    scope = scope or ""
    found = Warning.objects.filter(channel="upstream", area_code__startswith=scope) \
        .exclude(upstream_ref="")
    if since is not None:
        found = found.filter(pk__in=WarningEvent.objects.filter(at__gte=since)
                             .values("warning_id"))
    out = [{"upstream_id": w.upstream_ref, "status": w.status,
            "status_label": workflow.STATES[w.status],
            "verified_true": w.verified_true, "disposition": w.disposition,
            "disposition_label": w.get_disposition_display() if w.disposition else "",
            "note": w.disposition_note,
            "closed_on": timezone.localdate(w.closed_at) if w.closed_at else None}
           for w in found.order_by("upstream_ref")]
    who = recipient or (getattr(by, "username", "") if by is not None else "") or "文件"
    audit.record(AuditEvent.EXPORT, object_type="monitoring.warning", area_code=scope,
                 object_label=f"向{who}反馈上级下发预警处置结果 {len(out)} 条",
                 changes={"recipient": who, "since": since.isoformat() if since else "",
                          "rows": len(out)})
    return out


def answers_csv(rows: list[dict]) -> bytes:
    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "1" if v else "0"
        return v.isoformat() if isinstance(v, dt.date) else str(v)
    return csvfile.write(ANSWER_COLUMNS, [[cell(r[c]) for c in ANSWER_COLUMNS] for r in rows],
                         encoding="utf-8")


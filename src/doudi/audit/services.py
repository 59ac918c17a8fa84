"""Writing audit rows. Model writes are recorded by signals (see signals.py); everything else
(full-data views, exports, imports, logins) calls `record` explicitly. Each row is inserted
in the caller's transaction and chained after that commits (AuditEvent.save, chain.py)."""

from __future__ import annotations

from typing import Any

from doudi.audit import context
from doudi.audit.models import AuditEvent


def record(
    action: str,
    *,
    object_type: str = "",
    object_id: Any = "",
    object_label: str = "",
    area_code: str = "",
    changes: dict | None = None,
    actor: context.Actor | None = None,
) -> AuditEvent:
    who = actor or context.current()
    return AuditEvent.objects.create(
        actor_id=who.user_id,
        actor_name=who.username,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_label=object_label[:200],
        area_code=area_code or "",
        changes=changes or {},
        request_id=who.request_id,
        job=who.job,
        ip=who.ip,
    )

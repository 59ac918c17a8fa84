"""Writing audit rows. Model writes are recorded by signals (see signals.py); everything else
(full-data views, exports, imports, logins) calls `record` explicitly. Each row is inserted
in the caller's transaction and chained after that commits (AuditEvent.save, chain.py)."""

from __future__ import annotations

from typing import Any

from doudi.audit import context, personal
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
    instance: Any = None,
) -> AuditEvent:
    """One audit row. Its label and changes pass through `personal` first, whoever calls:
    personal data is written masked (by field knowledge for a model's fields; pass the
    `instance` a label was made from, so its personal values in the label are masked too)."""
    who = actor or context.current()
    return AuditEvent.objects.create(
        actor_id=who.user_id,
        actor_name=who.username,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_label=personal.sanitise_label(object_label, instance)[:200],
        area_code=area_code or "",
        changes=personal.sanitise_changes(object_type, changes),
        request_id=who.request_id,
        job=who.job,
        ip=who.ip,
    )

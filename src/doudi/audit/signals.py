"""Automatic audit of every create/update/delete of an `Audited` model.

Bulk operations skip signals; the code that uses them records one audit row per batch.
"""

from __future__ import annotations

from django.db import models
from django.db.models.signals import post_delete, post_save

from doudi.audit import personal, services
from doudi.audit.audited import Audited, masked, snapshot
from doudi.audit.models import AuditEvent


def _label(instance: models.Model) -> str:
    """The row's label with the row's own personal values in it masked (a warning's
    summary, a worker's name)."""
    return personal.sanitise_label(getattr(instance, "audit_label", lambda: str(instance))(),
                                   instance)


def _on_save(sender, instance, created, raw=False, **kwargs) -> None:  # noqa: ANN001, ANN003
    if raw or not isinstance(instance, Audited):
        return
    new = snapshot(instance)
    if created:
        shown = masked(instance, new)
        changes = {k: [None, shown[k]] for k, v in new.items() if v not in (None, "")}
        action = AuditEvent.CREATE
    else:
        old = getattr(instance, "_audit_snapshot", {})
        changed = [k for k, v in new.items() if old.get(k) != v]
        if not changed:
            instance._audit_snapshot = new
            return
        before, after = masked(instance, old), masked(instance, new)
        changes = {k: [before.get(k), after[k]] for k in changed}
        action = AuditEvent.UPDATE
    services.record(
        action,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        object_label=_label(instance),
        area_code=getattr(instance, "area_code", "") or "",
        changes=changes,
    )
    instance._audit_snapshot = new


def _on_delete(sender, instance, **kwargs) -> None:  # noqa: ANN001, ANN003
    if not isinstance(instance, Audited):
        return
    services.record(
        AuditEvent.DELETE,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        object_label=_label(instance),
        area_code=getattr(instance, "area_code", "") or "",
        changes={k: [v, None] for k, v in masked(instance, snapshot(instance)).items()},
    )


def connect() -> None:
    post_save.connect(_on_save, dispatch_uid="doudi.audit.save")
    post_delete.connect(_on_delete, dispatch_uid="doudi.audit.delete")

"""`Audited`: the mixin every model whose writes must be audited inherits.

The snapshot taken when a row is loaded (or last saved) lets the save signal record exactly
which fields changed, old and new. Sensitive fields are written masked: logs carry no full IDs.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def _value(instance: models.Model, field: models.Field) -> Any:
    value = getattr(instance, field.attname)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """Raw field values: changes are detected on these, never on masked ones."""
    return {
        f.name: _value(instance, f)
        for f in instance._meta.concrete_fields
        if f.name not in getattr(instance, "audit_ignore", ())
    }


def masked(instance: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    """The same values as they may be written to the log."""
    maskers = getattr(instance, "audit_maskers", {})
    return {k: maskers[k](str(v)) if k in maskers and v not in (None, "") else v
            for k, v in values.items()}


class Audited(models.Model):
    """Mixin for every model whose writes are audited. Subclasses may set `audit_maskers`
    ({field: mask function}) and `audit_ignore` (fields not worth logging)."""

    audit_maskers: dict = {}
    audit_ignore: tuple[str, ...] = ("updated_at",)

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):  # noqa: ANN001, ANN206
        instance = super().from_db(db, field_names, values)
        if len(field_names) == len(cls._meta.concrete_fields):
            instance._audit_snapshot = snapshot(instance)
        return instance

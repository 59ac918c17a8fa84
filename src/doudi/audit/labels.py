"""The Chinese name of an audit object type (审计对象类型), for every page and report that
lists audit events.

An audit row names its object by type: a model's `app_label.model`, whose name is the model's
verbose name (declared with the model), or, for an act on no one row, a word its app chose
("api", "backup", "keys"), whose name the app declares on its AppConfig:

    class ExchangeConfig(AppConfig):
        audit_labels = {"api": "数据接口调用"}
"""

from __future__ import annotations

import functools

from django.apps import apps


@functools.cache
def _declared() -> dict[str, str]:
    found: dict[str, str] = {}
    for config in apps.get_app_configs():
        for object_type, label in getattr(config, "audit_labels", {}).items():
            if found.setdefault(object_type, label) != label:
                raise ValueError(f"audit object type {object_type!r} has two names")
    return found


def label(object_type: str) -> str:
    """The declared name, else the model's verbose name, else the type as recorded."""
    declared = _declared()
    if object_type in declared:
        return declared[object_type]
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type

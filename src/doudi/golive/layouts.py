"""Old systems' export layouts (原系统导出格式): the shipped set (shipped_layouts.yaml) and the
headers a district confirmed. A layout is a feed spec (`engine.feeds.feedspec`) with a `kind`
saying what one row is; the `combined` layout (one row per member, the household's columns
repeated or merged down) is the households and members layouts together, so the two cannot
drift apart. Which layout a file is, is found by its header (`detect`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from doudi.core.errors import ServiceError
from doudi.engine.feeds.feedspec import FeedSpec, parse_spec
from doudi.golive.models import CaseloadLayout

SHIPPED_FILE = Path(__file__).parent / "shipped_layouts.yaml"
KINDS = {"households": "在保家庭（一户一行）", "members": "家庭成员（一人一行）",
         "combined": "在保人员（一人一行，含家庭信息）", "payments": "历史发放明细",
         "decisions": "历史审批记录", "roster": "原系统末次花名册", "staff": "工作人员名单"}


class LayoutError(ServiceError):
    """A layout that cannot be used or found; the message is Chinese."""


@dataclass(frozen=True)
class Layout:
    key: str
    kind: str
    spec: FeedSpec

    @property
    def name(self) -> str:
        return self.spec.name


def _combined(households: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    own = [f for f in members["fields"] if f["key"] != "legacy_number"]
    return {"key": "caseload_combined", "kind": "combined", "department": households["department"],
            "name": KINDS["combined"], "sheet": "在保人员",
            "person": members.get("person", {}), "fields": [*households["fields"], *own]}


@lru_cache(maxsize=1)
def shipped_documents() -> tuple[dict[str, Any], ...]:
    docs = yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))["layouts"]
    by_key = {d["key"]: d for d in docs}
    docs = [*docs, _combined(by_key["caseload_households"], by_key["caseload_members"])]
    for d in docs:
        if d["kind"] not in KINDS:
            raise LayoutError(f"{SHIPPED_FILE.name}：{d['key']} 的 kind“{d['kind']}”无效")
        parse_spec(_spec_doc(d), SHIPPED_FILE.name)
    return tuple(docs)


def _spec_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "kind"}


def load_shipped() -> int:
    """Create or refresh the shipped layouts, keeping a district's remembered aliases."""
    changed = 0
    for doc in shipped_documents():
        spec = parse_spec(_spec_doc(doc))
        row = CaseloadLayout.objects.filter(key=spec.key).first()
        if row is not None:
            saved = parse_spec(row.spec)
            extra = {f.key: a for f in saved.fields for a in f.aliases
                     if f.key in spec.keys() and a not in spec.field(f.key).headers}
            for key, alias in extra.items():
                spec = spec.with_aliases({key: alias})
        if row is None or row.spec != spec.as_dict() or row.kind != doc["kind"]:
            CaseloadLayout.objects.update_or_create(
                key=spec.key, defaults={"name": spec.name, "kind": doc["kind"],
                                        "spec": spec.as_dict(), "shipped": True})
            changed += 1
    return changed


def every(kinds: tuple[str, ...] | None = None) -> list[Layout]:
    if not CaseloadLayout.objects.exists():
        load_shipped()
    rows = CaseloadLayout.objects.all()
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return [Layout(r.key, r.kind, parse_spec(r.spec)) for r in rows]


def get(key: str) -> Layout:
    for layout in every():
        if layout.key == key:
            return layout
    raise LayoutError(f"没有导出格式“{key}”，可选：{'、'.join(x.key for x in every())}")


def remember(layout: Layout, field_key: str, header: str) -> None:
    """A district's own header for a field, confirmed once (列对应), kept for next time."""
    if header in layout.spec.field(field_key).headers:
        return
    with transaction.atomic():
        row = CaseloadLayout.objects.select_for_update().get(key=layout.key)
        spec = parse_spec(row.spec).with_aliases({field_key: header})
        row.spec = spec.as_dict()
        row.save(update_fields=["spec", "updated_at"])

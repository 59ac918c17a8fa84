"""Feed types in the database: the shipped set (shipped_feed_types.yaml) and those a district
adds. A spec is validated by `doudi.engine.feeds.feedspec.parse_spec` before it is stored."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from doudi.engine.feeds.feedspec import FeedSpec, FeedSpecError, check_reads, parse_spec
from doudi.engine.monitoring import indicators, overlay
from doudi.exchange.models import FeedType
from doudi.registry.categories import CATEGORIES, by_decision, fact_choices

SHIPPED_FILE = Path(__file__).parent / "shipped_feed_types.yaml"


def checked(doc: Any, origin: str = "") -> FeedSpec:
    """`parse_spec`, then what others read of the feed type: the 核对 section it claims (in
    `parse_spec`), the warning indicators whose source it is, the monitoring overlay's rules.
    A feed type lacking a field one of them reads is refused, naming the field: imported, it
    would make them report nothing ("0.00 元，无差异") instead of the department's figure."""
    spec = parse_spec(doc, origin)
    where = f"{origin or spec.key}："
    if spec.registry_fact is not None:
        code = spec.registry_fact.category
        if code not in CATEGORIES:
            raise FeedSpecError(f"{where}registry_fact：没有人员类别“{code}”，可选："
                                f"{'、'.join(f'{c}（{label}）' for c, label in fact_choices())}")
        if by_decision(code):
            raise FeedSpecError(f"{where}registry_fact：“{CATEGORIES[code].label}”只能由审批"
                                "决定设立和终止，不能由部门名单登记")
    fields = {f.key: f for f in spec.fields}
    readers: list[tuple[str, dict[str, str | None]]] = []
    for ind in indicators.shipped():
        if ind.source == spec.key:
            readers.append((f"预警指标“{ind.name}”", ind.feed_reads()))
    if spec.key in overlay.READS:
        readers.append(("监测比对规则", dict(overlay.READS[spec.key])))
    for who, reads in readers:
        if not spec.id_field:
            raise FeedSpecError(f"{where}{who}按身份证号比对，本数据接口类型须有身份证号字段")
        check_reads(fields, reads, f"{where}{who}")
    return spec


def read_documents(text: str, origin: str = "") -> list[dict[str, Any]]:
    """A YAML/JSON document holding one spec, a list of specs, or {feed_types: [...]}."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FeedSpecError(f"{origin}：不是有效的 YAML/JSON：{exc}") from exc
    if isinstance(doc, dict) and "feed_types" in doc:
        doc = doc["feed_types"]
    docs = doc if isinstance(doc, list) else [doc]
    for n, d in enumerate(docs, start=1):
        checked(d, origin=f"{origin} 第 {n} 项" if len(docs) > 1 else origin)
    return docs


@lru_cache(maxsize=1)
def shipped_documents() -> tuple[dict[str, Any], ...]:
    return tuple(read_documents(SHIPPED_FILE.read_text(encoding="utf-8"), SHIPPED_FILE.name))


def save(doc: dict[str, Any], *, shipped: bool = False) -> FeedType:
    spec = checked(doc)
    with transaction.atomic():
        row = FeedType.objects.filter(key=spec.key).first() or FeedType(key=spec.key)
        if row.pk and row.shipped and not shipped:
            raise FeedSpecError(f"{spec.key}：系统提供的数据接口类型不能修改，"
                                "可新增列别名或另建类型")
        row.department, row.name, row.spec = spec.department, spec.name, spec.as_dict()
        row.shipped = shipped or row.shipped
        row.save()
    return row


def load_shipped() -> int:
    """Create or refresh the shipped feed types (idempotent; run after migrate)."""
    changed = 0
    for doc in shipped_documents():
        spec = parse_spec(doc)
        row = FeedType.objects.filter(key=spec.key).first()
        if row is None or row.spec != _with_saved_aliases(spec, row).as_dict():
            save(_with_saved_aliases(spec, row).as_dict(), shipped=True)
            changed += 1
    return changed


def _with_saved_aliases(spec: FeedSpec, row: FeedType | None) -> FeedSpec:
    """A shipped spec keeps the header aliases a district confirmed in the mapping step."""
    if row is None:
        return spec
    saved = parse_spec(row.spec)
    extra = {}
    for f in spec.fields:
        try:
            old = saved.field(f.key)
        except KeyError:
            continue
        for alias in old.aliases:
            if alias not in f.headers:
                extra[f.key] = alias
                spec = spec.with_aliases(extra)
                extra = {}
    return spec


def add_alias(feed_type: FeedType, field_key: str, header: str) -> FeedType:
    """Remember a department's own header for a field (from the column-mapping step)."""
    spec = feed_type.parsed()
    if header in spec.field(field_key).headers:
        return feed_type
    feed_type.spec = spec.with_aliases({field_key: header}).as_dict()
    parse_spec(feed_type.spec)  # a header may not serve two fields
    feed_type.save(update_fields=["spec", "updated_at"])
    return feed_type


def departments() -> list[str]:
    """The departments Doudi knows (部门): those sending a feed type in use or shipped, or
    receiving a 推送名单 — the only ones a department account (部门数据接口) may belong to."""
    from doudi.exchange import outbound_types

    known = {doc["department"] for doc in shipped_documents()} | outbound_types.departments()
    known.update(FeedType.objects.filter(is_active=True).values_list("department", flat=True))
    return sorted(d for d in known if d)

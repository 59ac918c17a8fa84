"""Policy parameter services (政策参数): the set the rules resolve against, read from the
database, and the audited acts that change it — a new dated value, withdrawing a value not yet
in force, loading the parameters shipped with Doudi.

Views, commands and jobs call these; none writes `PolicyParameter` rows itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import require
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.errors import FieldError, ServiceError
from doudi.policy.models import LOCAL, SHIPPED, PolicyParameter
from doudi.policy.values import Ident, parameter_fields, source_fields, to_json, to_parameter
from doudi.rules.parameters import (
    OPTIONAL_UNITS,
    ParameterError,
    ParameterSet,
    nearest,
    normalise_value,
)
from doudi.rules.shipped import shipped

__all__ = ["FieldError", "PolicyError", "add_value", "delete_future_value", "load_shipped",
           "parameter_set"]

NATIONAL = "全国"
_TEXT_LIMITS = {"reference": ("依据", 300), "note": ("备注", 300), "document": ("文号", 100),
                "issuer": ("发文机关", 100),
                "retroactive_reason": ("追溯生效理由", 300), "url": ("原文链接", 500)}


class PolicyError(ServiceError, ValueError):
    """Bad input; `errors` names each field and the reason in Chinese. Nothing was written."""


# -- reading ----------------------------------------------------------------------------------

_cache: tuple[tuple, ParameterSet] | None = None


def _version() -> tuple:
    """Changes whenever a row is added or withdrawn (ids are never reused on PostgreSQL; the
    time also tells apart a row that took a rolled-back id on SQLite)."""
    agg = PolicyParameter.objects.aggregate(n=Count("id"), last=Max("id"), at=Max("created_at"))
    return agg["n"], agg["last"], agg["at"]


def parameter_set() -> ParameterSet:
    """Every row in the database as the rules core's `ParameterSet`; rebuilt only when the
    table changed, so each call costs one aggregate query."""
    global _cache
    version = _version()
    cached = _cache
    if cached is not None and cached[0] == version:
        return cached[1]
    built = ParameterSet(to_parameter(row) for row in PolicyParameter.objects.all())
    _cache = (version, built)
    return built


def unit_of(key: str) -> str | None:
    """The unit a key is kept in (its latest row's, or the one declared for an optional key not
    set anywhere yet); None for a key never defined."""
    return (PolicyParameter.objects.filter(key=key).order_by("-effective_from", "-id")
            .values_list("unit", flat=True).first()) or OPTIONAL_UNITS.get(key)


def area_labels(prefixes: set[str] | list[str]) -> dict[str, str]:
    """Area prefix → name ("" → 全国); a prefix without a loaded area shows as its code."""
    found = dict(Area.objects.filter(prefix__in=[p for p in prefixes if p])
                 .values_list("prefix", "name"))
    return {p: NATIONAL if not p else found.get(p, p) for p in prefixes}


# -- writing ----------------------------------------------------------------------------------

def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _check_area(area_code: str, errors: list[FieldError]) -> None:
    if area_code and not (area_code.isdigit() and len(area_code) <= 12):
        errors.append(FieldError("area_code", "区划代码应为不超过 12 位的数字"))
    elif area_code and not Area.objects.filter(prefix=area_code).exists():
        errors.append(FieldError("area_code", f"区划代码 {area_code} 不存在"))


def _check_texts(texts: dict[str, str], errors: list[FieldError]) -> None:
    for name, (label, limit) in _TEXT_LIMITS.items():
        if len(texts[name]) > limit:
            errors.append(FieldError(name, f"{label}不能超过 {limit} 字"))
    if not texts["reference"]:
        errors.append(FieldError("reference", "请填写依据（文号或文件名称）"))
    if texts["url"]:
        try:
            URLValidator(schemes=["http", "https"])(texts["url"])
        except ValidationError:
            errors.append(FieldError("url", "原文链接应为 http:// 或 https:// 开头的网址"))


def _check_day(day: dt.date | None, reason: str, errors: list[FieldError]) -> None:
    if day is None:
        errors.append(FieldError("effective_from", "生效日期应为 YYYY-MM-DD"))
    elif day < clock.today() and not reason:
        errors.append(FieldError(
            "effective_from",
            "生效日期早于今天：追溯生效会改变已发放月份的测算结果，须勾选追溯生效并填写理由"))


def _normalised(key: str, value: Any, errors: list[FieldError]) -> tuple[str, Any]:
    unit = unit_of(key)
    if unit is None:
        near = nearest(key, [*PolicyParameter.objects.values_list("key", flat=True).distinct(),
                             *OPTIONAL_UNITS]) if key else None
        errors.append(FieldError(
            "key", f"参数 {key or '（空）'} 未定义，只能为已有参数设定新的取值"
            + (f"（是否应为 {near}？）" if near else "")))
        return "", None
    try:
        return unit, normalise_value(key, unit, value)
    except ParameterError as exc:
        errors.append(FieldError("value", str(exc)))
        return unit, None


def _duplicate(key: str, area_code: str, day: dt.date) -> PolicyError:
    where = area_labels([area_code])[area_code]
    return PolicyError([FieldError(
        "effective_from",
        f"参数 {key} 在{where}于 {day} 已有取值；如需更正未生效的取值，请先撤销再设定")])


def add_value(
    user, key: str, area_code: str, effective_from: dt.date | str, value: Any,  # noqa: ANN001
    reference: str = "", url: str = "", verified: bool = False, note: str = "",
    retroactive_reason: str = "", document: str = "", issuer: str = "",
    issued_on: dt.date | str | None = None,
) -> PolicyParameter:
    """设定新的取值: a new dated row for the user's area or one below it (a province's row
    needs a province user; the national default, nobody here). A date before today needs a
    reason (追溯生效), kept on the row and so in its audit record."""
    key, area_code = (key or "").strip(), (area_code or "").strip()
    require(user, area_code, roles.EDIT_POLICY)
    day = _as_date(effective_from)
    texts = {"reference": reference, "url": url, "note": note,
             "retroactive_reason": retroactive_reason, "document": document, "issuer": issuer}
    texts = {k: (v or "").strip() for k, v in texts.items()}
    errors: list[FieldError] = []
    unit, normalised = _normalised(key, value, errors)
    _check_area(area_code, errors)
    _check_day(day, texts["retroactive_reason"], errors)
    _check_texts(texts, errors)
    issued = _as_date(issued_on) if issued_on else None
    if issued_on and issued is None:
        errors.append(FieldError("issued_on", "印发日期应为 YYYY-MM-DD"))
    elif issued is not None and issued > clock.today():
        errors.append(FieldError("issued_on", "印发日期不能晚于今天"))
    if errors:
        raise PolicyError(errors)
    if day >= clock.today():
        texts["retroactive_reason"] = ""  # only a back-dated value has anything to justify
    if PolicyParameter.objects.filter(key=key, area_code=area_code, effective_from=day).exists():
        raise _duplicate(key, area_code, day)
    try:
        with transaction.atomic():  # the unique constraint settles a concurrent twin
            return PolicyParameter.objects.create(
                key=key, area_code=area_code, effective_from=day, value=to_json(normalised),
                unit=unit, verified=bool(verified), source=LOCAL, created_by=user,
                issued_on=issued, **texts,
            )
    except IntegrityError:
        raise _duplicate(key, area_code, day) from None


def delete_future_value(user, row: PolicyParameter) -> None:  # noqa: ANN001
    """撤销未生效的取值: only a locally set row whose date has not come yet."""
    require(user, row.area_code, roles.EDIT_POLICY)
    if row.source != LOCAL:
        raise PolicyError([FieldError("row", "随系统发布的参数不能撤销")])
    if not row.is_future:
        raise PolicyError([FieldError(
            "row", "已生效的取值不能撤销；如需调整，请新增一条带生效日期的取值")])
    row.delete()


@dataclass
class LoadReport:
    added: list[Ident] = field(default_factory=list)
    kept_local: list[Ident] = field(default_factory=list)  # a local row has the same date
    differing: list[Ident] = field(default_factory=list)  # shipped row changed since loaded
    # same value, but a newer release reads its source better (文号, link, 已核实)
    refreshed: list[Ident] = field(default_factory=list)


def _ident_text(ident: Ident) -> str:
    key, area, day = ident
    return f"{key} {area or NATIONAL} {day}"


def _cited_otherwise(row: PolicyParameter, sources: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in sources.items())


@transaction.atomic
def load_shipped(params: ParameterSet | None = None) -> LoadReport:
    """载入随系统发布的参数: add the shipped rows the database lacks. Rows already there —
    local or shipped — are left as they are, so a re-run changes nothing; a load that adds
    rows writes one audit record for all of them."""
    params = shipped() if params is None else params
    existing = {(r.key, r.area_code, r.effective_from): r for r in PolicyParameter.objects.all()}
    report, new = LoadReport(), []
    for p in params:
        ident = (p.key, p.area, p.effective)
        row = existing.get(ident)
        if row is None:
            new.append(PolicyParameter(**parameter_fields(p), source=SHIPPED))
            report.added.append(ident)
        elif row.source == LOCAL:
            report.kept_local.append(ident)
        elif row.value != to_json(p.value) or row.unit != p.unit:
            report.differing.append(ident)
        elif _cited_otherwise(row, sources := source_fields(p)):
            # only the citation changes; the value in force, and so every month computed, stays
            PolicyParameter.objects.filter(pk=row.pk).update(**sources)
            report.refreshed.append(ident)
    PolicyParameter.objects.bulk_create(new)  # bulk: no per-row signal, one record below
    if new or report.refreshed:
        audit.record(
            AuditEvent.IMPORT, object_type="policy.policyparameter",
            object_label=(f"载入随系统发布的政策参数 {len(new)} 条，"
                          f"更新依据 {len(report.refreshed)} 条"),
            changes={"added": [_ident_text(i) for i in report.added],
                     "refreshed": [_ident_text(i) for i in report.refreshed],
                     "kept_local": [_ident_text(i) for i in report.kept_local],
                     "differing": [_ident_text(i) for i in report.differing]},
        )
    return report

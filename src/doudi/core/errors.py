"""One error model for refused business acts (业务拒绝).

A service that refuses raises a `ServiceError` (or one of its per-app subclasses, which keep
their names: `CaseworkError`, `RegistryError` …). It carries one or more `FieldError`s: the
field the reason is about (`None` for a refusal of the act as a whole) and the reason in
Chinese, ready for a page or an API answer. Nothing was written when it is raised.

The web and the API turn it into a response in one place each (`doudi.web.errors`,
`doudi.api.urls`); views and handlers do not repeat that translation. Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One reason: `field` names the input it is about (e.g. "members[1].id_number"), or is
    None when the reason is about the act as a whole."""

    field: str | None
    message: str


class ServiceError(Exception):
    """A refused business act, with its reasons in Chinese.

    `ServiceError("该预警已核实")` is a general refusal; `ServiceError("请填写核实情况",
    field="finding")` names the input; `ServiceError([FieldError(...), ...])` carries every
    reason found when a whole form was checked."""

    def __init__(self, reason: str | Iterable[FieldError] = "", *,
                 field: str | None = None) -> None:
        if isinstance(reason, str):
            self.errors = [FieldError(field, reason)] if reason else []
        else:
            self.errors = list(reason)
        super().__init__(self.message)

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.errors]

    @property
    def message(self) -> str:
        """Every reason, joined for one line of a page."""
        return "；".join(self.messages)

    @property
    def field(self) -> str | None:
        """The field of the first reason (None for a general refusal)."""
        return self.errors[0].field if self.errors else None

    def field_errors(self) -> list[FieldError]:
        return [e for e in self.errors if e.field is not None]

    def general_errors(self) -> list[FieldError]:
        return [e for e in self.errors if e.field is None]

    def __str__(self) -> str:
        return self.message


def field_path(loc: Iterable[str | int]) -> str:
    """A validation error's location as a field name: ("members", 1, "id_number") →
    "members[1].id_number"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def reason_for(error: Mapping[str, Any], label: str, *, unit: str = "",
               low: int | None = None, high: int | None = None) -> str:
    """A Chinese reason for one error of a declared input's validation (a pydantic error
    dict: type, ctx, input, msg); `label` names the field, `unit` its length or count unit,
    `low`/`high` its bounds when it is a number."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])
    if kind == "missing":
        return f"请填写{label}"
    if kind == "string_too_short":
        return f"{label}不能为空" if ctx.get("min_length") == 1 else \
            f"{label}至少{ctx.get('min_length')}{unit or '字'}"
    if kind == "string_too_long":
        return f"{label}过长（至多{ctx.get('max_length')}{unit or '字'}）"
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"{label}{'至少' if kind == 'too_short' else '至多'}{bound}{unit or '项'}"
    if kind in ("literal_error", "enum"):
        return f"{label}取值无效: {error.get('input')!r}"
    if kind in ("bool_type", "bool_parsing"):
        return "应为“是”或“否”"
    if kind.startswith(("greater_than", "less_than", "int_", "float_", "decimal_")):
        if low is None:
            low = ctx.get("ge", ctx.get("gt"))
        if high is None:
            high = ctx.get("le", ctx.get("lt"))
        if low is not None and high is not None:
            return f"{label}应为{low}–{high}{unit}"
        if low is not None:
            return f"{label}应不小于{low}{unit}"
        if high is not None:
            return f"{label}应不大于{high}{unit}"
        return f"{label}应为数字"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return f"{label}应为日期（年-月-日）"
    if kind in ("string_type", "string_unicode", "string_pattern_mismatch"):
        return f"{label}格式不正确"
    return str(error.get("msg", "")).removeprefix("Value error, ") or f"{label}格式不正确"

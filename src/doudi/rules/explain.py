"""Explanations (认定依据说明): for one household, every criterion of every programme with its
inputs, threshold, outcome and the legal reference of each parameter used, in Chinese — what
the approval form prints and the household page shows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from doudi.rules.engine import Result, missing_column, unavailable_reason
from doudi.rules.labels import parameter_label, value_text
from doudi.rules.parameters import BASIS
from doudi.rules.programmes import PROGRAMMES, Programme
from doudi.rules.programmes.linshi import TYPES as LINSHI_TYPES
from doudi.rules.programmes.tekun import CARE_LEVELS, DISABILITY_TYPES

_PLACEHOLDER = re.compile(r"\{([^{}:]+)(?::(\w+))?\}")


@dataclass(frozen=True)
class Citation:
    key: str
    label: str  # the key's Chinese name: what a person reads
    value: str
    area: str  # the area-code prefix the value was set for, "" for the national default
    effective: str
    reference: str
    url: str
    verified: bool


@dataclass
class Line:
    label: str
    detail: str
    outcome: bool | None  # None for a computation step
    citations: list[Citation] = field(default_factory=list)


@dataclass
class ProgrammeExplanation:
    name: str
    label: str
    subject: str | None  # member id for member programmes
    eligible: bool
    amount: Decimal | None
    lines: list[Line]
    # the missing parameter key when the programme could not be computed (不可计算), and the
    # reason as `engine.unavailable_reason` words it
    missing: str | None = None
    reason: str | None = None


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    return f"{Decimal(fen) / 100:,.2f} 元"


def _format(value: Any, fmt: str | None) -> str:
    if fmt == "yuan":
        return yuan(value)
    if fmt == "yuans":
        return "、".join(yuan(v) for v in value or []) or "—"
    if fmt == "pct":
        return f"{(Decimal(value) * 100 / BASIS).normalize():f}%"
    if fmt == "pcts":
        return "、".join(f"{(Decimal(v) * 100 / BASIS).normalize():f}%" for v in value or [])
    if fmt == "mult":
        return f"{(Decimal(value) / BASIS).normalize():f} 倍"
    if fmt == "bool":
        return "是" if value else "否"
    if fmt == "care":
        return CARE_LEVELS.get(value, str(value))
    if fmt == "linshi":
        return LINSHI_TYPES.get(value, "无")
    if fmt == "count":
        return "—" if value is None else str(value)
    if value is None or value == "none":
        return DISABILITY_TYPES.get(value, "—")
    return DISABILITY_TYPES.get(value, str(value))


def fill(template: str, row: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: _format(row.get(m.group(1)), m.group(2)), template)


def _citations(result: Result, keys: tuple[str, ...], row: dict[str, Any]) -> list[Citation]:
    out = []
    for key in keys:
        key = key.replace("{hukou}", row.get("hukou") or "urban")
        p = result.parameters.find(key, row["area_code"], result.day)
        if p is None:
            continue
        out.append(Citation(key, parameter_label(key), value_text(p), p.area,
                            p.effective.isoformat(), p.reference, p.url, p.verified))
    return out


def _explain_row(
    result: Result, programme: Programme, row: dict[str, Any], subject: str | None
) -> ProgrammeExplanation:
    lines = [
        Line(c.label, fill(c.detail, row), bool(row.get(c.column)),
             _citations(result, c.parameters, row))
        for c in programme.criteria
    ]
    lines += [
        Line(s.label, fill(s.detail, row), None, _citations(result, s.parameters, row))
        for s in programme.steps if s.when is None or row.get(s.when)
    ]
    amount = None
    if programme.amount and row.get(programme.amount) is not None:
        amount = (Decimal(row[programme.amount]) / 100).quantize(Decimal("0.01"))
    return ProgrammeExplanation(programme.name, programme.label, subject,
                                bool(row.get(programme.eligible)), amount, lines)


def explain(
    result: Result, household_id: str, everything: bool = False
) -> list[ProgrammeExplanation]:
    """Every relevant programme for one household (all of them with `everything`)."""
    hh_rows = result.households.filter(household_id=household_id).to_dicts()
    if not hh_rows:
        raise KeyError(household_id)
    hh = {**result.constants, **hh_rows[0]}
    members = result.members.filter(household_id=household_id).to_dicts()
    out: list[ProgrammeExplanation] = []
    for programme in PROGRAMMES.values():
        if programme.eligible not in {*result.households.columns, *result.members.columns}:
            continue  # not evaluated in this run
        # not computed in the household's area on the day: said once, for every member alike
        key = hh.get(missing_column(programme.name))
        if key is not None:
            out.append(ProgrammeExplanation(
                programme.name, programme.label, None, False, None, [], missing=key,
                reason=unavailable_reason(key, hh["area_code"], result.day)))
            continue
        if programme.level == "household":
            if everything or programme.relevant is None or hh.get(programme.relevant):
                out.append(_explain_row(result, programme, hh, None))
            continue
        for member in members:
            row = {**hh, **member}
            if everything or programme.relevant is None or row.get(programme.relevant):
                out.append(_explain_row(result, programme, row, str(member["member_id"])))
    return out


def outcomes(row: dict[str, Any]) -> list[tuple[str, str]]:
    """A stored result row (a warning's evidence: the programme's columns only) as a person
    reads it: each criterion it answers with 符合 / 不符合, and the monthly amount."""
    heads = {column.split(".", 1)[0] for column in row}
    out: list[tuple[str, str]] = []
    for programme in PROGRAMMES.values():
        if programme.name not in heads:
            continue
        out += [(c.label, "符合" if row[c.column] else "不符合")
                for c in programme.criteria if c.column in row]
        if programme.amount in row and row.get(programme.eligible):
            out.append((f"{programme.label}月金额", yuan(row[programme.amount])))
    return out


def render_text(explanations: list[ProgrammeExplanation], title: str = "",
                area_names: dict[str, str] | None = None) -> str:
    """Plain text for the terminal and printed forms; `area_names` names the area prefixes the
    cited values were set for (without it, the prefix; 全国 for the national default)."""
    area_names = area_names or {}
    out = [title] if title else []
    for e in explanations:
        who = f"（成员 {e.subject}）" if e.subject else ""
        if e.reason:
            out += [f"【{e.label}{who}】{e.reason}", ""]
            continue
        verdict = "符合" if e.eligible else "不符合"
        amount = f"，月金额 {e.amount:,.2f} 元" if e.eligible and e.amount is not None else ""
        out.append(f"【{e.label}{who}】{verdict}{amount}")
        for line in e.lines:
            mark = "  ·" if line.outcome is None else ("  ✓" if line.outcome else "  ✗")
            out.append(f"{mark} {line.label}：{line.detail}")
            for c in line.citations:
                flag = "" if c.verified else "（未核实）"
                ref = f"{c.reference} {c.url}".strip()
                where = area_names.get(c.area) or c.area or "全国"
                out.append(f"      依据 {c.label} = {c.value}〔{where}，{c.effective} 起〕{ref}"
                            f"{flag}")
        out.append("")
    return "\n".join(out)

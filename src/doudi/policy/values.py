"""Between `doudi.rules.parameters.Parameter` and the database row (参数取值的存储形式).

The row keeps the value as the YAML files write it — numbers as decimal text, bools, lists,
tables — so JSON never turns a money amount into a float, and the rules core reads it back
through the same `make_parameter` checks as a shipped file.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from doudi.rules.labels import value_code, value_words
from doudi.rules.parameters import UNITS, Parameter, make_parameter

Ident = tuple[str, str, dt.date]  # (key, area_code, effective_from): one row


def to_json(value: Any) -> Any:
    """A normalised value in its canonical JSON form: Decimal → "760.00" (never a float)."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"无法保存的参数值: {value!r}")


def source_fields(p: Parameter) -> dict[str, Any]:
    """Where a value was read and whether it was checked (依据、文号、发文机关、印发日期、原文链接、
    已核实、备注): what a newer release may correct on a shipped row without touching its value."""
    return {
        "reference": p.reference or "", "url": p.url or "", "verified": bool(p.verified),
        "note": p.note or "", "document": p.document or "", "issuer": p.issuer or "",
        "issued_on": p.issued,
    }


def parameter_fields(p: Parameter) -> dict[str, Any]:
    """The model fields for a rules `Parameter` (shipped rows and the data migration)."""
    return {
        "key": p.key, "area_code": p.area, "effective_from": p.effective,
        "value": to_json(p.value), "unit": p.unit, "floor": bool(p.floor), **source_fields(p),
    }


def to_parameter(row: Any) -> Parameter:
    """A row (model instance) as the rules core's `Parameter`, checked on the way."""
    return make_parameter(
        row.key, row.area_code, row.effective_from, row.value, row.unit,
        reference=row.reference, url=row.url, verified=row.verified, note=row.note,
        floor=row.floor, document=row.document, issuer=row.issuer, issued=row.issued_on,
    )


def _percent(text: str) -> Any:
    """'30%' → Decimal('0.3'); anything else unchanged (normalise_value reports it)."""
    text = text.strip()
    if not text.endswith(("%", "％")):
        return text
    try:
        return Decimal(text[:-1].strip()) / 100
    except InvalidOperation:
        return text


_ITEM_SPLIT = re.compile(r"[;；,，\n]+")


def from_text(unit: str, text: str, key: str = "") -> Any:
    """What a user typed into the form, as `normalise_value` takes it: rates may be written
    as 30%, tables as `键: 值；键: 值`, the entries of the key's lists, tables and choices by their
    Chinese names (学生, 智力残疾, 四舍五入). Checking is left to `normalise_value`."""
    kind = UNITS.get(unit, ("", ""))[1]
    text = (text or "").strip()
    if kind == "ratio" and unit == "rate":
        return _percent(text)
    if kind == "ratio_list":
        return [_percent(v) for v in _ITEM_SPLIT.split(text) if v.strip()]
    if kind == "table":
        table: dict[str, str] = {}
        for item in _ITEM_SPLIT.split(text):
            if not item.strip():
                continue
            name, sep, number = item.replace("：", ":").partition(":")
            if not sep or not name.strip():
                return text  # not a table: normalise_value names the problem
            table[value_code(key, name)] = number.strip()
        return table
    if kind == "list":
        return [value_code(key, v) for v in _ITEM_SPLIT.split(text) if v.strip()]
    if kind == "text":
        return value_code(key, text)
    return text


def as_text(p: Parameter) -> str:
    """A value as the form shows it again (the inverse of `from_text`), entries by their names."""
    kind, value, words = p.kind, p.value, value_words(p.key)
    if kind == "ratio" and p.unit == "rate":
        return f"{(value * 100).normalize():f}%"
    if kind == "ratio_list":
        return ", ".join(f"{(v * 100).normalize():f}%" for v in value)
    if kind == "table":
        return "; ".join(f"{words.get(k, k)}: {v.normalize():f}" for k, v in value.items())
    if kind == "list":
        return ", ".join(words.get(v, v) for v in value)
    if kind == "bool":
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return words.get(value, str(value))
